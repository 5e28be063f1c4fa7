// Where the lab keeps what it made, so `down` can find every process, loop device and namespace by record.
import * as fs from "fs";
import * as path from "path";
import { ProcessId } from "./proc";

/** Everything the lab makes lives under this directory (pids, keys, disks, logs). */
// HA_LAB_DIR: a second, independent lab (its own control namespace and bridge), e.g. while another one runs tests.
export const LAB_DIR = process.env.HA_LAB_DIR || "/tmp/ha-lab";
/** The lab's LAN: hosts get addresses in it, the control namespace holds the bridge. */
export const LAB_SUBNET_PREFIX = "10.77.0.";
export const LAB_PREFIX_LEN = 24;
/** Address of the control namespace on the bridge (the operator's machine, in AWS terms). */
export const CONTROL_IP = "10.77.0.254";
/** Bridge name; it exists only inside the control namespace, so it cannot collide with the machine's links. */
export const BRIDGE = "halab0";

export const HOSTS_DIR = path.join(LAB_DIR, "hosts");
export const CONTROL_FILE = path.join(LAB_DIR, "control.json");
/** Private key the control namespace logs in with; every host authorizes its .pub for root. */
export const CLIENT_KEY = path.join(LAB_DIR, "id_lab");
/** Pinned host keys of every lab host: ssh checks them strictly. */
export const KNOWN_HOSTS = path.join(LAB_DIR, "known_hosts");

/** The control namespace as recorded: the process holding it and the namespace's identity. */
export interface ControlRecord {
    init: ProcessId;
    netns: string;
}

/** A lab host's disk: a sparse file on a loop device, seen inside the host under its EBS volume's by-id name. */
export interface DiskRecord {
    /** The EBS volume id it stands for, e.g. `vol-0lab000000000001`. */
    volumeId: string;
    /** Backing sparse file. */
    image: string;
    /** Loop device, e.g. `/dev/loop3`. */
    loop: string;
    /** Path of the device inside the host, `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol...`. */
    byId: string;
}

/** A lab host as recorded on disk; `init` and `netns` are only set once its namespaces exist. */
export interface HostRecord {
    name: string;
    ip: string;
    /** Its state directory, /tmp/ha-lab/hosts/NAME. */
    dir: string;
    /** Its veth's name on the bridge side (inside the control namespace). */
    veth: string;
    disk?: DiskRecord;
    init?: ProcessId;
    netns?: string;
    mntns?: string;
}

export function hostDir(name: string): string {
    return path.join(HOSTS_DIR, name);
}

function hostFile(name: string): string {
    return path.join(hostDir(name), "host.json");
}

/** Writes a record atomically, so a reader (or a crash) never sees half of it. */
export function writeJson(file: string, value: unknown): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + "\n", { mode: 0o600 });
    fs.renameSync(tmp, file);
}

function readJson<T>(file: string): T | undefined {
    try {
        return JSON.parse(fs.readFileSync(file, "utf8")) as T;
    } catch {
        return undefined;
    }
}

export function readHostRecord(name: string): HostRecord | undefined {
    return readJson<HostRecord>(hostFile(name));
}

export function writeHostRecord(rec: HostRecord): void {
    writeJson(hostFile(rec.name), rec);
}

/** Every host directory under /tmp/ha-lab/hosts, recorded or half-made. */
export function hostNames(): string[] {
    try {
        return fs.readdirSync(HOSTS_DIR).filter(n => fs.statSync(path.join(HOSTS_DIR, n)).isDirectory()).sort();
    } catch {
        return [];
    }
}

export function readControlRecord(): ControlRecord | undefined {
    return readJson<ControlRecord>(CONTROL_FILE);
}
