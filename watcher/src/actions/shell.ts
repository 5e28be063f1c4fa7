// Runs one action.d command as fail2ban does (`/bin/sh -c`), bounded in time: at the timeout its whole process
// group gets SIGTERM, then SIGKILL, so a hung `sendmail` or `whois` cannot hold the action forever.

import { spawn } from "child_process";

export interface ShellResult {
    code: number;
    stdout: string;
    stderr: string;
    timedOut: boolean;
}

/** `env`: extra variables (the `$f2bV_*` values of tags that must not be pasted into the command). */
export type ShellRunner = (cmd: string, env: Record<string, string>, timeoutSeconds: number) => Promise<ShellResult>;

const KILL_GRACE_MS = 2000;
const MAX_OUTPUT = 64 * 1024;

export const runShell: ShellRunner = (cmd, env, timeoutSeconds) =>
    new Promise(resolve => {
        let child;
        try {
            child = spawn("/bin/sh", ["-c", cmd], {
                stdio: ["ignore", "pipe", "pipe"],
                detached: true,
                env: { ...process.env, ...env },
            });
        } catch (e) {
            resolve({ code: 127, stdout: "", stderr: (e as Error).message, timedOut: false });
            return;
        }
        let timedOut = false;
        let done = false;
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        let outLen = 0;
        let errLen = 0;
        const kill = (sig: NodeJS.Signals) => {
            try {
                if (child.pid) process.kill(-child.pid, sig);
            } catch {
                // already gone
            }
        };
        const timer = setTimeout(
            () => {
                timedOut = true;
                kill("SIGTERM");
                setTimeout(() => !done && kill("SIGKILL"), KILL_GRACE_MS).unref();
            },
            Math.max(1, timeoutSeconds) * 1000,
        );
        // First the error listener: without descriptors (EMFILE) Node emits 'error' and leaves stdio unset.
        child.on("error", e => {
            done = true;
            clearTimeout(timer);
            resolve({ code: 127, stdout: "", stderr: e.message, timedOut });
        });
        child.stdout?.on("data", (d: Buffer) => {
            if (outLen < MAX_OUTPUT) out.push(d);
            outLen += d.length;
        });
        child.stderr?.on("data", (d: Buffer) => {
            if (errLen < MAX_OUTPUT) err.push(d);
            errLen += d.length;
        });
        child.on("close", (code, signal) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            resolve({
                code: code ?? (signal ? 128 : 1),
                stdout: Buffer.concat(out).toString(),
                stderr: Buffer.concat(err).toString(),
                timedOut,
            });
        });
    });
