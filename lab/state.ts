// Where the lab keeps what it made, so `down` can find every process, loop device and namespace by record.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ProcessId } from "./proc";

/** Everything the lab makes lives under this directory (pids, keys, disks, logs). */
// HA_LAB_DIR: a second, independent lab (its own control namespace and bridge), e.g. while another one runs tests.
export const LAB_DIR = process.env.HA_LAB_DIR || "/tmp/ha-lab";
/** The lab's private LAN (the VPC's subnets, in AWS terms): nodes, database, load balancer's inside. */
export const LAB_SUBNET_PREFIX = "10.77.0.";
/** The lab's public side (the internet, in AWS terms): visitors, attackers and the load balancer's address. */
export const PUBLIC_SUBNET_PREFIX = "10.77.1.";
export const LAB_PREFIX_LEN = 24;
/** Address of the control namespace on the private LAN (the operator's machine, in AWS terms). */
export const CONTROL_IP = "10.77.0.254";
/** The control namespace's address on the public side: a visitor's browser, for `up`'s URL and the tests. */
export const CONTROL_PUBLIC_IP = "10.77.1.254";
/** The two bridges; they exist only inside the control namespace, so they cannot collide with the machine's links. */
export const BRIDGES = { private: "halab0", public: "halab1" } as const;
export type LanName = keyof typeof BRIDGES;
/** Where the lab's Debian image is cached between labs (`down` keeps it; a changed package list builds a new one). */
export const IMAGE_CACHE = process.env.HA_LAB_IMAGE_CACHE || "/var/cache/ha-lab/images";
/**
 * Names of everything the lab makes outside LAB_DIR (network namespaces in /run/netns, cgroups) start with this
 * tag, so a second lab (HA_LAB_DIR) never touches the first one's.
 */
export const LAB_TAG = process.env.HA_LAB_DIR
    ? `halab${crypto.createHash("sha256").update(LAB_DIR).digest("hex").slice(0, 6)}`
    : "halab";

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

/** One network interface of a host: `eth0`, `eth1` inside, a veth on one of the lab's bridges outside. */
export interface NicRecord {
    lan: LanName;
    /** Name inside the host. */
    ifname: string;
    ip: string;
    /** The veth's name on the bridge side (inside the control namespace). */
    veth: string;
}

/**
 * A lab host as recorded on disk. The host is a booted Debian system (systemd-nspawn) over the cached image with an
 * overlay of its own on disk (its "root volume", kept across reboots and power cycles).
 */
export interface HostRecord {
    name: string;
    /** Its first address, the one SSH and the steps use. */
    ip: string;
    /** Its state directory, /tmp/ha-lab/hosts/NAME. */
    dir: string;
    /** Its veth's name on the bridge side of its first interface. */
    veth: string;
    nics: NicRecord[];
    /** The named network namespace (/run/netns/NAME) it boots into, made afresh at every boot (a reboot's clean state). */
    netnsName: string;
    /** The namespace's identity as /proc shows it, `net:[4026532281]`, as of the last boot. */
    netns?: string;
    /** It routes between its interfaces (the load balancer). */
    forward?: boolean;
    /** The image directory its overlay stands on. */
    image: string;
    /** Where its overlay root is mounted (on the machine), what nspawn boots. */
    root: string;
    disk?: DiskRecord;
    /** The disk is plugged in (bound into the host at boot); false while a test holds it back. */
    diskAttached?: boolean;
    /** The boot loop (lab/boot.sh) of the host while it is powered on. */
    wrapper?: ProcessId;
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
        return fs
            .readdirSync(HOSTS_DIR)
            .filter(n => fs.statSync(path.join(HOSTS_DIR, n)).isDirectory())
            .sort();
    } catch {
        return [];
    }
}

export function readControlRecord(): ControlRecord | undefined {
    return readJson<ControlRecord>(CONTROL_FILE);
}
