// Network namespaces for the end-to-end test, held open by `sleep` processes we start and later kill by pid.
// Commands enter them with nsenter; nothing here touches the host's own network or mounts.

import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";

export interface Namespace {
    /** Pid of the holder process; its namespaces are the host's. */
    pid: number;
    mount: boolean;
}

const started: ChildProcess[] = [];

/** A new net namespace (and, with `mount`, a private mount namespace), loopback up. */
export function createNamespace(mount: boolean): Namespace {
    const args = mount
        ? ["--net", "--mount", "--propagation", "private", "sleep", "infinity"]
        : ["--net", "sleep", "infinity"];
    const child = spawn("unshare", args, { stdio: "ignore" });
    started.push(child);
    const ns = { pid: child.pid!, mount };
    // unshare execs sleep once the namespaces exist; wait until the holder's net namespace differs from ours.
    for (let i = 0; i < 500; i++) {
        try {
            if (fs.readlinkSync(`/proc/${ns.pid}/ns/net`) !== fs.readlinkSync("/proc/self/ns/net")) break;
        } catch {
            // not yet
        }
        spawnSync("sleep", ["0.01"]);
    }
    run(ns, ["ip", "link", "set", "lo", "up"]);
    return ns;
}

function enter(ns: Namespace): string[] {
    return ["-t", String(ns.pid), "-n", ...(ns.mount ? ["-m"] : []), "--"];
}

/** Runs a command inside; throws with its stderr on failure. */
export function run(ns: Namespace, cmd: string[], input?: string): string {
    try {
        return execFileSync("nsenter", [...enter(ns), ...cmd], {
            encoding: "utf8",
            input,
            stdio: ["pipe", "pipe", "pipe"],
        });
    } catch (e) {
        const err = e as { stderr?: string; message: string };
        throw new Error(`${cmd.join(" ")}: ${err.stderr?.trim() || err.message}`);
    }
}

/** Runs a command inside and returns its exit status and output, never throwing. */
export function tryRun(
    ns: Namespace,
    cmd: string[],
    timeoutMs = 20_000,
): { status: number; stdout: string; stderr: string } {
    const r = spawnSync("nsenter", [...enter(ns), ...cmd], { encoding: "utf8", timeout: timeoutMs });
    return { status: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** Starts a long-running process inside (nsenter execs it, so the pid is the service's own). */
export function startService(ns: Namespace, cmd: string[], logFile: string): ChildProcess {
    const fd = fs.openSync(logFile, "a");
    const child = spawn("nsenter", [...enter(ns), ...cmd], { stdio: ["ignore", fd, fd] });
    fs.closeSync(fd);
    started.push(child);
    return child;
}

/** Connects a client namespace to the server's bridge with the given address. */
export function connect(server: Namespace, client: Namespace, ifname: string, addr: string): void {
    run(server, ["ip", "link", "add", ifname, "type", "veth", "peer", "name", "eth0", "netns", String(client.pid)]);
    run(server, ["ip", "link", "set", ifname, "master", "br0", "up"]);
    run(client, ["ip", "addr", "add", addr, "dev", "eth0"]);
    run(client, ["ip", "link", "set", "eth0", "up"]);
}

export async function stopProcess(
    child: ChildProcess,
    signal: NodeJS.Signals = "SIGTERM",
    graceMs = 10_000,
): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const done = new Promise<void>(r => child.once("exit", () => r()));
    child.kill(signal);
    const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await done;
    clearTimeout(t);
}

/** Stops everything this module started, newest first (services before their namespace holders). */
export async function stopAll(): Promise<void> {
    for (const c of started.splice(0).reverse()) await stopProcess(c, "SIGTERM", 5000);
}

export async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
        const v = fn();
        if (v) return v;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise(r => setTimeout(r, 50));
    }
}
