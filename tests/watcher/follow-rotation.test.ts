import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LogFollower } from "../../watcher/src/follow/follower";
import { expandGlob } from "../../watcher/src/follow/glob";
import { LineSplitter } from "../../watcher/src/follow/lines";
import { decideStart, decideStep, FilePosition } from "../../watcher/src/follow/rotation";

const quiet = { info: () => undefined, warn: () => undefined, debug: () => undefined };

describe("follow: line splitting", () => {
    it("holds back a partial line and counts only complete lines as consumed", () => {
        const s = new LineSplitter();
        let r = s.push(Buffer.from("one\ntw"));
        assert.deepStrictEqual(r, { lines: ["one"], consumed: 4 });
        assert.strictEqual(s.pending, 2);
        r = s.push(Buffer.from("o\r\nthree"));
        assert.deepStrictEqual(r, { lines: ["two"], consumed: 5 });
        r = s.push(Buffer.from("\n"));
        assert.deepStrictEqual(r, { lines: ["three"], consumed: 6 });
        assert.strictEqual(s.pending, 0);
    });

    it("never splits a multi-byte character across chunks", () => {
        const s = new LineSplitter();
        const bytes = Buffer.from("é€\n");
        const a = s.push(bytes.subarray(0, 3));
        const b = s.push(bytes.subarray(3));
        assert.deepStrictEqual(a.lines, []);
        assert.deepStrictEqual(b.lines, ["é€"]);
        assert.strictEqual(a.consumed + b.consumed, bytes.length);
    });
});

describe("follow: start and rotation decisions", () => {
    const pos: FilePosition = { dev: 1, ino: 10, offset: 100, head: "h", headLen: 50 };

    it("reads a log never seen before from its end, as fail2ban does", () => {
        assert.deepStrictEqual(decideStart(undefined, { dev: 1, ino: 10, size: 5000 }).offset, 5000);
    });
    it("resumes at the saved offset of the same file", () => {
        const d = decideStart(pos, { dev: 1, ino: 10, size: 500 }, "h");
        assert.strictEqual(d.kind, "resume");
        assert.strictEqual(d.offset, 100);
    });
    it("reads a file rotated while stopped from its start", () => {
        assert.strictEqual(decideStart(pos, { dev: 1, ino: 11, size: 500 }, "h").kind, "from-start");
    });
    it("notices truncation while stopped, by size and by a changed head", () => {
        assert.strictEqual(decideStart(pos, { dev: 1, ino: 10, size: 50 }, "h").kind, "from-start");
        assert.strictEqual(decideStart(pos, { dev: 1, ino: 10, size: 500 }, "other").kind, "from-start");
    });
    it("tells apart append, copytruncate, rename+create and a vanished path", () => {
        const open = { dev: 1, ino: 10, offset: 100, size: 200 };
        assert.strictEqual(decideStep(open, { dev: 1, ino: 10, size: 200 }).kind, "read");
        assert.strictEqual(decideStep({ ...open, size: 10 }, { dev: 1, ino: 10, size: 10 }).kind, "truncated");
        assert.strictEqual(decideStep(open, { dev: 1, ino: 12, size: 0 }).kind, "replaced");
        assert.strictEqual(decideStep(open, undefined).kind, "vanished");
    });
});

describe("follow: a real log file", () => {
    let dir: string;
    let log: string;
    let got: string[];
    const followers: LogFollower[] = [];
    const follow = (start?: FilePosition) => {
        const f = new LogFollower({
            path: log,
            start,
            onLines: l => got.push(...l),
            log: quiet,
            watch: false,
            pollInterval: 60_000,
        });
        followers.push(f);
        f.start();
        return f;
    };

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-follow-"));
        log = path.join(dir, "access.log");
        got = [];
    });
    afterEach(() => {
        for (const f of followers.splice(0)) f.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("skips what an unknown log already holds and reads what is appended", () => {
        fs.writeFileSync(log, "old 1\nold 2\n");
        const f = follow();
        fs.appendFileSync(log, "new 1\nnew 2\n");
        f.check();
        assert.deepStrictEqual(got, ["new 1", "new 2"]);
    });

    it("waits for a log that does not exist yet and then reads it whole", () => {
        const f = follow();
        f.check();
        assert.deepStrictEqual(got, []);
        fs.writeFileSync(log, "first\nsecond\n");
        f.check();
        assert.deepStrictEqual(got, ["first", "second"]);
    });

    it("survives rename+create: drains the old file, then reads the new one from its start", () => {
        fs.writeFileSync(log, "");
        const f = follow();
        fs.appendFileSync(log, "a\n");
        f.check();
        fs.appendFileSync(log, "b\n"); // written just before rotation, not yet read
        fs.renameSync(log, `${log}.1`);
        fs.appendFileSync(`${log}.1`, "c\n"); // the writer keeps its old descriptor for a moment
        f.check();
        fs.writeFileSync(log, "d\n");
        f.check();
        fs.appendFileSync(`${log}.1`, "late\n"); // still drained during the grace period
        fs.appendFileSync(log, "e\n");
        f.check();
        assert.deepStrictEqual(got, ["a", "b", "c", "d", "late", "e"]);
    });

    it("survives copytruncate", () => {
        fs.writeFileSync(log, "");
        const f = follow();
        fs.appendFileSync(log, "one\ntwo\n");
        f.check();
        fs.truncateSync(log, 0);
        fs.appendFileSync(log, "three\n");
        f.check();
        assert.deepStrictEqual(got, ["one", "two", "three"]);
    });

    it("after a restart neither misses nor re-reads a line, including a half-written one", () => {
        fs.writeFileSync(log, "");
        const f1 = follow();
        fs.appendFileSync(log, "one\ntwo\nhal");
        f1.check();
        const saved = f1.position()!;
        f1.stop();
        fs.appendFileSync(log, "f\nthree\n");
        assert.deepStrictEqual(got, ["one", "two"]);
        follow(saved);
        assert.deepStrictEqual(got, ["one", "two", "half", "three"]);
    });

    it("after a restart reads the tail of a file rotated meanwhile, then the new file", () => {
        fs.writeFileSync(log, "");
        const f1 = follow();
        fs.appendFileSync(log, "one\n");
        f1.check();
        const saved = f1.position()!;
        f1.stop();
        fs.appendFileSync(log, "two\n");
        fs.renameSync(log, `${log}.1`);
        fs.writeFileSync(log, "three\n");
        follow(saved);
        assert.deepStrictEqual(got, ["one", "two", "three"]);
    });

    it("is woken by inotify without polling", async () => {
        fs.writeFileSync(log, "");
        const f = new LogFollower({ path: log, onLines: l => got.push(...l), log: quiet, pollInterval: 60_000 });
        followers.push(f);
        f.start();
        fs.appendFileSync(log, "x\n");
        for (let i = 0; i < 200 && got.length === 0; i++) await new Promise(r => setTimeout(r, 10));
        assert.deepStrictEqual(got, ["x"]);
    });

    it("expands logpath globs and keeps plain paths that do not exist yet", () => {
        fs.writeFileSync(path.join(dir, "a.log"), "");
        fs.writeFileSync(path.join(dir, "b.log"), "");
        fs.writeFileSync(path.join(dir, "c.txt"), "");
        assert.deepStrictEqual(expandGlob(path.join(dir, "*.log")), [path.join(dir, "a.log"), path.join(dir, "b.log")]);
        assert.deepStrictEqual(expandGlob(path.join(dir, "missing.log")), [path.join(dir, "missing.log")]);
    });
});
