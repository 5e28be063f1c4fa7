// Running commands and telling processes apart: the only place the lab touches child_process and /proc.
import { spawn } from "child_process";
import * as fs from "fs";

/** What a finished command left behind. */
export interface RunResult {
    /** Exit code; null when a signal (or our timeout) ended it. */
    code: number | null;
    stdout: string;
    stderr: string;
    /** Wall time in milliseconds, for step reports. */
    durationMs: number;
    /** True when the command ran past its time limit and was killed. */
    timedOut: boolean;
}

export interface RunOptions {
    /** Bytes for the command's stdin; stdin is closed (empty) when absent. */
    input?: string;
    /** Kill the command (SIGKILL) after this many milliseconds. Default 120 s. */
    timeoutMs?: number;
    /** Environment; default this process's. */
    env?: NodeJS.ProcessEnv;
}

/** Runs a program without a shell and collects its output. Never throws for a non-zero exit; see `check`. */
export function run(file: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
        // No input: stdin is /dev/null, not a socket (bash run with a socket on stdin thinks sshd started it).
        const stdin = opts.input === undefined ? "ignore" : "pipe";
        const child = spawn(file, args, { stdio: [stdin, "pipe", "pipe"], env: opts.env ?? process.env });
        const out: Buffer[] = [],
            err: Buffer[] = [];
        let timedOut = false;
        const timer = setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
        }, opts.timeoutMs ?? 120_000);
        child.stdout!.on("data", (b: Buffer) => out.push(b));
        child.stderr!.on("data", (b: Buffer) => err.push(b));
        child.on("error", e => {
            clearTimeout(timer);
            reject(e);
        });
        child.on("close", code => {
            clearTimeout(timer);
            resolve({
                code,
                timedOut,
                durationMs: Date.now() - started,
                stdout: Buffer.concat(out).toString("utf8"),
                stderr: Buffer.concat(err).toString("utf8"),
            });
        });
        if (child.stdin) {
            // A command that exits without reading its stdin makes the pipe fail with EPIPE: that is not our error.
            child.stdin.on("error", () => undefined);
            child.stdin.end(opts.input);
        }
    });
}

/** Throws a readable error (command, exit code, stderr tail) unless the command succeeded. */
export function check(what: string, r: RunResult): RunResult {
    if (r.code === 0) return r;
    const why = r.timedOut ? "timed out" : `exit ${r.code}`;
    throw new Error(`${what}: ${why}${r.stderr.trim() ? `\n${tail(r.stderr)}` : ""}`);
}

/** The last lines of a command's output, for reports. */
export function tail(text: string, lines = 12): string {
    return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** Resolves once `probe` returns true; rejects after `timeoutMs` naming what was awaited. */
export async function waitFor(
    what: string,
    probe: () => boolean | Promise<boolean>,
    timeoutMs: number,
    intervalMs = 250,
): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
        let ok = false;
        try {
            ok = await probe();
        } catch {
            ok = false;
        }
        if (ok) return;
        if (Date.now() >= end) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}`);
        await sleep(intervalMs);
    }
}

export function sleep(ms: number): Promise<void> {
    return new Promise(r => setTimeout(r, ms));
}

// ---- process identity -------------------------------------------------------------------------------------------

/**
 * A process as the lab remembers it. A pid alone can be reused after the process dies; pid plus start time
 * (field 22 of /proc/PID/stat, in clock ticks since boot) cannot.
 */
export interface ProcessId {
    pid: number;
    startTime: string;
}

/** Start time of a live process, or undefined if it is gone. */
export function startTimeOf(pid: number): string | undefined {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        // The command name (field 2) may hold spaces and parentheses: count fields after its closing ")".
        return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
    } catch {
        return undefined;
    }
}

/** True while the very process recorded in `id` runs (not a later process that got the same pid). */
export function isAlive(id: ProcessId): boolean {
    return startTimeOf(id.pid) === id.startTime;
}

/** The namespace a process is in, as `net:[4026532281]`, or undefined if it is gone. */
export function nsOf(pid: number | "self", kind: "net" | "mnt" | "uts" | "pid"): string | undefined {
    try {
        return fs.readlinkSync(`/proc/${pid}/ns/${kind}`);
    } catch {
        return undefined;
    }
}

/**
 * Every process in the given network namespace. Refuses the namespace this program runs in (and pid 1's): a
 * lab namespace is never the machine's own, and killing "everything in the root namespace" must be impossible.
 */
export function pidsInNetns(netns: string): number[] {
    if (netns === nsOf("self", "net") || netns === nsOf(1, "net")) {
        throw new Error(`refusing to list processes of ${netns}: it is the machine's own network namespace`);
    }
    const pids: number[] = [];
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        if (nsOf(Number(entry), "net") === netns) pids.push(Number(entry));
    }
    return pids;
}

/** The command name of a live process (/proc/PID/comm), or undefined if it is gone. */
export function commOf(pid: number): string | undefined {
    try {
        return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    } catch {
        return undefined;
    }
}

/** The full command line of a live process, arguments joined by spaces. */
export function cmdlineOf(pid: number): string {
    try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
    } catch {
        return "";
    }
}

/** Sends a signal to each pid, ignoring those already gone. */
export function signal(pids: number[], sig: NodeJS.Signals): void {
    for (const pid of pids) {
        try {
            process.kill(pid, sig);
        } catch {
            /* already gone */
        }
    }
}

/** The parent pid of a live process (field 4 of /proc/PID/stat), or undefined if it is gone. */
export function ppidOf(pid: number): number | undefined {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {
        return undefined;
    }
}

/** Live children of a process with the given command name (this kernel has no /proc/PID/task/TID/children). */
export function childrenOf(pid: number, comm?: string): number[] {
    const out: number[] = [];
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        const child = Number(entry);
        if (ppidOf(child) === pid && (comm === undefined || commOf(child) === comm)) out.push(child);
    }
    return out;
}
