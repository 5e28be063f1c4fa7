// A long-lived `nft -e -i` process for the small, latency-critical batches (a ban as it happens): no fork/exec and
// no nft start-up per ban. Each request is one line, which nft applies as one transaction; success is the echoed
// "# new generation" line on stdout, failure an "Error:" on stderr. One request in flight at a time. Anything odd
// (the process died, no answer in time) rejects the request; the caller then falls back to a one-shot `nft -f -`.

import { ChildProcessWithoutNullStreams, spawn } from "child_process";

const ANSWER_TIMEOUT_MS = 5000;
/** After an error, how long to keep collecting its remaining lines before sending the next request. */
const ERROR_SETTLE_MS = 20;

interface Pending {
    line: string;
    resolve(): void;
    reject(e: Error): void;
}

export class NftSession {
    private proc: ChildProcessWithoutNullStreams | undefined;
    private queue: Pending[] = [];
    private current: Pending | undefined;
    private timer: NodeJS.Timeout | undefined;
    private out = "";
    private err = "";
    private errLines: string[] = [];
    private failing = false;

    /** `command`: how to run nft, e.g. ["nft"] or ["nsenter", "-t", PID, "-n", "--", "nft"]. */
    constructor(private readonly command: string[] = ["nft"]) {}

    /** Applies `batch` (statements, one per line) as one transaction. */
    run(batch: string): Promise<void> {
        const line = batch
            .split("\n")
            .map(l => l.trim())
            .filter(l => l.length > 0)
            .join("; ");
        if (line.includes("\n")) throw new Error("batch must not contain newlines");
        return new Promise((resolve, reject) => {
            this.queue.push({ line, resolve, reject });
            this.next();
        });
    }

    /** Pid of the running nft, if any. */
    get pid(): number | undefined {
        return this.proc?.pid;
    }

    close(): void {
        const p = this.proc;
        this.proc = undefined;
        if (p) {
            p.stdin.end();
            p.kill("SIGTERM");
        }
        this.failAll(new Error("nft session closed"));
    }

    private ensure(): ChildProcessWithoutNullStreams {
        if (this.proc) return this.proc;
        const p = spawn(this.command[0], [...this.command.slice(1), "-e", "-i"], { stdio: ["pipe", "pipe", "pipe"] });
        // First the error listener (see exec.ts: EMFILE leaves stdio unset and emits 'error').
        p.on("error", e => this.onExit(e.message));
        if (!p.stdout || !p.stderr || !p.stdin)
            throw new Error(`cannot start ${this.command[0]}: no file descriptors left`);
        p.stdout.setEncoding("utf8");
        p.stderr.setEncoding("utf8");
        p.stdout.on("data", (d: string) => this.onStdout(d));
        p.stderr.on("data", (d: string) => this.onStderr(d));
        p.stdin.on("error", () => undefined);
        p.on("exit", (code, sig) => this.onExit(`nft exited (${sig ?? code})`));
        this.proc = p;
        return p;
    }

    /** Starts nft now, so the first ban does not pay for its start-up (70-90 ms measured). */
    warm(batch: string): Promise<void> {
        return this.run(batch);
    }

    private next(): void {
        if (this.current || this.failing || this.queue.length === 0) return;
        this.current = this.queue.shift()!;
        this.errLines = [];
        this.timer = setTimeout(() => this.abort(new Error("no answer from nft")), ANSWER_TIMEOUT_MS);
        let proc: ChildProcessWithoutNullStreams;
        try {
            proc = this.ensure();
        } catch (e) {
            this.finish(e as Error);
            return;
        }
        proc.stdin.write(this.current.line + "\n");
    }

    private finish(err?: Error): void {
        const c = this.current;
        if (!c) return;
        if (this.timer) clearTimeout(this.timer);
        this.current = undefined;
        if (err) c.reject(err);
        else c.resolve();
        this.next();
    }

    private onStdout(d: string): void {
        this.out += d;
        let nl: number;
        while ((nl = this.out.indexOf("\n")) >= 0) {
            const l = this.out.slice(0, nl);
            this.out = this.out.slice(nl + 1);
            if (l.startsWith("# new generation") && !this.failing) this.finish();
        }
    }

    private onStderr(d: string): void {
        this.err += d;
        let nl: number;
        while ((nl = this.err.indexOf("\n")) >= 0) {
            const l = this.err.slice(0, nl);
            this.err = this.err.slice(nl + 1);
            this.errLines.push(l);
            if (l.startsWith("Error:") && this.current && !this.failing) {
                this.failing = true;
                // Let the rest of this error's lines arrive before the next request can be blamed for them.
                setTimeout(() => {
                    this.failing = false;
                    this.finish(new Error(this.errLines.join("\n")));
                }, ERROR_SETTLE_MS);
            }
        }
    }

    private abort(e: Error): void {
        // State unknown: drop the process so the next request starts clean.
        const p = this.proc;
        this.proc = undefined;
        p?.kill("SIGKILL");
        this.finish(e);
    }

    private onExit(why: string): void {
        if (!this.proc) return;
        this.proc = undefined;
        this.failing = false;
        if (this.timer) clearTimeout(this.timer);
        const c = this.current;
        this.current = undefined;
        c?.reject(new Error(why));
        this.next();
    }

    private failAll(e: Error): void {
        if (this.timer) clearTimeout(this.timer);
        const all = [...(this.current ? [this.current] : []), ...this.queue];
        this.current = undefined;
        this.queue = [];
        for (const p of all) p.reject(e);
    }
}
