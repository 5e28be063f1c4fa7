// Runs a firewall tool with a batch on stdin, retrying transient failures. The only place actions touch processes.

import { spawn } from "child_process";
import { FirewallError } from "./types";

export interface ExecResult {
    code: number;
    stdout: string;
    stderr: string;
}

export type Exec = (cmd: string, args: string[], input: string) => Promise<ExecResult>;

export const spawnExec: Exec = (cmd, args, input) =>
    new Promise(resolve => {
        let child;
        try {
            child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
        } catch (e) {
            resolve({ code: 127, stdout: "", stderr: (e as Error).message });
            return;
        }
        // The error listener comes first: without descriptors (EMFILE) Node emits 'error' and leaves stdio unset, and
        // an 'error' nobody listens to would end the whole daemon.
        child.on("error", e => resolve({ code: 127, stdout: "", stderr: e.message }));
        if (!child.stdout || !child.stderr || !child.stdin) return;
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (d: Buffer) => out.push(d));
        child.stderr.on("data", (d: Buffer) => err.push(d));
        child.on("close", code =>
            resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }),
        );
        child.stdin.on("error", () => undefined);
        child.stdin.end(input);
    });

export interface RetryOptions {
    attempts?: number;
    /** Delays between attempts, ms. */
    backoff?: number[];
    onRetry?(attempt: number, err: string): void;
}

export async function runWithRetry(
    exec: Exec,
    cmd: string,
    args: string[],
    input: string,
    opts: RetryOptions = {},
): Promise<ExecResult> {
    const attempts = opts.attempts ?? 3;
    const backoff = opts.backoff ?? [100, 500, 2000];
    let last: ExecResult = { code: 1, stdout: "", stderr: "" };
    for (let i = 1; i <= attempts; i++) {
        last = await exec(cmd, args, input);
        if (last.code === 0) return last;
        if (i < attempts) {
            opts.onRetry?.(i, last.stderr);
            await new Promise(r => setTimeout(r, backoff[Math.min(i - 1, backoff.length - 1)]));
        }
    }
    throw new FirewallError(`${cmd} ${args.join(" ")}`.trim(), last.stderr, attempts);
}
