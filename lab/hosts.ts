// Lab hosts: real Linux hosts made of namespaces on this machine, reachable over SSH from a control namespace.
//
// A host is a process (`sleep infinity`, started by host-init.sh) holding a network, mount and uts namespace and
// chrooted into a private overlay root. The control namespace holds the bridge every host's veth joins, and is
// where SSH connections come from, as from an operator's machine. Everything is recorded under /tmp/ha-lab so
// `destroyHost`/`destroyLab` remove exactly what was made: processes by namespace, loop devices by backing file.
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
    RunOptions, RunResult, check, cmdlineOf, commOf, isAlive, nsOf, pidsInNetns, run, signal, startTimeOf,
    waitFor,
} from "./proc";
import {
    BRIDGE, CLIENT_KEY, CONTROL_FILE, CONTROL_IP, ControlRecord, DiskRecord, HostRecord, KNOWN_HOSTS, LAB_DIR,
    LAB_PREFIX_LEN, LAB_SUBNET_PREFIX, hostDir, hostNames, readControlRecord, readHostRecord, writeHostRecord,
    writeJson,
} from "./state";

export { LAB_DIR } from "./state";
export type { HostRecord as LabHost } from "./state";
type LabHost = HostRecord;

/** What to make. */
export interface HostSpec {
    /** Host name, also its hostname inside, e.g. `node-gfs1` (lower case, digits, dashes). */
    name: string;
    /** Its address on the lab LAN, 10.77.0.1 - 10.77.0.253. */
    ip: string;
    /** A raw disk standing in for an attached EBS volume; omit for hosts without one (database, clients). */
    disk?: {
        /** EBS volume id, e.g. `vol-0lab000000000001`; the host sees the disk under this id's by-id name. */
        volumeId: string;
        /** Size of the sparse backing file in MiB. Default 1024. */
        sizeMiB?: number;
    };
}

const HOST_INIT = path.join(__dirname, "host-init.sh");
const NITRO_BY_ID = "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_";

/** Nitro names an EBS volume's NVMe device after its id without the dash: vol-0abc -> ...Store_vol0abc. */
export function nitroByIdPath(volumeId: string): string {
    return NITRO_BY_ID + volumeId.replace("-", "");
}

// ---- running commands ------------------------------------------------------------------------------------------

function requireAlive(host: LabHost): number {
    if (!host.init || !isAlive(host.init) || nsOf(host.init.pid, "net") !== host.netns) {
        throw new Error(`lab host ${host.name} is not running (run \`npm run lab -- up\`)`);
    }
    return host.init.pid;
}

/** A login's environment on a lab host, instead of whatever npm and mocha put into ours. */
const HOST_ENV: NodeJS.ProcessEnv = {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root", USER: "root",
    LOGNAME: "root", SHELL: "/bin/bash", LANG: "C.UTF-8", TERM: process.env.TERM ?? "dumb",
};

/** Runs a program on a host directly (nsenter into its namespaces and root): for the lab's own checks. */
export function exec(host: LabHost, argv: string[], opts?: RunOptions): Promise<RunResult> {
    const pid = requireAlive(host);
    return run("nsenter", ["-t", String(pid), "-m", "-u", "-n", "-r", "-w", "--", ...argv], { env: HOST_ENV, ...opts });
}

/** Runs a bash script on a host directly; throws with its stderr unless it succeeds. Returns stdout. */
export async function sh(host: LabHost, script: string, opts?: RunOptions): Promise<string> {
    const r = await exec(host, ["bash", "-c", script], opts);
    return check(`on ${host.name}: ${script.split("\n")[0]}`, r).stdout;
}

function requireControl(): ControlRecord {
    const ctl = readControlRecord();
    if (!ctl || !isAlive(ctl.init) || nsOf(ctl.init.pid, "net") !== ctl.netns) {
        throw new Error("the lab's control namespace is not running (run `npm run lab -- up`)");
    }
    return ctl;
}

/** Runs a program in the control namespace (the operator's side of the lab LAN). */
export function control(argv: string[], opts?: RunOptions): Promise<RunResult> {
    const ctl = requireControl();
    return run("nsenter", ["-t", String(ctl.init.pid), "-n", "--", ...argv], opts);
}

/** SSH options: the lab key only, host keys pinned in the lab's known_hosts, never a prompt. */
export function sshOptions(): string[] {
    return [
        "-F", "/dev/null", "-i", CLIENT_KEY, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${KNOWN_HOSTS}`,
        "-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR",
        "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=6",
    ];
}

/**
 * Sends command text to a host over SSH from the control namespace, exactly as a remote command would: the text
 * is one argument, and ssh hands a single argument to the remote login shell unchanged.
 */
export function ssh(host: LabHost, text: string, opts?: RunOptions): Promise<RunResult> {
    return control(["ssh", ...sshOptions(), `root@${host.ip}`, text], opts);
}

// ---- records -----------------------------------------------------------------------------------------------------

/** A host by name, if the lab made it and it is running. */
export function getHost(name: string): LabHost | undefined {
    const rec = readHostRecord(name);
    return rec && hostIsUp(rec) ? rec : undefined;
}

/** Every host the lab has a record of (running or not). */
export function listHosts(): LabHost[] {
    return hostNames().map(readHostRecord).filter((r): r is LabHost => r !== undefined);
}

export function hostIsUp(host: LabHost): boolean {
    return !!host.init && isAlive(host.init) && nsOf(host.init.pid, "net") === host.netns;
}

// ---- control namespace -------------------------------------------------------------------------------------------

async function spawnHolder(argv: string[], env: NodeJS.ProcessEnv, logFile: string): Promise<number> {
    const log = fs.openSync(logFile, "a");
    const child = spawn(argv[0], argv.slice(1), { env, detached: true, stdio: ["ignore", log, log] });
    fs.closeSync(log);
    let exited: number | null | undefined;
    child.on("exit", code => { exited = code; });
    child.on("error", () => { exited = -1; });
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not start ${argv[0]}`);
    // Ready once the holder has exec'd `sleep` inside its new namespaces.
    await waitFor(`${argv.join(" ")} (pid ${pid}) to hold its namespaces`, () => {
        if (exited !== undefined) throw new Error("exited");
        return commOf(pid) === "sleep" && nsOf(pid, "net") !== nsOf("self", "net");
    }, 20_000, 50).catch(e => {
        const logText = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").trim() : "";
        throw new Error(`${e.message}${exited !== undefined ? ` (exited with ${exited})` : ""}\n${logText}`);
    });
    return pid;
}

// Hosts are made in parallel; they share one control namespace and one client key, made once.
let controlMaking: Promise<ControlRecord> | undefined;

/** Makes the control namespace, its bridge and the lab's SSH key, or returns the running namespace. */
export function ensureControl(): Promise<ControlRecord> {
    if (!controlMaking) {
        controlMaking = makeControl().finally(() => { controlMaking = undefined; });
    }
    return controlMaking;
}

async function makeControl(): Promise<ControlRecord> {
    fs.mkdirSync(LAB_DIR, { recursive: true, mode: 0o700 });
    await ensureClientKey();
    const existing = readControlRecord();
    if (existing && isAlive(existing.init) && nsOf(existing.init.pid, "net") === existing.netns) return existing;
    const pid = await spawnHolder(["unshare", "--net", "sleep", "infinity"], process.env,
        path.join(LAB_DIR, "control.log"));
    const rec: ControlRecord = { init: { pid, startTime: startTimeOf(pid)! }, netns: nsOf(pid, "net")! };
    writeJson(CONTROL_FILE, rec);
    const ip = (...args: string[]) => control(["ip", ...args]).then(r => check(`ip ${args.join(" ")}`, r));
    await ip("link", "set", "lo", "up");
    await ip("link", "add", BRIDGE, "type", "bridge");
    await ip("addr", "add", `${CONTROL_IP}/${LAB_PREFIX_LEN}`, "dev", BRIDGE);
    await ip("link", "set", BRIDGE, "up");
    return rec;
}

async function ensureClientKey(): Promise<void> {
    if (fs.existsSync(CLIENT_KEY) && fs.existsSync(`${CLIENT_KEY}.pub`)) return;
    fs.rmSync(CLIENT_KEY, { force: true });
    fs.rmSync(`${CLIENT_KEY}.pub`, { force: true });
    check("ssh-keygen (lab key)", await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "ha-lab", "-f", CLIENT_KEY]));
}

/** Rewrites known_hosts from the host keys of every recorded host. */
function writeKnownHosts(): void {
    const lines: string[] = [];
    for (const h of listHosts()) {
        const pubFile = path.join(h.dir, "ssh_host_ed25519_key.pub");
        if (!fs.existsSync(pubFile)) continue;
        const [type, key] = fs.readFileSync(pubFile, "utf8").trim().split(/\s+/);
        lines.push(`${h.ip} ${type} ${key}`);
    }
    fs.writeFileSync(KNOWN_HOSTS, lines.join("\n") + (lines.length ? "\n" : ""), { mode: 0o600 });
}

// ---- hosts -----------------------------------------------------------------------------------------------------

function validate(spec: HostSpec): void {
    if (!/^[a-z][a-z0-9-]{0,30}$/.test(spec.name)) {
        throw new Error(`lab host name '${spec.name}': use lower-case letters, digits and dashes (at most 31)`);
    }
    const m = spec.ip.startsWith(LAB_SUBNET_PREFIX) ? Number(spec.ip.slice(LAB_SUBNET_PREFIX.length)) : NaN;
    if (!Number.isInteger(m) || m < 1 || m > 253 || `${LAB_SUBNET_PREFIX}${m}` !== spec.ip) {
        throw new Error(`lab host ${spec.name}: address ${spec.ip} must be ${LAB_SUBNET_PREFIX}1-253`);
    }
    const clash = listHosts().find(h => h.ip === spec.ip && h.name !== spec.name);
    if (clash) throw new Error(`lab host ${spec.name}: address ${spec.ip} is already ${clash.name}'s`);
    if (spec.disk && !/^vol-[0-9a-z]+$/.test(spec.disk.volumeId)) {
        throw new Error(`lab host ${spec.name}: volume id '${spec.disk.volumeId}' must look like vol-0123abcd`);
    }
}

// losetup -f picks the first free device; two hosts attaching at once could pick the same one.
let loopQueue: Promise<unknown> = Promise.resolve();

function attachLoop(image: string): Promise<string> {
    const next = loopQueue.then(async () => {
        const existing = await loopsOf(image);
        if (existing.length > 0) return existing[0];
        const r = check(`losetup ${image}`, await run("losetup", ["--find", "--show", image]));
        return r.stdout.trim();
    });
    loopQueue = next.catch(() => undefined);
    return next;
}

/** Loop devices backed by the given file. */
async function loopsOf(image: string): Promise<string[]> {
    const r = await run("losetup", ["--noheadings", "--output", "NAME", "--associated", image]);
    return r.code === 0 ? r.stdout.split("\n").map(s => s.trim()).filter(Boolean) : [];
}

/**
 * Makes a host, or returns it if it is already running (then only sshd is checked). A host that was recorded but
 * is no longer running is cleaned up and made again with a fresh root but its old disk and host key: like an
 * instance replaced while its EBS volume is kept.
 */
export async function createHost(spec: HostSpec): Promise<LabHost> {
    validate(spec);
    const old = readHostRecord(spec.name);
    if (old && hostIsUp(old)) {
        if (old.ip !== spec.ip) throw new Error(`lab host ${spec.name} is running with address ${old.ip}, not ${spec.ip}`);
        // A control namespace that died took every host's veth with it: make a new one and plug the host back in.
        await ensureControl();
        if ((await exec(old, ["ip", "link", "show", "eth0"])).code !== 0) await wireNetwork(old);
        await ensureSshd(old);
        return old;
    }
    if (old) await destroyHost(old, { keepDisk: true });

    await ensureControl();
    const dir = hostDir(spec.name);
    fs.mkdirSync(path.join(dir, "log"), { recursive: true, mode: 0o700 });
    const hostKey = path.join(dir, "ssh_host_ed25519_key");
    if (!fs.existsSync(hostKey) || !fs.existsSync(`${hostKey}.pub`)) {
        fs.rmSync(hostKey, { force: true });
        fs.rmSync(`${hostKey}.pub`, { force: true });
        check("ssh-keygen (host key)", await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", spec.name, "-f", hostKey]));
    }
    const rec: LabHost = { name: spec.name, ip: spec.ip, dir, veth: `hl${spec.ip.slice(LAB_SUBNET_PREFIX.length)}` };
    if (spec.disk) {
        const image = path.join(dir, "disk.img");
        if (!fs.existsSync(image)) {
            const fd = fs.openSync(image, "w", 0o600);
            fs.ftruncateSync(fd, (spec.disk.sizeMiB ?? 1024) * 1024 * 1024);
            fs.closeSync(fd);
        }
        // Recorded before attaching, so `down` finds the loop device by its file even if we stop half-way.
        rec.disk = { volumeId: spec.disk.volumeId, image, loop: "", byId: nitroByIdPath(spec.disk.volumeId) };
        writeHostRecord(rec);
        rec.disk.loop = await attachLoop(image);
    }
    writeHostRecord(rec);

    try {
        const env = {
            ...process.env, LAB_HOST: spec.name, LAB_DIR: dir, LAB_LOOP: rec.disk?.loop ?? "",
            LAB_DISK_ID: rec.disk ? path.basename(rec.disk.byId) : "", LAB_PUBKEY: `${CLIENT_KEY}.pub`,
            LAB_HOSTKEY: hostKey,
        };
        const pid = await spawnHolder(
            ["unshare", "--net", "--mount", "--uts", "--propagation", "private", "bash", HOST_INIT], env,
            path.join(dir, "init.log"));
        rec.init = { pid, startTime: startTimeOf(pid)! };
        rec.netns = nsOf(pid, "net");
        rec.mntns = nsOf(pid, "mnt");
        writeHostRecord(rec);
        await wireNetwork(rec);
        writeKnownHosts();
        await ensureSshd(rec);
        return rec;
    } catch (e) {
        await destroyHost(rec, { keepDisk: true }).catch(() => undefined);
        throw e;
    }
}

async function wireNetwork(host: LabHost): Promise<void> {
    const pid = String(host.init!.pid);
    const ctl = (...args: string[]) => control(["ip", ...args]).then(r => check(`ip ${args.join(" ")}`, r));
    const inHost = (...args: string[]) => exec(host, ["ip", ...args]).then(r => check(`${host.name}: ip ${args.join(" ")}`, r));
    await ctl("link", "add", host.veth, "type", "veth", "peer", "name", "eth0", "netns", pid);
    await ctl("link", "set", host.veth, "master", BRIDGE, "up");
    await inHost("link", "set", "lo", "up");
    await inHost("addr", "add", `${host.ip}/${LAB_PREFIX_LEN}`, "dev", "eth0");
    await inHost("link", "set", "eth0", "up");
}

/** Starts the host's sshd unless it runs, then waits until the control namespace can log in. */
export async function ensureSshd(host: LabHost): Promise<void> {
    const running = await exec(host, ["bash", "-c", "kill -0 \"$(cat /run/sshd.pid 2>/dev/null)\" 2>/dev/null"]);
    if (running.code !== 0) {
        check(`${host.name}: start sshd`, await exec(host, [
            "/usr/sbin/sshd", "-E", "/var/log/ha-lab/sshd.log", "-h", "/etc/ssh/ssh_host_ed25519_key",
            "-o", `ListenAddress=${host.ip}:22`, "-o", "PidFile=/run/sshd.pid",
            "-o", "PermitRootLogin=prohibit-password", "-o", "PasswordAuthentication=no",
            "-o", "KbdInteractiveAuthentication=no", "-o", "AuthorizedKeysFile=.ssh/authorized_keys",
            "-o", "MaxStartups=100", "-o", "MaxSessions=100",
        ]));
    }
    let last = "";
    await waitFor(`ssh root@${host.ip} (${host.name})`, async () => {
        const r = await ssh(host, "true", { timeoutMs: 10_000 });
        last = r.stderr.trim();
        return r.code === 0;
    }, 20_000, 200).catch(e => { throw new Error(`${e.message}${last ? `: ${last}` : ""}`); });
}

// ---- teardown ----------------------------------------------------------------------------------------------------

/** Stops every process in a namespace the lab recorded: TERM, a grace period, then KILL. */
async function stopNamespace(netns: string, keep: number[] = [], only: (pid: number) => boolean = () => true):
    Promise<void> {
    const others = () => pidsInNetns(netns).filter(p => !keep.includes(p) && only(p));
    signal(others(), "SIGTERM");
    await waitFor(`processes of ${netns} to stop`, () => others().length === 0, 5_000, 100).catch(() => undefined);
    signal(others(), "SIGKILL");
    await waitFor(`processes of ${netns} to die`, () => others().length === 0, 5_000, 100);
}

function rootOf(pid: number): string | undefined {
    try { return fs.readlinkSync(`/proc/${pid}/root`); } catch { return undefined; }
}

/** Mount points of a host's own mounts that hold something outside it: FUSE clients and its disk. */
function heldMounts(host: LabHost): string[] {
    let info = "";
    try { info = fs.readFileSync(`/proc/${host.init!.pid}/mountinfo`, "utf8"); } catch { return []; }
    const out: string[] = [];
    for (const line of info.split("\n")) {
        const [pre, post] = line.split(" - ");
        if (!post) continue;
        const [fstype, source] = post.split(" ");
        if (fstype.startsWith("fuse") || (host.disk?.loop && source === host.disk.loop)) out.push(pre.split(" ")[4]);
    }
    return out.reverse(); // innermost first
}

/**
 * Removes a host: every process in its network namespace, its mounts, its loop device, its records. With
 * `keepDisk` the disk image and host key stay (the host can be made again with its data, like a reboot).
 */
export async function destroyHost(host: LabHost, opts: { keepDisk?: boolean } = {}): Promise<void> {
    if (host.init && host.netns && isAlive(host.init) && nsOf(host.init.pid, "net") === host.netns) {
        const pid = host.init.pid;
        await stopNamespace(host.netns, [pid]);
        for (const mp of heldMounts(host)) {
            await run("nsenter", ["-t", String(pid), "-m", "-r", "--", "umount", "-l", mp]);
        }
        signal([pid], "SIGKILL");
        await waitFor(`${host.name}'s namespace holder to exit`, () => !isAlive(host.init!), 5_000, 50);
    } else if (host.netns) {
        // The holder died (killed by hand?) but daemons may still hold its namespaces. The namespace's inode number
        // may since belong to a new namespace, so only processes chrooted into this host's root count as its own.
        const root = path.join(host.dir, "root");
        await stopNamespace(host.netns, [], p => rootOf(p) === root);
    }
    if (host.disk) {
        for (const loop of await loopsOf(host.disk.image)) await run("losetup", ["--detach", loop]);
        // A mount in a dying namespace may hold the device a moment longer; the kernel frees it then.
        await waitFor(`loop device of ${host.disk.image} to be released`,
            async () => (await loopsOf(host.disk!.image)).length === 0, 15_000, 200);
    }
    if (opts.keepDisk) {
        delete host.init; delete host.netns; delete host.mntns;
        if (host.disk) host.disk.loop = "";
        writeHostRecord(host);
    } else {
        fs.rmSync(host.dir, { recursive: true, force: true });
        if (fs.existsSync(KNOWN_HOSTS)) writeKnownHosts();
    }
}

/** Removes the whole lab: every host, the control namespace, and /tmp/ha-lab. Safe to run when nothing is up. */
export async function destroyLab(): Promise<void> {
    await Promise.all(hostNames().map(async name => {
        const rec = readHostRecord(name);
        if (rec) {
            await destroyHost(rec);
        } else {
            // A host that failed before its record was written can only have a loop device on its image.
            const image = path.join(hostDir(name), "disk.img");
            for (const loop of await loopsOf(image)) await run("losetup", ["--detach", loop]);
            fs.rmSync(hostDir(name), { recursive: true, force: true });
        }
    }));
    const ctl = readControlRecord();
    if (ctl && isAlive(ctl.init) && nsOf(ctl.init.pid, "net") === ctl.netns) {
        await stopNamespace(ctl.netns);
    }
    fs.rmSync(LAB_DIR, { recursive: true, force: true });
}

/** Processes (pid and command line) in the namespace of a recorded host; for status and leak checks. */
export function processesOf(host: LabHost): { pid: number; cmd: string }[] {
    if (!host.netns) return [];
    return pidsInNetns(host.netns).map(pid => ({ pid, cmd: cmdlineOf(pid) }));
}
