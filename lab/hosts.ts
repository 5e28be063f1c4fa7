// Lab hosts: real Debian 12 systems booted on this machine with systemd-nspawn (systemd as PID 1, sshd, journald
// and every unit the host steps enable), reachable over SSH from a control namespace, as EC2 instances are from
// the operator's machine.
//
// A host is: a named network namespace with a veth on one of the lab's bridges (its NIC, kept while it is powered
// off); an overlay root on disk over the cached image (its root volume, kept across reboots); optionally a loop
// device standing in for its EBS volume; and, while powered on, a boot loop (lab/boot.sh) running systemd-nspawn.
// Everything is recorded under LAB_DIR so `destroyHost`/`destroyLab` remove exactly what was made.
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ensureImage } from "./image";
import {
    RunOptions,
    RunResult,
    check,
    childrenOf,
    cmdlineOf,
    commOf,
    isAlive,
    nsOf,
    pidsInNetns,
    run,
    signal,
    startTimeOf,
    waitFor,
} from "./proc";
import {
    BRIDGES,
    CLIENT_KEY,
    CONTROL_FILE,
    CONTROL_IP,
    CONTROL_PUBLIC_IP,
    ControlRecord,
    HostRecord,
    KNOWN_HOSTS,
    LAB_DIR,
    LAB_PREFIX_LEN,
    LAB_SUBNET_PREFIX,
    LAB_TAG,
    LanName,
    NicRecord,
    PUBLIC_SUBNET_PREFIX,
    hostDir,
    hostNames,
    readControlRecord,
    readHostRecord,
    writeHostRecord,
    writeJson,
} from "./state";

export { LAB_DIR } from "./state";
export type { HostRecord as LabHost } from "./state";
type LabHost = HostRecord;

/** What to make. */
export interface HostSpec {
    /** Host name, also its hostname inside, e.g. `node-gfs1` (lower case, digits, dashes). */
    name: string;
    /** Its first address: 10.77.0.1-253 on the private LAN, or 10.77.1.1-253 on the public side. */
    ip: string;
    /** More interfaces (eth1, ...), e.g. the load balancer's public side. */
    moreAddresses?: string[];
    /** Default gateway, e.g. the load balancer's private address for the web nodes (replies to visitors). */
    gateway?: string;
    /** Route packets between its interfaces (the load balancer). */
    forward?: boolean;
    /** A raw disk standing in for an attached EBS volume; omit for hosts without one (database, clients). */
    disk?: {
        /** EBS volume id, e.g. `vol-0lab000000000001`; the host sees the disk under this id's by-id name. */
        volumeId: string;
        /** Size of the sparse backing file in MiB. Default 1024. */
        sizeMiB?: number;
    };
    /**
     * Files the host has from its first boot (path inside -> content), for the lab's own hosts (the load
     * balancer's configuration); units listed in `enableUnits` are enabled before the first boot.
     */
    files?: Record<string, { content: string; mode?: number }>;
    enableUnits?: string[];
}

const BOOT_SCRIPT = path.join(__dirname, "boot.sh");
const NITRO_BY_ID = "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_";

/** Nitro names an EBS volume's NVMe device after its id without the dash: vol-0abc -> ...Store_vol0abc. */
export function nitroByIdPath(volumeId: string): string {
    return NITRO_BY_ID + volumeId.replace("-", "");
}

function lanOf(ip: string): LanName {
    if (ip.startsWith(LAB_SUBNET_PREFIX)) return "private";
    if (ip.startsWith(PUBLIC_SUBNET_PREFIX)) return "public";
    throw new Error(
        `address ${ip} is on neither of the lab's LANs (${LAB_SUBNET_PREFIX}0/24, ${PUBLIC_SUBNET_PREFIX}0/24)`,
    );
}

// ---- finding a booted host's systemd -------------------------------------------------------------------------

/** The host's PID 1 (systemd) as seen from this machine: the child of nspawn, the child of the boot loop. */
export function leaderOf(host: LabHost): number | undefined {
    if (!host.wrapper || !isAlive(host.wrapper)) return undefined;
    for (const nspawn of childrenOf(host.wrapper.pid, "systemd-nspawn")) {
        for (const pid of childrenOf(nspawn, "systemd")) {
            if (nsOf(pid, "net") === netnsId(host.netnsName) && nsOf(pid, "pid") !== nsOf("self", "pid")) return pid;
        }
    }
    return undefined;
}

/** True while the host is powered on and its systemd runs. */
export function hostIsUp(host: LabHost): boolean {
    return leaderOf(host) !== undefined;
}

function requireLeader(host: LabHost): number {
    const pid = leaderOf(host);
    if (pid === undefined)
        throw new Error(`lab host ${host.name} is not running (run \`npm run lab -- up\` or \`start ${host.name}\`)`);
    return pid;
}

// ---- running commands ------------------------------------------------------------------------------------------

/** A login's environment on a lab host, instead of whatever npm and mocha put into ours. */
const HOST_ENV: NodeJS.ProcessEnv = {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: "/root",
    USER: "root",
    LOGNAME: "root",
    SHELL: "/bin/bash",
    LANG: "C.UTF-8",
    TERM: process.env.TERM ?? "dumb",
};

/** Runs a program on a host directly (nsenter into all its namespaces): for the lab's own checks, not for steps. */
export function exec(host: LabHost, argv: string[], opts?: RunOptions): Promise<RunResult> {
    const pid = requireLeader(host);
    return run("nsenter", ["-t", String(pid), "-a", "-r", "-w", "--", ...argv], { env: HOST_ENV, ...opts });
}

/** Runs a bash script on a host directly; throws with its stderr unless it succeeds. Returns stdout. */
export async function sh(host: LabHost, script: string, opts?: RunOptions): Promise<string> {
    const r = await exec(host, ["bash", "-c", script], opts);
    return check(`on ${host.name}: ${script.split("\n")[0]}`, r).stdout;
}

function controlIsUp(ctl: ControlRecord | undefined): ctl is ControlRecord {
    return !!ctl && isAlive(ctl.init) && nsOf(ctl.init.pid, "net") === ctl.netns;
}

function requireControl(): ControlRecord {
    const ctl = readControlRecord();
    if (!controlIsUp(ctl)) throw new Error("the lab's control namespace is not running (run `npm run lab -- up`)");
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
        "-F",
        "/dev/null",
        "-i",
        CLIENT_KEY,
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        `UserKnownHostsFile=${KNOWN_HOSTS}`,
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "ConnectTimeout=5",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "ServerAliveInterval=5",
        "-o",
        "ServerAliveCountMax=6",
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
    return hostNames()
        .map(readHostRecord)
        .filter((r): r is LabHost => r !== undefined && Array.isArray(r.nics));
}

// ---- control namespace -------------------------------------------------------------------------------------------

/** Starts a detached process and waits until `ready` says it is; its output goes to `logFile`. */
async function spawnDetached(
    argv: string[],
    env: NodeJS.ProcessEnv,
    logFile: string,
    ready: (pid: number) => boolean,
    what: string,
): Promise<number> {
    const log = fs.openSync(logFile, "a");
    const child = spawn(argv[0], argv.slice(1), { env, detached: true, stdio: ["ignore", log, log] });
    fs.closeSync(log);
    let exited: number | null | undefined;
    child.on("exit", code => {
        exited = code;
    });
    child.on("error", () => {
        exited = -1;
    });
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not start ${argv[0]}`);
    await waitFor(
        `${what} (pid ${pid})`,
        () => {
            if (exited !== undefined) throw new Error("exited");
            return ready(pid);
        },
        20_000,
        50,
    ).catch(e => {
        const logText = fs.existsSync(logFile)
            ? fs.readFileSync(logFile, "utf8").trim().split("\n").slice(-20).join("\n")
            : "";
        throw new Error(`${e.message}${exited !== undefined ? ` (exited with ${exited})` : ""}\n${logText}`);
    });
    return pid;
}

// Hosts are made in parallel; they share one control namespace and one client key, made once.
let controlMaking: Promise<ControlRecord> | undefined;

/** Makes the control namespace, its bridges and the lab's SSH key, or returns the running namespace. */
export function ensureControl(): Promise<ControlRecord> {
    if (!controlMaking) {
        controlMaking = makeControl().finally(() => {
            controlMaking = undefined;
        });
    }
    return controlMaking;
}

/**
 * Each booted host's systemd, journald, networkd and logind hold inotify instances under root's account, which the
 * kernel caps at 128 by default: two labs (or one with a scratch host) exhaust it and the next host's PID 1 dies with
 * "Too many open files". The machine's limits are raised, never lowered.
 */
const INOTIFY_FLOORS: Record<string, number> = {
    "/proc/sys/fs/inotify/max_user_instances": 8192,
    "/proc/sys/fs/inotify/max_user_watches": 1048576,
};
function raiseInotifyLimits(): void {
    for (const [file, floor] of Object.entries(INOTIFY_FLOORS)) {
        const current = Number(fs.readFileSync(file, "utf8").trim());
        if (current < floor) fs.writeFileSync(file, `${floor}\n`);
    }
}

async function makeControl(): Promise<ControlRecord> {
    raiseInotifyLimits();
    fs.mkdirSync(LAB_DIR, { recursive: true, mode: 0o700 });
    await ensureClientKey();
    const existing = readControlRecord();
    if (controlIsUp(existing)) return existing;
    const pid = await spawnDetached(
        ["unshare", "--net", "sleep", "infinity"],
        process.env,
        path.join(LAB_DIR, "control.log"),
        p => commOf(p) === "sleep" && nsOf(p, "net") !== nsOf("self", "net"),
        "the control namespace",
    );
    const rec: ControlRecord = { init: { pid, startTime: startTimeOf(pid)! }, netns: nsOf(pid, "net")! };
    writeJson(CONTROL_FILE, rec);
    const ip = (...args: string[]) => control(["ip", ...args]).then(r => check(`ip ${args.join(" ")}`, r));
    await ip("link", "set", "lo", "up");
    for (const [lan, address] of [
        ["private", CONTROL_IP],
        ["public", CONTROL_PUBLIC_IP],
    ] as const) {
        await ip("link", "add", BRIDGES[lan], "type", "bridge");
        await ip("addr", "add", `${address}/${LAB_PREFIX_LEN}`, "dev", BRIDGES[lan]);
        await ip("link", "set", BRIDGES[lan], "up");
    }
    return rec;
}

async function ensureClientKey(): Promise<void> {
    if (fs.existsSync(CLIENT_KEY) && fs.existsSync(`${CLIENT_KEY}.pub`)) return;
    fs.rmSync(CLIENT_KEY, { force: true });
    fs.rmSync(`${CLIENT_KEY}.pub`, { force: true });
    check(
        "ssh-keygen (lab key)",
        await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "ha-lab", "-f", CLIENT_KEY]),
    );
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
    for (const ip of [spec.ip, ...(spec.moreAddresses ?? [])]) {
        const prefix = ip.startsWith(PUBLIC_SUBNET_PREFIX) ? PUBLIC_SUBNET_PREFIX : LAB_SUBNET_PREFIX;
        const m = ip.startsWith(prefix) ? Number(ip.slice(prefix.length)) : NaN;
        if (!Number.isInteger(m) || m < 1 || m > 253 || `${prefix}${m}` !== ip) {
            throw new Error(
                `lab host ${spec.name}: address ${ip} must be ${LAB_SUBNET_PREFIX}1-253 or ${PUBLIC_SUBNET_PREFIX}1-253`,
            );
        }
        const clash = listHosts().find(h => h.name !== spec.name && h.nics.some(n => n.ip === ip));
        if (clash) throw new Error(`lab host ${spec.name}: address ${ip} is already ${clash.name}'s`);
    }
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
    return r.code === 0
        ? r.stdout
              .split("\n")
              .map(s => s.trim())
              .filter(Boolean)
        : [];
}

function netnsId(name: string): string | undefined {
    try {
        return `net:[${fs.statSync(`/run/netns/${name}`).ino}]`;
    } catch {
        return undefined;
    }
}

function isMounted(dir: string): boolean {
    return fs
        .readFileSync("/proc/self/mountinfo", "utf8")
        .split("\n")
        .some(l => l.split(" ")[4] === dir);
}

function newRecord(spec: HostSpec, image: string): LabHost {
    const dir = hostDir(spec.name);
    const addresses = [spec.ip, ...(spec.moreAddresses ?? [])];
    const nics: NicRecord[] = addresses.map((ip, i) => ({
        lan: lanOf(ip),
        ifname: `eth${i}`,
        ip,
        // Unique per lab (the control namespace is the lab's own): the LAN and the address's last number.
        veth: `hl${lanOf(ip) === "private" ? "priv" : "pub"}${ip.split(".")[3]}`,
    }));
    const rec: LabHost = {
        name: spec.name,
        ip: spec.ip,
        dir,
        veth: nics[0].veth,
        nics,
        netnsName: `${LAB_TAG}-${spec.name}`,
        image,
        root: path.join(dir, "root"),
    };
    if (spec.disk) {
        rec.disk = {
            volumeId: spec.disk.volumeId,
            image: path.join(dir, "disk.img"),
            loop: "",
            byId: nitroByIdPath(spec.disk.volumeId),
        };
        rec.diskAttached = true;
    }
    return rec;
}

/**
 * Makes a host and boots it, or powers a recorded host back on, or returns it if it runs (then only its network
 * and SSH are checked). A host keeps its root volume and disk across all of these, as an EC2 instance does.
 */
export async function createHost(spec: HostSpec, log: (line: string) => void = () => undefined): Promise<LabHost> {
    validate(spec);
    await ensureControl();
    const old = readHostRecord(spec.name);
    if (old && Array.isArray(old.nics) && hostIsUp(old)) {
        if (old.ip !== spec.ip)
            throw new Error(`lab host ${spec.name} is running with address ${old.ip}, not ${spec.ip}`);
        // A control namespace that died took every host's veth with it: plug the host back in.
        await wireNetwork(old);
        await waitSsh(old);
        return old;
    }
    const image = await ensureImage(log);
    const rec = old && Array.isArray(old.nics) && fs.existsSync(old.image) ? old : newRecord(spec, image);
    fs.mkdirSync(rec.dir, { recursive: true, mode: 0o700 });
    writeHostRecord(rec);
    try {
        await prepareHardware(rec, spec);
        writeKnownHosts();
        await powerOn(rec);
        return rec;
    } catch (e) {
        await powerOff(rec, { force: true }).catch(() => undefined);
        throw e;
    }
}

/** The parts of a host that exist while it is powered off: network namespace and NICs, disk, root volume. */
async function prepareHardware(rec: LabHost, spec: HostSpec): Promise<void> {
    // The network namespace and the veths are made by the boot loop, afresh at every boot (lab/boot.sh).
    rec.forward = !!spec.forward;
    if (rec.disk) {
        if (!fs.existsSync(rec.disk.image)) {
            const fd = fs.openSync(rec.disk.image, "w", 0o600);
            fs.ftruncateSync(fd, (spec.disk?.sizeMiB ?? 1024) * 1024 * 1024);
            fs.closeSync(fd);
        }
        writeHostRecord(rec); // recorded before attaching, so `down` finds the loop device by its file
        rec.disk.loop = await attachLoop(rec.disk.image);
    }
    writeHostRecord(rec);
    const upper = path.join(rec.dir, "upper"),
        work = path.join(rec.dir, "work");
    fs.mkdirSync(upper, { recursive: true });
    fs.mkdirSync(work, { recursive: true });
    fs.mkdirSync(rec.root, { recursive: true });
    if (!isMounted(rec.root)) {
        check(
            `overlay root of ${rec.name}`,
            await run("mount", [
                "-t",
                "overlay",
                `${LAB_TAG}-root-${rec.name}`,
                "-o",
                `lowerdir=${rec.image},upperdir=${upper},workdir=${work}`,
                rec.root,
            ]),
        );
    }
    await firstBootFiles(rec, spec);
    writeBootFiles(rec);
}

/** Writes a file into the host's root volume (through its mounted overlay). */
function put(rec: LabHost, file: string, content: string, mode = 0o644): void {
    const target = path.join(rec.root, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    // A symlink in the image (an absolute one would point at this machine's file) is replaced, never written through.
    fs.rmSync(target, { force: true });
    fs.writeFileSync(target, content, { mode });
    fs.chmodSync(target, mode);
}

/**
 * What cloud-init and the AMI give an EC2 instance before anyone logs in: its name, its network, SSH with a pinned
 * host key and the operator's public key. Written once, into the host's root volume; later boots keep whatever the
 * host steps changed.
 */
async function firstBootFiles(rec: LabHost, spec: HostSpec): Promise<void> {
    const marker = path.join(rec.dir, "provisioned");
    if (fs.existsSync(marker)) return;
    const hostKey = path.join(rec.dir, "ssh_host_ed25519_key");
    if (!fs.existsSync(hostKey) || !fs.existsSync(`${hostKey}.pub`)) {
        fs.rmSync(hostKey, { force: true });
        fs.rmSync(`${hostKey}.pub`, { force: true });
        check(
            "ssh-keygen (host key)",
            await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", rec.name, "-f", hostKey]),
        );
    }
    put(rec, "etc/hostname", `${rec.name}\n`);
    put(rec, "etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    put(rec, "etc/fstab", `# /etc/fstab of lab host ${rec.name}\n`);
    // An EC2 instance's resolver (the VPC's) answers at once. The image carries the build machine's resolver, which
    // the lab cannot reach: each outside name then took 5 s to fail, and wp-admin ~10 s (WordPress asks
    // api.wordpress.org about the PHP and browser versions on every dashboard until it gets an answer). Nothing
    // listens on the host's own port 53, so a lookup of an outside name fails at once, as with no internet route.
    put(rec, "etc/resolv.conf", "# lab host: no internet; outside names fail at once\nnameserver 127.0.0.1\n");
    for (const nic of rec.nics) {
        // LinkLocalAddressing/IPv6AcceptRA=no: otherwise systemd-networkd-wait-online holds every boot ~12 s.
        const gateway = nic.ifname === "eth0" && spec.gateway ? `Gateway=${spec.gateway}\n` : "";
        put(
            rec,
            `etc/systemd/network/10-${nic.ifname}.network`,
            `[Match]\nName=${nic.ifname}\n[Network]\nAddress=${nic.ip}/${LAB_PREFIX_LEN}\n${gateway}` +
                `LinkLocalAddressing=no\nIPv6AcceptRA=no\n${spec.forward ? "IPForward=ipv4\n" : ""}`,
        );
    }
    put(rec, "etc/ssh/ssh_host_ed25519_key", fs.readFileSync(hostKey, "utf8"), 0o600);
    put(rec, "etc/ssh/ssh_host_ed25519_key.pub", fs.readFileSync(`${hostKey}.pub`, "utf8"));
    put(
        rec,
        "etc/ssh/sshd_config.d/ha-lab.conf",
        "HostKey /etc/ssh/ssh_host_ed25519_key\nPasswordAuthentication no\n" +
            "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nMaxStartups 100\nMaxSessions 100\n",
    );
    put(rec, "root/.ssh/authorized_keys", fs.readFileSync(`${CLIENT_KEY}.pub`, "utf8"), 0o600);
    fs.chmodSync(path.join(rec.root, "root/.ssh"), 0o700);
    for (const [file, f] of Object.entries(spec.files ?? {}))
        put(rec, file.replace(/^\/+/, ""), f.content, f.mode ?? 0o644);
    for (const unit of spec.enableUnits ?? []) {
        const wants = path.join(rec.root, "etc/systemd/system/multi-user.target.wants");
        fs.mkdirSync(wants, { recursive: true });
        const unitFile = ["etc/systemd/system", "lib/systemd/system"]
            .map(d => `/${d}/${unit}`)
            .find(p => fs.existsSync(path.join(rec.root, p)));
        if (!unitFile) throw new Error(`lab host ${rec.name}: no unit ${unit} to enable`);
        fs.rmSync(path.join(wants, unit), { force: true });
        fs.symlinkSync(unitFile, path.join(wants, unit));
    }
    fs.writeFileSync(marker, new Date().toISOString() + "\n");
}

/**
 * Files the machine decides at every boot: which devices are plugged in, and (no udev in a container) the disk's
 * Nitro by-id name, which systemd-tmpfiles creates early in the boot as udev would on EC2.
 */
function writeBootFiles(rec: LabHost): void {
    const attached = !!rec.disk?.loop && rec.diskAttached !== false;
    fs.writeFileSync(path.join(rec.dir, "binds"), attached ? `${rec.disk!.loop}\n` : "");
    const rule = path.join(rec.root, "etc/tmpfiles.d/ha-lab-disk.conf");
    if (attached) put(rec, "etc/tmpfiles.d/ha-lab-disk.conf", `L+ ${rec.disk!.byId} - - - - ${rec.disk!.loop}\n`);
    else fs.rmSync(rule, { force: true });
}

async function wireNetwork(rec: LabHost): Promise<void> {
    const ctl = (...args: string[]) => control(["ip", ...args]).then(r => check(`ip ${args.join(" ")}`, r));
    for (const nic of rec.nics) {
        if ((await control(["ip", "link", "show", nic.veth])).code === 0) continue;
        // The inside end may be left from a control namespace that died: its veth died with it, so make both anew.
        await run("ip", ["-n", rec.netnsName, "link", "del", nic.ifname]);
        await ctl("link", "add", nic.veth, "type", "veth", "peer", "name", nic.ifname, "netns", rec.netnsName);
        await ctl("link", "set", nic.veth, "master", BRIDGES[nic.lan], "up");
        // networkd inside brings the link up at boot; a running host (re-plugged) needs it now.
        await run("ip", ["-n", rec.netnsName, "link", "set", nic.ifname, "up"]);
        if (hostIsUp(rec)) await exec(rec, ["networkctl", "reconfigure", nic.ifname]);
    }
}

/** Sets the host's links on the bridge side up or down: down, its packets vanish, as a pulled cable's do. */
export async function setLinks(host: LabHost, state: "up" | "down"): Promise<void> {
    for (const nic of host.nics)
        check(`ip link set ${nic.veth} ${state}`, await control(["ip", "link", "set", nic.veth, state]));
}

/** Waits until systemd says the boot is finished (running, or degraded when a unit failed). Returns the state. */
export async function waitBooted(host: LabHost, timeoutMs = 120_000): Promise<string> {
    let state = "";
    await waitFor(
        `${host.name} to finish booting`,
        async () => {
            if (!hostIsUp(host)) return false;
            const r = await exec(host, ["systemctl", "is-system-running"], { timeoutMs: 10_000 });
            state = r.stdout.trim();
            return state === "running" || state === "degraded";
        },
        timeoutMs,
        200,
    ).catch(e => {
        throw new Error(`${e.message} (systemd says '${state || "nothing yet"}')`);
    });
    return state;
}

/** Waits until the control namespace can log in over SSH. */
async function waitSsh(host: LabHost): Promise<void> {
    let last = "";
    await waitFor(
        `ssh root@${host.ip} (${host.name})`,
        async () => {
            const r = await ssh(host, "true", { timeoutMs: 10_000 });
            last = r.stderr.trim();
            return r.code === 0;
        },
        60_000,
        200,
    ).catch(e => {
        throw new Error(`${e.message}${last ? `: ${last}` : ""}`);
    });
}

/** Boots a powered-off host and waits for its systemd and sshd. A running host is left alone. */
export async function powerOn(host: LabHost): Promise<LabHost> {
    if (hostIsUp(host)) return host;
    writeBootFiles(host);
    const logFile = path.join(host.dir, "boot.log");
    const env = {
        PATH: process.env.PATH,
        LAB_HOST: host.name,
        LAB_ROOT: host.root,
        LAB_NETNS: host.netnsName,
        LAB_CGROUP: `${LAB_TAG}/${host.name}`,
        LAB_BINDS: path.join(host.dir, "binds"),
        LAB_LOG: logFile,
        LAB_CONTROL: String(requireControl().init.pid),
        LAB_FORWARD: host.forward ? "1" : "",
        LAB_NICS: host.nics.map(n => `${n.veth}:${n.ifname}:${BRIDGES[n.lan]}`).join(" "),
    };
    const pid = await spawnDetached(
        ["bash", BOOT_SCRIPT],
        env,
        path.join(host.dir, "console.log"),
        () => true,
        `${host.name}'s boot loop`,
    );
    host.wrapper = { pid, startTime: startTimeOf(pid)! };
    writeHostRecord(host);
    await waitFor(`${host.name}'s systemd to start`, () => hostIsUp(host), 30_000, 50).catch(e => {
        throw new Error(`${e.message}\n${tailOf(path.join(host.dir, "console.log"))}`);
    });
    host.netns = netnsId(host.netnsName);
    writeHostRecord(host);
    await waitBooted(host);
    await waitSsh(host);
    return host;
}

function tailOf(file: string, lines = 20): string {
    try {
        return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
        return "";
    }
}

/**
 * Powers a host off. Graceful: `systemctl poweroff` inside, as `aws ec2 stop-instances` does. Forced: a power cut:
 * its links go down first (peers see packets vanish, not connections closed), then its PID 1 is killed, which ends
 * every process of the host at once; nothing is written, unmounted or flushed.
 */
export async function powerOff(host: LabHost, opts: { force?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const wrapperGone = () => !host.wrapper || !isAlive(host.wrapper);
    if (!wrapperGone()) {
        const leader = leaderOf(host);
        if (opts.force || leader === undefined) {
            if (readControlRecord() && controlIsUp(readControlRecord()))
                await setLinks(host, "down").catch(() => undefined);
            if (leader !== undefined) signal([leader], "SIGKILL");
        } else {
            await exec(host, ["systemctl", "--no-block", "poweroff"], { timeoutMs: 10_000 }).catch(() => undefined);
        }
        const graceful = await waitFor(`${host.name} to power off`, wrapperGone, opts.timeoutMs ?? 60_000, 100).then(
            () => true,
            () => false,
        );
        if (!graceful) {
            // A shutdown that hangs: pull the plug, then stop the boot loop itself.
            const l = leaderOf(host);
            if (l !== undefined) signal([l], "SIGKILL");
            await waitFor(`${host.name}'s boot loop to end`, wrapperGone, 15_000, 100).catch(() => {
                signal([-host.wrapper!.pid], "SIGKILL");
            });
        }
    }
    delete host.wrapper;
    writeHostRecord(host);
}

/** Reboots a host from inside (`systemctl reboot`) and waits until it has booted again and answers SSH. */
export async function rebootHost(host: LabHost): Promise<void> {
    const before = requireLeader(host);
    await exec(host, ["systemctl", "--no-block", "reboot"], { timeoutMs: 10_000 }).catch(() => undefined);
    await waitFor(
        `${host.name} to reboot`,
        () => {
            const now = leaderOf(host);
            return now !== undefined && now !== before;
        },
        120_000,
        100,
    ).catch(e => {
        throw new Error(`${e.message}\n${tailOf(path.join(host.dir, "boot.log"))}`);
    });
    host.netns = netnsId(host.netnsName);
    writeHostRecord(host);
    await waitBooted(host);
    await waitSsh(host);
}

/**
 * Makes a block device of the machine (a loop device) appear inside a running host at the same path, as a late
 * EBS attachment does on EC2. Returns once the node inside has the device's numbers.
 */
export async function plugDevice(host: LabHost, dev: string): Promise<void> {
    // Linux's dev_t: major in bits 8-19, minor in bits 0-7 and 20-31 (loop minors pass 255 with many loops).
    const rdev = fs.statSync(dev).rdev;
    const major = (rdev >> 8) & 0xfff,
        minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
    await sh(
        host,
        `[ -b ${dev} ] || mknod -m 660 ${dev} b ${major} ${minor}
        [ "$(stat -c '%t:%T' ${dev})" = "${major.toString(16)}:${minor.toString(16)}" ]`,
    );
}

/**
 * Unplugs (false) or plugs in (true) the host's disk. Unplugged, the next boot has no such device; plugged into a
 * running host, the device node and its by-id name appear at once, as a late EBS attachment does on EC2.
 */
export async function setDiskAttached(host: LabHost, attached: boolean): Promise<void> {
    if (!host.disk) throw new Error(`lab host ${host.name} has no disk`);
    host.diskAttached = attached;
    writeHostRecord(host);
    writeBootFiles(host);
    if (attached && hostIsUp(host)) {
        await plugDevice(host, host.disk.loop);
        await sh(host, `mkdir -p ${path.dirname(host.disk.byId)} && ln -sfn ${host.disk.loop} ${host.disk.byId}`);
    }
}

// ---- teardown ----------------------------------------------------------------------------------------------------

/** Removes the host's cgroups and nspawn's leftovers (only the lab's own: they carry the lab's tag and name). */
function cleanCgroups(name: string): void {
    for (const h of ["systemd", "unified"]) {
        const dir = `/sys/fs/cgroup/${h}/${LAB_TAG}/${name}`;
        if (!fs.existsSync(dir)) continue;
        const dirs: string[] = [];
        const walk = (d: string) => {
            for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
            dirs.push(d);
        };
        walk(dir);
        for (const d of dirs) {
            try {
                fs.rmdirSync(d);
            } catch {
                /* still has a process */
            }
        }
    }
    fs.rmSync(`/run/systemd/nspawn/propagate/${name}`, { recursive: true, force: true });
}

/**
 * Removes a host: powers it off, unmounts its root, detaches its disk, deletes its network namespace and records.
 * With `keepDisk` the disk image and host key stay (a replacement instance gets the old EBS volume).
 */
export async function destroyHost(host: LabHost, opts: { keepDisk?: boolean } = {}): Promise<void> {
    await powerOff(host, { timeoutMs: 20_000 });
    // Anything left in its namespace (an `ip netns exec` helper) goes too; never the machine's own namespace.
    const netns = netnsId(host.netnsName);
    if (netns) signal(pidsInNetns(netns), "SIGKILL");
    if (isMounted(host.root)) {
        const r = await run("umount", [host.root]);
        if (r.code !== 0) await run("umount", ["-l", host.root]);
    }
    if (host.disk) {
        for (const loop of await loopsOf(host.disk.image)) await run("losetup", ["--detach", loop]);
        await waitFor(
            `loop device of ${host.disk.image} to be released`,
            async () => (await loopsOf(host.disk!.image)).length === 0,
            15_000,
            200,
        );
    }
    if (netnsId(host.netnsName)) await run("ip", ["netns", "del", host.netnsName]);
    cleanCgroups(host.name);
    if (opts.keepDisk) {
        for (const d of ["upper", "work", "root", "provisioned"])
            fs.rmSync(path.join(host.dir, d), { recursive: true, force: true });
        if (host.disk) host.disk.loop = "";
        delete host.netns;
        writeHostRecord(host);
    } else {
        fs.rmSync(host.dir, { recursive: true, force: true });
        if (fs.existsSync(KNOWN_HOSTS)) writeKnownHosts();
    }
}

/** Removes the whole lab: every host, the control namespace, and LAB_DIR. Safe to run when nothing is up. */
export async function destroyLab(): Promise<void> {
    await Promise.all(
        hostNames().map(async name => {
            const rec = readHostRecord(name);
            if (rec && Array.isArray(rec.nics)) {
                await destroyHost(rec);
            } else {
                // A host that failed before its record was written can only have a loop device on its image.
                const image = path.join(hostDir(name), "disk.img");
                for (const loop of await loopsOf(image)) await run("losetup", ["--detach", loop]);
                fs.rmSync(hostDir(name), { recursive: true, force: true });
            }
        }),
    );
    const ctl = readControlRecord();
    if (controlIsUp(ctl)) {
        const others = () => pidsInNetns(ctl.netns);
        signal(others(), "SIGTERM");
        await waitFor("the control namespace's processes to stop", () => others().length === 0, 5_000, 100).catch(() =>
            signal(others(), "SIGKILL"),
        );
    }
    for (const h of ["systemd", "unified"]) {
        try {
            fs.rmdirSync(`/sys/fs/cgroup/${h}/${LAB_TAG}`);
        } catch {
            /* absent, or another host's still there */
        }
    }
    fs.rmSync(LAB_DIR, { recursive: true, force: true });
}

/** Processes (pid and command line) in the network namespace of a recorded host; for status and leak checks. */
export function processesOf(host: LabHost): { pid: number; cmd: string }[] {
    const netns = netnsId(host.netnsName);
    if (!netns) return [];
    return pidsInNetns(netns).map(pid => ({ pid, cmd: cmdlineOf(pid) }));
}
