// Follows one log file: inotify (fs.watch on the directory, so renames and re-creations are seen) with a polling
// fallback, rotation by rename+create and by copytruncate, and a log that does not exist yet. Lines are handed over
// in large batches; the position after the last complete line is what gets persisted.

import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { LineSplitter, MAX_LINE_BYTES } from "./lines";
import { decideStart, decideStep, FileIdentity, FilePosition } from "./rotation";
import { DateOf, seekSince } from "./startup";
import type { LineSource } from "./source";

export interface FollowerLog {
    info(msg: string): void;
    warn(msg: string): void;
    debug(msg: string): void;
}

export interface FollowerOptions {
    path: string;
    /** Position saved by an earlier run, if any. */
    start?: FilePosition;
    /** Receives complete lines in log order; called synchronously, possibly with many thousands of lines at once. */
    onLines(lines: string[], file: string): void;
    log: FollowerLog;
    /** Use inotify (default true); false forces polling. */
    watch?: boolean;
    /** Poll interval in ms when inotify is unavailable (default 1000); with inotify a slow safety poll still runs. */
    pollInterval?: number;
    /** Read buffer size (default 4 MiB). */
    chunkSize?: number;
    /** How long a rotated-away file keeps being drained for late writers, ms (default 10 s). */
    retireGrace?: number;
    /**
     * A log with no saved position: read its lines dated `since` (epoch s) or later, as fail2ban reads what is
     * within findtime; without this option such a log starts at its end.
     */
    firstStart?: { since: number; dateOf: DateOf };
}

const HEAD_BYTES = 256;
/** Bytes read per turn of the event loop when catching up on a backlog. */
const READ_SLICE = 32 * 1024 * 1024;

interface OpenFile {
    fd: number;
    dev: number;
    ino: number;
    offset: number;
    splitter: LineSplitter;
    head?: string;
    headLen?: number;
}

interface Retired extends OpenFile {
    until: number;
}

function statPath(p: string): FileIdentity | undefined {
    try {
        const st = fs.statSync(p);
        return st.isFile() ? { dev: st.dev, ino: st.ino, size: st.size } : undefined;
    } catch {
        return undefined;
    }
}

function headHash(fd: number, len: number): string | undefined {
    if (len <= 0) return undefined;
    const buf = Buffer.alloc(len);
    const n = fs.readSync(fd, buf, 0, len, 0);
    if (n < len) return undefined;
    return crypto.createHash("sha1").update(buf).digest("hex");
}

export class LogFollower implements LineSource {
    readonly path: string;
    private readonly opts: FollowerOptions;
    private file: OpenFile | undefined;
    private retired: Retired[] = [];
    private watcher: fs.FSWatcher | undefined;
    private timer: NodeJS.Timeout | undefined;
    private scheduled = false;
    private stopped = true;
    private readonly buf: Buffer;
    /** Lines handed over since start, for status and benchmarks. */
    linesRead = 0;
    /** Over-long lines skipped since start (counted, never handed to the filter). */
    linesDropped = 0;
    private missingLogged = false;

    constructor(opts: FollowerOptions) {
        this.opts = opts;
        this.path = opts.path;
        this.buf = Buffer.allocUnsafe(opts.chunkSize ?? 4 * 1024 * 1024);
    }

    /** Opens the log (if it exists) at the right place, reads any backlog, and starts watching. */
    start(): void {
        this.stopped = false;
        this.openInitial();
        this.readAll();
        this.startWatching();
    }

    stop(): void {
        this.stopped = true;
        this.watcher?.close();
        this.watcher = undefined;
        if (this.timer) clearInterval(this.timer);
        this.timer = undefined;
        for (const r of this.retired) fs.closeSync(r.fd);
        this.retired = [];
        if (this.file) fs.closeSync(this.file.fd);
        this.file = undefined;
    }

    get key(): string {
        return this.path;
    }

    /** Bytes of the log not read yet (metrics). */
    lagBytes(): number | undefined {
        const pos = this.position();
        let size: number;
        try {
            size = fs.statSync(this.path).size;
        } catch {
            return undefined;
        }
        return pos ? Math.max(0, size - pos.offset) : undefined;
    }

    /** The position to persist, or the remembered one while the log does not exist. */
    position(): FilePosition | undefined {
        const f = this.file;
        if (!f) return this.opts.start;
        return { dev: f.dev, ino: f.ino, offset: f.offset, head: f.head, headLen: f.headLen };
    }

    /** Reads whatever is new right now (also what the watchers call). */
    check(): void {
        if (this.stopped) return;
        this.scheduled = false;
        this.drainRetired();
        const now = statPath(this.path);
        if (!this.file) {
            if (!now) return;
            // A log that appears after we started (or after a rotation left nothing behind) is new: read it whole.
            this.open(now, 0);
            this.opts.log.info(`following ${this.path} (created)`);
            this.readAll();
            return;
        }
        const f = this.file;
        const size = fs.fstatSync(f.fd).size;
        const step = decideStep({ dev: f.dev, ino: f.ino, offset: f.offset, size }, now);
        switch (step.kind) {
            case "read":
                // A big backlog is read in slices so the control socket and other logs get their turn.
                if (size > f.offset && !this.readFrom(f, this.path, READ_SLICE)) this.schedule();
                return;
            case "truncated":
                this.opts.log.info(`${this.path} was truncated (copytruncate); reading from its start`);
                // Whatever was appended between our last read and the truncation is gone; nothing to recover.
                f.offset = 0;
                f.splitter.reset();
                this.computeHead(f);
                this.readAll();
                return;
            case "vanished":
                // Renamed away and not yet re-created: the writer may still append to the old file.
                this.readAll();
                return;
            case "replaced": {
                this.readAll();
                this.retired.push({ ...f, until: Date.now() + (this.opts.retireGrace ?? 10_000) });
                this.file = undefined;
                this.opts.log.info(`${this.path} was rotated; following the new file from its start`);
                this.open(now!, 0);
                this.readAll();
                return;
            }
        }
    }

    private openInitial(): void {
        const now = statPath(this.path);
        if (!now) {
            if (!this.missingLogged) this.opts.log.warn(`${this.path} does not exist yet; waiting for it`);
            this.missingLogged = true;
            return;
        }
        const saved = this.opts.start;
        const fd = this.tryOpen();
        if (fd === undefined) return;
        const st = fs.fstatSync(fd);
        const ident = { dev: st.dev, ino: st.ino, size: st.size };
        const headNow = saved?.headLen ? headHash(fd, saved.headLen) : undefined;
        let d = decideStart(saved, ident, headNow);
        const first = this.opts.firstStart;
        if (d.kind === "from-end" && first) {
            const offset = seekSince(fd, ident.size, first.since, first.dateOf);
            d = {
                kind: "from-end",
                offset,
                reason:
                    offset < ident.size
                        ? `new log, reading its lines since ${new Date(first.since * 1000).toISOString()} (findtime)`
                        : "new log, nothing within findtime",
            };
        }
        if (d.kind === "from-start" && saved && (saved.dev !== ident.dev || saved.ino !== ident.ino)) {
            this.recoverRotatedTail(saved);
        }
        this.file = { fd, dev: st.dev, ino: st.ino, offset: d.offset, splitter: new LineSplitter() };
        this.computeHead(this.file);
        if (d.kind === "resume" && saved?.head) {
            this.file.head = saved.head;
            this.file.headLen = saved.headLen;
        }
        this.opts.log.info(`following ${this.path} at offset ${d.offset}: ${d.reason}`);
    }

    /** After a rotation while we were stopped, finish the old file if it sits next to the log under a usual name. */
    private recoverRotatedTail(saved: FilePosition): void {
        for (const cand of [`${this.path}.1`, `${this.path}-old`, `${this.path}.0`]) {
            const id = statPath(cand);
            if (!id || id.dev !== saved.dev || id.ino !== saved.ino || id.size <= saved.offset) continue;
            const fd = fs.openSync(cand, "r");
            const old: OpenFile = { fd, dev: id.dev, ino: id.ino, offset: saved.offset, splitter: new LineSplitter() };
            this.opts.log.info(`reading the rest of rotated ${cand} from offset ${saved.offset}`);
            this.readFrom(old, cand);
            fs.closeSync(fd);
            return;
        }
    }

    /** Opens the log for reading; a failure is logged and the next poll tries again. */
    private tryOpen(): number | undefined {
        try {
            return fs.openSync(this.path, "r");
        } catch (e) {
            this.opts.log.warn(`cannot open ${this.path}: ${(e as Error).message}`);
            return undefined;
        }
    }

    private open(id: FileIdentity, offset: number): void {
        const fd = this.tryOpen();
        if (fd === undefined) return;
        const st = fs.fstatSync(fd);
        this.file = {
            fd,
            dev: st.dev,
            ino: st.ino,
            offset: st.ino === id.ino ? offset : 0,
            splitter: new LineSplitter(),
        };
        this.computeHead(this.file);
    }

    private computeHead(f: OpenFile): void {
        const size = fs.fstatSync(f.fd).size;
        const len = Math.min(HEAD_BYTES, size);
        f.headLen = len > 0 ? len : undefined;
        f.head = len > 0 ? headHash(f.fd, len) : undefined;
    }

    private readAll(): void {
        const f = this.file;
        if (!f) return;
        this.readFrom(f, this.path);
        if (f.head === undefined && f.offset > 0) this.computeHead(f);
    }

    /** Reads up to `budget` bytes (all by default); true when the end of the file was reached. */
    private readFrom(f: OpenFile, name: string, budget = Infinity): boolean {
        const buf = this.buf;
        let done = 0;
        for (;;) {
            const n = fs.readSync(f.fd, buf, 0, buf.length, f.offset + f.splitter.pending);
            if (n <= 0) return true;
            const dropped = f.splitter.dropped;
            const { lines, consumed } = f.splitter.push(buf.subarray(0, n));
            f.offset += consumed;
            if (f.splitter.dropped > dropped) {
                this.linesDropped += f.splitter.dropped - dropped;
                this.opts.log.warn(
                    `${name}: dropped a line longer than ${MAX_LINE_BYTES} bytes near offset ${f.offset} (${this.linesDropped} so far)`,
                );
            }
            if (lines.length > 0) {
                this.linesRead += lines.length;
                this.opts.onLines(lines, name);
            }
            if (n < buf.length) return true;
            done += n;
            if (done >= budget) return false;
        }
    }

    private drainRetired(): void {
        if (this.retired.length === 0) return;
        const now = Date.now();
        this.retired = this.retired.filter(r => {
            this.readFrom(r, this.path);
            if (r.until > now) return true;
            fs.closeSync(r.fd);
            return false;
        });
    }

    private schedule = (): void => {
        if (this.scheduled || this.stopped) return;
        this.scheduled = true;
        setImmediate(() => this.check());
    };

    private startWatching(): void {
        const base = path.basename(this.path);
        const useWatch = this.opts.watch !== false;
        const tryWatch = (): boolean => {
            if (!useWatch || this.watcher) return !!this.watcher;
            try {
                this.watcher = fs.watch(path.dirname(this.path), { persistent: true }, (_ev, name) => {
                    // Any change in the directory may matter (the rotated-away file keeps its old writer).
                    if (!name || name === base || name.toString().startsWith(base) || this.retired.length > 0)
                        this.schedule();
                });
                this.watcher.on("error", e => {
                    this.opts.log.warn(`inotify on ${path.dirname(this.path)} failed (${e.message}); polling instead`);
                    this.watcher?.close();
                    this.watcher = undefined;
                });
                return true;
            } catch (e) {
                this.opts.log.debug(`inotify unavailable for ${this.path} (${(e as Error).message}); polling`);
                return false;
            }
        };
        tryWatch();
        const poll = this.opts.pollInterval ?? 1000;
        // With inotify a slow poll is a safety net (events can be lost, directories re-created); without it, the poll
        // is the only trigger.
        this.timer = setInterval(
            () => {
                if (!this.watcher) tryWatch();
                this.check();
            },
            this.watcher ? Math.max(poll, 2000) : poll,
        );
        this.timer.unref?.();
    }
}
