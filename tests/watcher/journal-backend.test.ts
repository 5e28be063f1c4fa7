// Issue 14, point 2: `backend = systemd` reads the journal. Real journal files (written by systemd-journal-remote
// from export format) are followed through journalctl with `journalfiles`; the same file is given to the real
// fail2ban-server (systemd backend through python3-systemd) to compare ban decisions. Before, `backend = systemd`
// was refused by -t and the server.

import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runCheck } from "../../watcher/src/cli/check";
import { runDump } from "../../watcher/src/cli/dump";
import { JournalFollower } from "../../watcher/src/follow/journal";
import { handleControl } from "../../watcher/src/server/commands";
import { JailwatchServer } from "../../watcher/src/server/daemon";
import type { Logger } from "../../watcher/src/server/log";
import { ServerOptions } from "../../watcher/src/server/options";
import { fail2banBanned, withFail2ban } from "./fail2ban-server";
import { appendJournal, entry } from "./journal-support";

async function until(what: string, fn: () => boolean, tries = 2000): Promise<void> {
    for (let i = 0; i < tries; i++) {
        if (fn()) return;
        await new Promise(r => setTimeout(r, 10));
    }
    throw new Error(`timed out waiting for ${what}`);
}

const fails = (ip: string, n: number, unit = "app.service", ago = 0) =>
    Array.from({ length: n }, () => entry(unit, `fail from ${ip}`, ago));

describe("backend = systemd: the journal through journalctl", function () {
    this.timeout(180_000);
    let dir: string;
    let journal: string;
    let server: JailwatchServer | undefined;
    let logged: string[];
    const logger: Logger = {
        error: m => logged.push(`E ${m}`),
        warn: m => logged.push(`W ${m}`),
        info: m => logged.push(`I ${m}`),
        debug: () => undefined,
    };

    function writeConfig(extra = ""): void {
        fs.mkdirSync(path.join(dir, "conf/filter.d"), { recursive: true });
        // The journal line is `HOST IDENT[PID]: MESSAGE`, as fail2ban's systemd backend builds it.
        fs.writeFileSync(
            path.join(dir, "conf/filter.d/app.conf"),
            "[Definition]\nfailregex = ^\\S+ app\\[\\d+\\]: fail from <HOST>$\n" +
                "[Init]\njournalmatch = _SYSTEMD_UNIT=app.service + _COMM=app\n",
        );
        fs.writeFileSync(
            path.join(dir, "conf/jail.conf"),
            `[app]\nenabled = true\nfilter = app\nbackend = systemd[journalfiles=${journal}]\n` +
                `maxretry = 3\nfindtime = 600\nbantime = 600\nbanaction = dummy\naction = dummy\nignoreself = false\n${extra}`,
        );
    }

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-journal-"));
        journal = path.join(dir, "j/test.journal");
        fs.mkdirSync(path.dirname(journal));
        logged = [];
        writeConfig();
    });
    afterEach(async () => {
        await server?.stop();
        server = undefined;
        fs.rmSync(dir, { recursive: true, force: true });
    });

    async function start(): Promise<JailwatchServer> {
        const opts: ServerOptions = {
            configDir: path.join(dir, "conf"),
            socket: path.join(dir, "s"),
            stateDir: path.join(dir, "state"),
            foreground: true,
            loglevel: "error",
            polling: true,
            peers: { peers: [], port: 0, listen: "127.0.0.1" },
        };
        server = new JailwatchServer(opts, logger);
        await server.start();
        return server;
    }
    const banned = (s: JailwatchServer, ip: string) => s.jails.get("app")!.jail.bans.isBanned(ip, s.now());
    const reader = (s: JailwatchServer) => [...s.sources().values()][0] as JournalFollower;
    /** The jail's journal reader once journalctl has started and caught up with what is in the file. */
    async function caughtUp(s: JailwatchServer, lines: number): Promise<void> {
        await until(`${lines} journal entries read`, () => s.linesRead() >= lines);
    }

    it("bans from journal entries that journalmatch selects, and only from those", async () => {
        appendJournal(journal, [entry("other.service", "boot")]);
        const s = await start();
        assert.ok(reader(s) instanceof JournalFollower, "a systemd jail is read by the journal follower");
        await until("journalctl running", () => reader(s).pid !== undefined);
        appendJournal(journal, [
            ...fails("192.0.2.1", 3),
            // Same text from a unit the journalmatch does not select: never seen by the filter.
            ...fails("192.0.2.2", 3, "other.service"),
            // _COMM=app (the `+` alternative) without the unit.
            ...Array.from({ length: 3 }, () => ({
                fields: { _HOSTNAME: "lab1", _COMM: "app", _PID: "7", MESSAGE: "fail from 192.0.2.3" },
            })),
        ]);
        await until("the ban of 192.0.2.1", () => banned(s, "192.0.2.1"));
        await until("the ban of 192.0.2.3", () => banned(s, "192.0.2.3"));
        assert.ok(!banned(s, "192.0.2.2"), "an entry of another unit was matched");
        assert.equal(s.linesRead(), 6, "journalmatch let other entries through");
        assert.ok(logged.some(l => /Ban 192\.0\.2\.1/.test(l)));
    });

    it("a restart resumes after the saved cursor: entries written while stopped are read, none twice", async () => {
        appendJournal(journal, fails("198.51.100.1", 2));
        // Entries within findtime at first start are read (2); their cursor is saved on stop.
        const s1 = await start();
        await caughtUp(s1, 2);
        await s1.stop();
        server = undefined;
        const saved = JSON.parse(fs.readFileSync(path.join(dir, "state/positions.json"), "utf8"));
        const pos = Object.values(saved.positions)[0] as { cursor: string; time: number };
        assert.match(pos.cursor, /^s=[0-9a-f]+;i=2;/, "the cursor of the second entry is saved");
        appendJournal(journal, fails("198.51.100.2", 3));
        const s2 = await start();
        await until("the ban from entries written while stopped", () => banned(s2, "198.51.100.2"));
        await new Promise(r => setTimeout(r, 500));
        assert.equal(s2.linesRead(), 3, "entries before the saved cursor were read again, or some were lost");
        assert.ok(!banned(s2, "198.51.100.1"));
    });

    it("the saved cursor never passes an entry whose ban is not durable (bans.json cannot be written)", async () => {
        appendJournal(journal, [entry("app.service", "hello")]);
        const s1 = await start();
        await caughtUp(s1, 1);
        await s1.stop();
        const positions = path.join(dir, "state/positions.json");
        const before = fs.readFileSync(positions, "utf8");
        const s2 = await start();
        await until("journalctl running", () => reader(s2).pid !== undefined);
        // The ban cannot reach the disk: a directory where bans.json goes makes every save fail.
        fs.rmSync(path.join(dir, "state/bans.json"), { force: true });
        fs.mkdirSync(path.join(dir, "state/bans.json"));
        appendJournal(journal, fails("192.0.2.66", 3));
        await until("the ban in memory", () => banned(s2, "192.0.2.66"));
        (s2 as unknown as { savePositionsNow(): void }).savePositionsNow();
        assert.equal(fs.readFileSync(positions, "utf8"), before, "the cursor moved past a ban that is on no disk");
        await s2.stop();
        assert.equal(fs.readFileSync(positions, "utf8"), before, "stop saved a cursor past a ban that is on no disk");
        server = undefined;
        fs.rmdirSync(path.join(dir, "state/bans.json"));
        // As after a crash: the entries are read again and the ban is decided again.
        const s3 = await start();
        await until("the ban decided again", () => banned(s3, "192.0.2.66"));
        assert.equal(s3.linesRead(), 3);
    });

    it("journalctl killed: started again from the last cursor and reported; nothing lost, nothing repeated", async () => {
        appendJournal(journal, fails("203.0.113.1", 2));
        const s = await start();
        await caughtUp(s, 2);
        const first = reader(s).pid!;
        process.kill(first, "SIGKILL");
        await until("journalctl started again", () => reader(s).pid !== undefined && reader(s).pid !== first);
        assert.equal(reader(s).restarts, 1);
        assert.ok(
            logged.some(l => /^E journal .*journalctl exited \(SIGKILL\).*starting it again/.test(l)),
            logged.join("\n"),
        );
        appendJournal(journal, fails("203.0.113.1", 1));
        await until("the third failure", () => banned(s, "203.0.113.1"));
        await new Promise(r => setTimeout(r, 500));
        assert.equal(s.linesRead(), 3, "entries were read twice or lost across the journalctl restart");
    });

    it("a journalctl whose --follow stays silent (inotify never fires) is replaced from the cursor: no entry lost or doubled", async () => {
        // journalctl as it behaved in a sandboxed unit on an overlay root: it prints what is there, then never again.
        const silent = path.join(dir, "silent-journalctl");
        fs.writeFileSync(
            silent,
            '#!/bin/sh\nfor a in "$@"; do shift; [ "$a" = --follow ] || set -- "$@" "$a"; done\njournalctl "$@"\nexec sleep 600\n',
            { mode: 0o755 },
        );
        const got: string[] = [];
        const f = new JournalFollower({
            key: "j",
            spec: { files: [journal], matches: [["_SYSTEMD_UNIT=app.service"]] },
            journalctl: silent,
            refresh: 300,
            onLines: lines => got.push(...lines),
            log: logger,
            firstStart: { since: Date.now() / 1000 - 600, dateOf: () => undefined },
        });
        appendJournal(journal, [entry("app.service", "one")]);
        f.start();
        try {
            await until("the first entry", () => got.length === 1);
            appendJournal(journal, [entry("app.service", "two"), entry("app.service", "three")]);
            await until("the entries written after start", () => got.length >= 3);
            await new Promise(r => setTimeout(r, 1000));
            assert.deepEqual(got, ["lab1 app[1234]: one", "lab1 app[1234]: two", "lab1 app[1234]: three"]);
            assert.ok(f.refreshes >= 1);
            assert.equal(f.restarts, 0, "a refresh is no failure");
            assert.ok(!logged.some(l => l.startsWith("E ")), logged.join("\n"));
        } finally {
            f.stop();
        }
    });

    it("first start reads the entries within findtime, not older ones", async () => {
        appendJournal(journal, [
            ...fails("192.0.2.50", 3, "app.service", 7200),
            ...fails("192.0.2.51", 3, "app.service", 60),
        ]);
        const s = await start();
        await until("the ban from recent entries", () => banned(s, "192.0.2.51"));
        await new Promise(r => setTimeout(r, 300));
        assert.ok(!banned(s, "192.0.2.50"), "entries older than findtime were counted");
        assert.equal(s.linesRead(), 3);
    });

    it("a binary MESSAGE and an oversized entry are counted, never a crash; later entries still ban", async () => {
        const s = await start();
        await until("journalctl running", () => reader(s).pid !== undefined);
        appendJournal(journal, [
            entry("app.service", Buffer.from([0x66, 0x61, 0xff, 0xfe, 0x00, 0x0a, 0x69, 0x6c])),
            entry("app.service", "x".repeat(1_200_000)),
            ...fails("192.0.2.77", 3),
        ]);
        await until("the ban after the garbage", () => banned(s, "192.0.2.77"));
        assert.equal(reader(s).binaryMessages, 1);
        assert.equal(reader(s).linesDropped, 1);
        assert.ok(logged.some(l => /dropped an entry longer than/.test(l)));
    });

    it("-t accepts the systemd backend and refuses what it cannot honour with file, line and key", () => {
        const check = () => {
            const err: string[] = [];
            const code = runCheck(
                path.join(dir, "conf"),
                () => undefined,
                m => err.push(m),
            );
            return { code, err: err.join("\n") };
        };
        assert.equal(check().code, 0, check().err);
        const dumped: string[] = [];
        runDump(
            path.join(dir, "conf"),
            l => dumped.push(l),
            () => undefined,
        );
        assert.ok(
            dumped.some(l => l.startsWith("[app] journalmatch = _SYSTEMD_UNIT=app.service + _COMM=app")),
            dumped.join("\n"),
        );
        const file = path.join(dir, "conf/jail.conf");
        for (const [backend, why] of [
            ["systemd[journalflags=2]", /journalflags 2: flag\(s\) 2/],
            ["systemd[rotated=yes]", /backend option "rotated" is not known/],
            ["inotifyx", /unknown backend "inotifyx"/],
        ] as const) {
            fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/^backend = .*$/m, `backend = ${backend}`));
            const r = check();
            assert.equal(r.code, 1, backend);
            assert.ok(r.err.includes(`${file}:4: backend: `), r.err);
            assert.match(r.err, why);
        }
    });

    it("the real fail2ban-server (systemd backend) bans the same addresses from the same journal file", async function () {
        const py = spawnSync("/usr/bin/python3", ["-c", "import systemd.journal"]);
        assert.equal(py.status, 0, "python3-systemd (scripts/install/packages.txt) is needed for the comparison");
        appendJournal(journal, [
            ...fails("192.0.2.1", 3, "app.service", 7200),
            ...fails("192.0.2.2", 3, "app.service", 60),
            ...fails("192.0.2.3", 3, "other.service", 60),
            ...fails("192.0.2.4", 2, "app.service", 30),
            { ago: 20, fields: { _HOSTNAME: "lab1", _COMM: "app", _PID: "9", MESSAGE: "fail from 192.0.2.5" } },
            { ago: 20, fields: { _HOSTNAME: "lab1", _COMM: "app", _PID: "9", MESSAGE: "fail from 192.0.2.5" } },
            { ago: 20, fields: { _HOSTNAME: "lab1", _COMM: "app", _PID: "9", MESSAGE: "fail from 192.0.2.5" } },
        ]);
        const conf = path.join(dir, "conf");
        let theirStatus = "";
        let theirMatch = "";
        const theirs = await withFail2ban(conf, dir, async client => {
            const list = await fail2banBanned(client, "app", 2);
            theirStatus = client("status", "app").stdout;
            theirMatch = client("get", "app", "journalmatch").stdout;
            return list;
        });
        const s = await start();
        await until("jailwatch's bans", () => banned(s, "192.0.2.2") && banned(s, "192.0.2.5"));
        await new Promise(r => setTimeout(r, 300));
        const ours = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5"].filter(ip => banned(s, ip));
        assert.deepEqual(theirs, ["192.0.2.2", "192.0.2.5"]);
        assert.deepEqual(ours, theirs);
        // `status` shows the journal matches where a file jail shows its files, in fail2ban's words.
        const r = await handleControl(s, ["status", "app"]);
        const matchLine = (t: string) => t.split("\n").find(l => l.includes("Journal matches"));
        assert.ok(r.ok && r.text);
        assert.equal(matchLine(r.text!), matchLine(theirStatus), theirStatus);
        assert.ok(matchLine(theirStatus));
        const get = await handleControl(s, ["get", "app", "journalmatch"]);
        assert.equal(get.ok && get.text, theirMatch.trimEnd());
    });

    it("the stock sshd filter on sshd's journal entries: the same bans as fail2ban (Debian 12's default jail)", async () => {
        fs.cpSync("/etc/fail2ban/filter.d", path.join(dir, "conf/filter.d"), { recursive: true });
        fs.writeFileSync(
            path.join(dir, "conf/jail.conf"),
            `[sshd]\nenabled = true\nfilter = sshd\nbackend = systemd[journalfiles=${journal}]\nmaxretry = 3\nfindtime = 600\n` +
                "bantime = 600\nbanaction = dummy\naction = dummy\nignoreself = false\n",
        );
        const ssh = (msg: string, pid: number, ago: number) => ({
            ago,
            fields: {
                _HOSTNAME: "node1",
                _SYSTEMD_UNIT: "ssh.service",
                _COMM: "sshd",
                SYSLOG_IDENTIFIER: "sshd",
                _PID: String(pid),
                MESSAGE: msg,
            },
        });
        const entries = [];
        for (let i = 0; i < 3; i++) {
            entries.push(ssh(`Failed password for root from 192.0.2.10 port ${40000 + i} ssh2`, 100 + i, 50 - i));
            entries.push(ssh(`Invalid user admin${i} from 192.0.2.11 port ${41000 + i}`, 200 + i, 40 - i));
            entries.push(ssh(`Accepted publickey for deploy from 192.0.2.12 port ${42000 + i} ssh2`, 300 + i, 30 - i));
        }
        // The same failure text from a process that is not sshd: outside the journalmatch.
        for (let i = 0; i < 3; i++)
            entries.push({
                ago: 20,
                fields: {
                    _HOSTNAME: "node1",
                    _COMM: "evil",
                    SYSLOG_IDENTIFIER: "sshd",
                    _PID: "9",
                    MESSAGE: "Failed password for root from 192.0.2.13 port 1 ssh2",
                },
            });
        appendJournal(journal, entries);
        const theirs = await withFail2ban(path.join(dir, "conf"), dir, client => fail2banBanned(client, "sshd", 2));
        const s = await start();
        const jailBanned = (ip: string) => s.jails.get("sshd")!.jail.bans.isBanned(ip, s.now());
        await until("jailwatch's bans", () => jailBanned("192.0.2.10") && jailBanned("192.0.2.11"));
        await new Promise(r => setTimeout(r, 300));
        const ours = ["192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.13"].filter(jailBanned);
        assert.deepEqual(theirs, ["192.0.2.10", "192.0.2.11"], fs.readFileSync(path.join(dir, "f2b.log"), "utf8"));
        assert.deepEqual(ours, theirs);
    });
});
