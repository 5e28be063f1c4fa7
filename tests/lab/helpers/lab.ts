// Shared helpers for lab tests (Gluster now, the web stack later): run things on hosts, simulate failures,
// and check that the lab left nothing behind.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { LAB_DIR, LabHost, control, exec, getHost, listHosts, processesOf, sh } from "../../../lab/hosts";
import { RunResult, cmdlineOf, commOf, nsOf, pidsInNetns, run, signal, startTimeOf, waitFor } from "../../../lab/proc";
import { RunReport, formatStep } from "../../../lab/runner";
import { LAB_TAG } from "../../../lab/state";

export { waitFor } from "../../../lab/proc";

/** Lab tests make namespaces, mounts and loop devices: they need root, and say so instead of failing oddly. */
export function requireRoot(): void {
    assert.strictEqual(process.getuid?.(), 0, "lab tests must run as root (namespaces, mounts, loop devices)");
}

/** A running lab host by name; fails the test if it is not running. */
export function host(name: string): LabHost {
    const h = getHost(name);
    assert.ok(h, `lab host ${name} is not running`);
    return h;
}

/** Runs a bash script on a host (nsenter, not SSH); returns stdout, throws with stderr on failure. */
export function onHost(name: string, script: string, timeoutMs = 60_000): Promise<string> {
    return sh(host(name), script, { timeoutMs });
}

/** Like onHost, but returns the whole result instead of throwing. */
export function tryOnHost(name: string, script: string, timeoutMs = 60_000): Promise<RunResult> {
    return exec(host(name), ["bash", "-c", script], { timeoutMs });
}

/** Fails with every failed step's host, id and stderr tail. */
export function assertPlanOk(report: RunReport, what = "plan"): void {
    const bad = report.steps.filter(s => s.status !== "ok");
    assert.ok(report.ok && bad.length === 0, `${what} failed:\n${bad.map(formatStep).join("\n")}`);
}

/** A host's processes with their command names, without the namespace holder (`sleep`). */
export function hostProcesses(name: string): { pid: number; comm: string; cmd: string }[] {
    const h = host(name);
    return processesOf(h).map(p => ({ ...p, comm: commOf(p.pid) ?? "" }));
}

/**
 * Kills the given processes by pid (SIGKILL, like a power cut) and waits until they are reaped. A zombie still
 * answers for its pid with its old name, and daemons judge "running" by pid file (glusterd does): the machine's
 * init here reaps orphans only every few seconds, so a zombie left in place would look alive to a restart.
 */
export async function killPids(pids: number[]): Promise<void> {
    signal(pids, "SIGKILL");
    await waitFor(`pids ${pids.join(", ")} to be gone`, () => pids.every(p => commOf(p) === undefined), 20_000, 100);
}

/** Cuts (down) or restores (up) a host's link to the lab LAN, on the bridge side: packets just vanish. */
export async function setLink(name: string, state: "up" | "down"): Promise<void> {
    const r = await control(["ip", "link", "set", host(name).veth, state]);
    assert.strictEqual(r.code, 0, r.stderr);
}

/** What the lab made, as recorded: enough to check afterwards that none of it is left. */
export interface LabFootprint {
    netns: string[];
    images: string[];
    loops: string[];
    /** When it was taken, in clock ticks since boot (the unit of a process's start time). */
    takenAt: number;
}

/** Now, in clock ticks since boot (USER_HZ = 100 on Linux). */
function ticksNow(): number {
    return Math.ceil(parseFloat(fs.readFileSync("/proc/uptime", "utf8").split(" ")[0]) * 100);
}

export function footprint(): LabFootprint {
    const hosts = listHosts();
    let ctlNetns: string[] = [];
    try {
        ctlNetns = [JSON.parse(fs.readFileSync(`${LAB_DIR}/control.json`, "utf8")).netns];
    } catch {
        /* no control namespace recorded */
    }
    return {
        netns: [...hosts.map(h => h.netns!).filter(Boolean), ...ctlNetns],
        images: hosts.map(h => h.disk?.image).filter((s): s is string => !!s),
        loops: hosts.map(h => h.disk?.loop).filter((s): s is string => !!s),
        takenAt: ticksNow(),
    };
}

/** Everything of a footprint still present: processes in its namespaces, its loop devices, mounts, state. */
export async function leftovers(fp: LabFootprint): Promise<string[]> {
    const left: string[] = [];
    // The kernel reuses a freed namespace's inode number: a process that started after the footprint was taken
    // (another lab making hosts at the same time) is in a new namespace that merely has the old number.
    const older = (pid: number) => Number(startTimeOf(pid) ?? Infinity) <= fp.takenAt;
    for (const ns of fp.netns) {
        for (const pid of pidsInNetns(ns).filter(older)) left.push(`process ${pid} (${cmdlineOf(pid)}) in ${ns}`);
    }
    const loops = await run("losetup", ["--list", "--noheadings", "--output", "NAME,BACK-FILE"]);
    for (const line of loops.stdout.split("\n")) {
        if (line.includes(`${LAB_DIR}/`)) left.push(`loop device ${line.trim()}`);
    }
    for (const line of fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
        if (line.includes(`${LAB_DIR}/`)) left.push(`mount ${line}`);
    }
    // Any process anywhere still chrooted into a lab root, whatever its namespace.
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        let root = "";
        try {
            root = fs.readlinkSync(`/proc/${entry}/root`);
        } catch {
            continue;
        }
        if (root.startsWith(`${LAB_DIR}/`))
            left.push(`process ${entry} (${cmdlineOf(Number(entry))}) rooted in ${root}`);
    }
    if (fs.existsSync(LAB_DIR)) left.push(`state directory ${LAB_DIR}`);
    // Named network namespaces and cgroups the lab made for its booted hosts.
    for (const name of fs.existsSync("/run/netns") ? fs.readdirSync("/run/netns") : []) {
        if (name.startsWith(`${LAB_TAG}-`)) left.push(`network namespace /run/netns/${name}`);
    }
    for (const h of ["systemd", "unified"]) {
        if (fs.existsSync(`/sys/fs/cgroup/${h}/${LAB_TAG}`)) left.push(`cgroup /sys/fs/cgroup/${h}/${LAB_TAG}`);
    }
    const mine = nsOf("self", "net");
    return left.filter(l => !mine || !l.includes(mine));
}

/**
 * The last lines of every lab host's journal (persistent, in its root volume under the state directory, which
 * `down` removes) and of its boot log: printed by a suite's `after` hook when a test failed, so a CI log shows what
 * the hosts saw.
 */
export function logTails(lines = 40): string {
    const out: string[] = [];
    for (const h of listHosts()) {
        const boot = path.join(h.dir, "boot.log");
        if (fs.existsSync(boot))
            out.push(`==> ${h.name}: boot.log <==`, ...fs.readFileSync(boot, "utf8").trimEnd().split("\n").slice(-6));
        const journal = path.join(h.dir, "upper", "var", "log", "journal");
        if (!fs.existsSync(journal)) continue;
        const r = spawnSync(
            "journalctl",
            ["-D", journal, "-n", String(lines), "--no-pager", "-o", "short-precise", "-p", "notice"],
            { encoding: "utf8", timeout: 20_000 },
        );
        out.push(`==> ${h.name}: journal (notice and worse) <==`, (r.stdout || r.stderr || "").trimEnd());
    }
    return out.join("\n");
}
