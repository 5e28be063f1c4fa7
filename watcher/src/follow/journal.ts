// Follows the systemd journal through `journalctl --output=json --follow`: entries become lines the way fail2ban's
// systemd backend formats them (journal-entry.ts), each with its own time. The position is the cursor of the last
// entry handed over, so a restart resumes right after it (nothing lost, nothing read twice); without one, reading
// starts at now - findtime, as fail2ban starts. A journalctl that exits is started again after a growing pause
// (1 s doubling to 60 s, back to 1 s once it has run a while), from the last cursor, and each exit is logged.
// journalctl --follow waits on inotify only; were that ever to stay silent (a lost watch), it would never print
// again. So a journalctl that printed nothing for `refresh` ms (default 60 s: a safety net, not the way entries
// arrive) is replaced by a fresh one from the cursor, which reads what was missed, like the file follower's safety
// poll. The old one is gone before the new one starts, so nothing is read twice.

import { ChildProcess, spawn } from "child_process";
import { parseJournalLine } from "./journal-entry";
import { journalctlArgs, JournalSpec, JournalStart } from "./journal-spec";
import { LineSplitter } from "./lines";
import { isJournalPosition, JournalPosition, LineSource, SourceOptions } from "./source";

export interface JournalOptions extends SourceOptions {
    spec: JournalSpec;
    /** The journalctl binary (default `journalctl`). */
    journalctl?: string;
    /** First restart pause in ms (default 1000); doubles up to `maxBackoff`. */
    backoff?: number;
    /** Longest restart pause in ms (default 60 s). */
    maxBackoff?: number;
    /** A journalctl silent this long (ms) is replaced by a fresh one from the cursor (default 60000; 0: never). */
    refresh?: number;
    /** Epoch seconds (default: the system clock); only used for the first start's `since`. */
    now?: () => number;
}

/** A JSON line longer than this is dropped and counted (journalctl prints fields over 64 KiB as null anyway). */
const MAX_JSON_BYTES = 1024 * 1024;
/** A journalctl that ran this long before exiting is restarted after the shortest pause again. */
const HEALTHY_MS = 30_000;

export class JournalFollower implements LineSource {
    readonly key: string;
    linesRead = 0;
    linesDropped = 0;
    /** Entries whose MESSAGE was not UTF-8 (matched after decoding with U+FFFD, as fail2ban does). */
    binaryMessages = 0;
    /** How often journalctl had to be started again after it exited. */
    restarts = 0;
    /** How often a silent journalctl was replaced (see `refresh`). */
    refreshes = 0;
    /** Why journalctl last exited, until it runs again. */
    problem: string | undefined;
    private readonly opts: JournalOptions;
    private child: ChildProcess | undefined;
    private pos: JournalPosition | undefined;
    private stopped = true;
    private timer: NodeJS.Timeout | undefined;
    private pause: number;
    private startedAt = 0;
    private stderrTail = "";
    private lastOutput = 0;
    private refreshTimer: NodeJS.Timeout | undefined;
    /** Set while a silent journalctl is being replaced (its exit is expected, not an error). */
    private refreshing = false;
    private cursorFailed = false;

    constructor(opts: JournalOptions) {
        this.opts = opts;
        this.key = opts.key;
        this.pos = isJournalPosition(opts.start) ? opts.start : undefined;
        this.pause = opts.backoff ?? 1000;
    }

    start(): void {
        this.stopped = false;
        this.spawn();
        const refresh = this.opts.refresh ?? 60_000;
        if (refresh > 0) {
            this.refreshTimer = setInterval(() => this.refreshIfSilent(refresh), Math.max(100, refresh / 2));
            this.refreshTimer.unref?.();
        }
    }

    private refreshIfSilent(refresh: number): void {
        const c = this.child;
        if (!c || this.refreshing || Date.now() - this.lastOutput < refresh) return;
        this.refreshing = true;
        c.kill("SIGTERM");
    }

    stop(): void {
        this.stopped = true;
        if (this.refreshTimer) clearInterval(this.refreshTimer);
        this.refreshTimer = undefined;
        if (this.timer) clearTimeout(this.timer);
        this.timer = undefined;
        const c = this.child;
        this.child = undefined;
        if (c && c.exitCode === null) c.kill("SIGTERM");
    }

    /** The running journalctl's pid (tests, status). */
    get pid(): number | undefined {
        return this.child?.pid;
    }

    position(): JournalPosition | undefined {
        return this.pos;
    }

    lagBytes(): number | undefined {
        return undefined;
    }

    /** Where this run of journalctl starts. */
    private startPoint(): JournalStart {
        // A cursor journalctl refused (its journal files are gone): go by the saved entry's time instead.
        if (this.pos && !this.cursorFailed) return { cursor: this.pos.cursor };
        if (this.pos) return { since: this.pos.time };
        const now = this.opts.now ? this.opts.now() : Date.now() / 1000;
        return { since: this.opts.firstStart?.since ?? now };
    }

    private spawn(): void {
        if (this.stopped) return;
        const from = this.startPoint();
        const args = journalctlArgs(this.opts.spec, from);
        const bin = this.opts.journalctl ?? "journalctl";
        this.stderrTail = "";
        this.startedAt = Date.now();
        this.lastOutput = Date.now();
        let child: ChildProcess;
        try {
            child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
        } catch (e) {
            this.exited(`cannot start ${bin}: ${(e as Error).message}`);
            return;
        }
        this.child = child;
        (this.refreshes > 0 ? this.opts.log.debug : this.opts.log.info).call(
            this.opts.log,
            `following the journal (${this.describe()}) ${"cursor" in from ? "after the saved cursor" : `since ${new Date(from.since * 1000).toISOString()}`}`,
        );
        const splitter = new LineSplitter(MAX_JSON_BYTES);
        child.stdout!.on("data", (chunk: Buffer) => {
            if (this.child !== child) return;
            this.lastOutput = Date.now();
            const dropped = splitter.dropped;
            const { lines } = splitter.push(chunk);
            if (splitter.dropped > dropped) {
                this.linesDropped += splitter.dropped - dropped;
                this.opts.log.warn(
                    `journal: dropped an entry longer than ${MAX_JSON_BYTES} bytes (${this.linesDropped} so far)`,
                );
            }
            if (lines.length) this.deliver(lines);
        });
        child.stderr!.on("data", (chunk: Buffer) => {
            this.stderrTail = (this.stderrTail + chunk.toString("utf8")).slice(-2000);
        });
        child.on("error", e => {
            if (this.child === child) {
                this.child = undefined;
                this.exited(`${bin}: ${e.message}`);
            }
        });
        child.on("close", (code, signal) => {
            if (this.child !== child) return;
            this.child = undefined;
            if (this.refreshing) {
                this.refreshing = false;
                this.refreshes++;
                this.spawn();
                return;
            }
            const why = this.stderrTail.trim().split("\n").slice(-3).join("; ");
            if ("cursor" in from && /cursor/i.test(why)) this.cursorFailed = true;
            this.exited(`journalctl exited (${signal ?? `code ${code}`})${why ? `: ${why}` : ""}`);
        });
    }

    private deliver(json: string[]): void {
        const lines: string[] = [];
        const times: number[] = [];
        let last: JournalPosition | undefined;
        for (const j of json) {
            if (j === "") continue;
            const e = parseJournalLine(j);
            if (e.kind === "garbage") {
                this.linesDropped++;
                if (e.cursor) last = { cursor: e.cursor, time: last?.time ?? this.pos?.time ?? 0 };
                this.opts.log.warn(`journal: skipped an entry (${e.reason}; ${this.linesDropped} so far)`);
                continue;
            }
            if (e.binary) {
                this.binaryMessages++;
                this.opts.log.debug(`journal: entry with a non-UTF-8 MESSAGE (${this.binaryMessages} so far)`);
            }
            lines.push(e.line);
            times.push(e.time);
            last = { cursor: e.cursor, time: e.time };
        }
        if (lines.length) {
            this.linesRead += lines.length;
            this.opts.onLines(lines, this.key, times);
        }
        // Only now: the entries up to `last` have been through the jails.
        if (last) {
            this.pos = last;
            this.cursorFailed = false;
            this.problem = undefined;
        }
    }

    private exited(why: string): void {
        if (this.stopped) return;
        if (Date.now() - this.startedAt >= HEALTHY_MS) this.pause = this.opts.backoff ?? 1000;
        this.restarts++;
        this.problem = why;
        const log = this.opts.log.error ?? this.opts.log.warn;
        log.call(this.opts.log, `journal (${this.describe()}): ${why}; starting it again in ${this.pause} ms`);
        this.timer = setTimeout(() => {
            this.timer = undefined;
            this.spawn();
        }, this.pause);
        this.timer.unref?.();
        this.pause = Math.min(this.pause * 2, this.opts.maxBackoff ?? 60_000);
    }

    private describe(): string {
        const s = this.opts.spec;
        const where = s.directory ? `directory ${s.directory}` : s.files ? `files ${s.files.join(" ")}` : "system";
        const m = s.matches.map(g => g.join(" ")).join(" + ");
        return `${where}${m ? `, matching ${m}` : ", every entry"}`;
    }
}
