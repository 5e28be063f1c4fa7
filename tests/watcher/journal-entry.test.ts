// The journal backend's pure parts: an entry into the filter's line (checked against fail2ban's own
// FilterSystemd.formatJournalEntry on the same real journal file), journalmatch and the systemd[...] options into
// journalctl arguments, and the refusals of what journalctl cannot express.

import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseJournalLine } from "../../watcher/src/follow/journal-entry";
import { journalctlArgs, journalKey, journalSpec, parseJournalMatch } from "../../watcher/src/follow/journal-spec";
import { decodePositions, encodePositions } from "../../watcher/src/state/store";
import { appendJournal, TestEntry } from "./journal-support";

// fail2ban's formatting, run by fail2ban itself on every entry of the file (python3-systemd reads it).
const FAIL2BAN_FORMAT = `
import sys, json
from systemd import journal
from fail2ban.server.filtersystemd import FilterSystemd
class Jail:
    jailName = "t"
    def getLogEncoding(self): return "UTF-8"
    def getJrnEntTime(self, e): return FilterSystemd.getJrnEntTime(self, e)
for e in journal.Reader(files=[sys.argv[1]], converters={"__CURSOR": lambda x: x}):
    (_, _, line), t = FilterSystemd.formatJournalEntry(Jail(), e)
    print(json.dumps({"cursor": e["__CURSOR"], "line": line, "time": t}))
`;

describe("journal entries as fail2ban's systemd backend formats them", function () {
    this.timeout(60_000);
    let dir: string;
    before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-jentry-"))));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("gives the same line and time as fail2ban for every kind of entry", () => {
        const file = path.join(dir, "f.journal");
        const e = (fields: Record<string, string | Buffer>, ago = 5): TestEntry => ({ ago, fields });
        const entries: TestEntry[] = [
            e({ _HOSTNAME: "h1", SYSLOG_IDENTIFIER: "sshd", _PID: "42", MESSAGE: "Failed password for root" }),
            e({ _HOSTNAME: "h1", SYSLOG_IDENTIFIER: "sshd", SYSLOG_PID: "0x1f", _PID: "9", MESSAGE: "hex pid" }),
            e({ _HOSTNAME: "h1", _COMM: "app", _PID: "0123", MESSAGE: "leading zero" }),
            e({ SYSLOG_IDENTIFIER: "noname", MESSAGE: "no host, no pid" }),
            e({ _HOSTNAME: "h1", MESSAGE: "no identifier at all" }),
            e({
                _HOSTNAME: "h1",
                SYSLOG_IDENTIFIER: "kernel",
                _SOURCE_MONOTONIC_TIMESTAMP: "123456789",
                MESSAGE: "IN=eth0 SRC=192.0.2.1",
            }),
            e({ _HOSTNAME: "h1", SYSLOG_IDENTIFIER: "app", MESSAGE: "two\nlines" }),
            e({
                _HOSTNAME: "h1",
                SYSLOG_IDENTIFIER: "app",
                MESSAGE: Buffer.from([0x62, 0xff, 0x61, 0xc3, 0x28, 0x64]),
            }),
            e({ _HOSTNAME: "h1", SYSLOG_IDENTIFIER: "app", MESSAGE: "Grüße, ☃" }),
            e({
                _HOSTNAME: "h1",
                SYSLOG_IDENTIFIER: "app",
                _SOURCE_REALTIME_TIMESTAMP: "1700000000123456",
                MESSAGE: "source time",
            }),
            e({ _HOSTNAME: "h1", SYSLOG_IDENTIFIER: "app" }),
        ];
        appendJournal(file, entries);
        const py = spawnSync("/usr/bin/python3", ["-c", FAIL2BAN_FORMAT, file], { encoding: "utf8" });
        assert.equal(py.status, 0, py.stderr);
        const theirs = py.stdout
            .trim()
            .split("\n")
            .map(l => JSON.parse(l) as { cursor: string; line: string; time: number });
        const jc = spawnSync("journalctl", [`--file=${file}`, "--output=json", "--all", "--no-pager"], {
            encoding: "utf8",
        });
        assert.equal(jc.status, 0, jc.stderr);
        const ours = jc.stdout.trim().split("\n").map(parseJournalLine);
        assert.equal(ours.length, entries.length);
        assert.equal(theirs.length, entries.length);
        ours.forEach((o, i) => {
            assert.equal(o.kind, "entry", JSON.stringify(o));
            if (o.kind !== "entry") return;
            assert.equal(o.cursor, theirs[i].cursor);
            assert.equal(o.line, theirs[i].line, `entry ${i}`);
            assert.ok(Math.abs(o.time - theirs[i].time) < 1e-5, `entry ${i}: ${o.time} != ${theirs[i].time}`);
            assert.equal(o.binary, i === 7, `entry ${i}: binary`);
        });
        assert.equal((ours[9] as { time: number }).time, 1700000000.123456, "_SOURCE_REALTIME_TIMESTAMP wins");
    });

    it("counts what is not an entry instead of throwing", () => {
        for (const [json, reason] of [
            ["{not json", "not JSON"],
            ["[1,2]", "not an object"],
            ['{"MESSAGE":"x"}', "no __CURSOR"],
            ['{"__CURSOR":"s=1","MESSAGE":"x","__REALTIME_TIMESTAMP":"soon"}', "no realtime timestamp"],
        ]) {
            const r = parseJournalLine(json);
            assert.equal(r.kind, "garbage", json);
            assert.equal(r.kind === "garbage" && r.reason, reason);
        }
        const rep = parseJournalLine('{"__CURSOR":"c","__REALTIME_TIMESTAMP":"1000000","MESSAGE":["a",[98],"c"]}');
        assert.deepEqual(rep.kind === "entry" && [rep.line, rep.time], ["a b c", 1], "a repeated MESSAGE is joined");
        // A _PID that is no number (journald never writes one) is shown as written; fail2ban shows `[b'abc']`.
        const pid = parseJournalLine(
            '{"__CURSOR":"c","__REALTIME_TIMESTAMP":"1","_COMM":"x","_PID":"abc","MESSAGE":"m"}',
        );
        assert.equal(pid.kind === "entry" && pid.line, "x[abc]: m");
    });
});

describe("journalmatch and backend = systemd[...] as journalctl arguments", () => {
    it("terms, `+` and one group per line, as fail2ban adds them", () => {
        assert.deepEqual(parseJournalMatch("_SYSTEMD_UNIT=sshd.service + _COMM=sshd"), [
            ["_SYSTEMD_UNIT=sshd.service"],
            ["_COMM=sshd"],
        ]);
        assert.deepEqual(parseJournalMatch("_SYSTEMD_UNIT=a.service PRIORITY=3\n_COMM='my app'"), [
            ["_SYSTEMD_UNIT=a.service", "PRIORITY=3"],
            ["_COMM=my app"],
        ]);
        assert.deepEqual(parseJournalMatch(undefined), []);
        assert.throws(() => parseJournalMatch("sshd.service"), /"sshd.service" is not FIELD=value/);
        assert.throws(() => parseJournalMatch("_COMM='x"), /unterminated quote/);
    });

    it("journalctl arguments: follow from a cursor or a time, files or a directory, system journal by default", () => {
        const sys = journalSpec({}, "_COMM=a + _COMM=b");
        assert.deepEqual(journalctlArgs(sys, { since: 1000.7 }).slice(6), [
            "--system",
            "--merge",
            "--since=@1000",
            "_COMM=a",
            "+",
            "_COMM=b",
        ]);
        const files = journalSpec({ journalfiles: "/j/a.journal /j/b*.journal" }, undefined);
        assert.deepEqual(journalctlArgs(files, { cursor: "s=1;i=2" }).slice(6), [
            "--file=/j/a.journal",
            "--file=/j/b*.journal",
            "--after-cursor=s=1;i=2",
        ]);
        const d = journalSpec({ journalpath: "/var/log/journal", journalflags: "0" }, undefined);
        assert.deepEqual(journalctlArgs(d, { since: 0 }).slice(6), ["--directory=/var/log/journal", "--since=@0"]);
        assert.deepEqual(
            journalctlArgs(journalSpec({ journalflags: "12", namespace: "web" }, ""), { since: 0 }).slice(6),
            ["--system", "--user", "--namespace=web", "--merge", "--since=@0"],
        );
        // journalflags 1 (LOCAL_ONLY) is journalctl's default open: no --merge.
        assert.deepEqual(journalctlArgs(journalSpec({ journalflags: "5" }, ""), { since: 0 }).slice(6), [
            "--system",
            "--since=@0",
        ]);
        assert.notEqual(journalKey(sys), journalKey(files), "different journals are read by different readers");
    });

    it("refuses what journalctl cannot read, naming the option", () => {
        assert.throws(() => journalSpec({ journalflags: "2" }, ""), /journalflags 2: flag\(s\) 2 \(RUNTIME_ONLY/);
        assert.throws(() => journalSpec({ journalflags: "x" }, ""), /journalflags "x" is not an integer/);
        assert.throws(() => journalSpec({ journalpath: "/a", journalfiles: "/b" }, ""), /journalpath and journalfiles/);
        assert.throws(
            () => journalSpec({ journalpath: "/a", journalflags: "4" }, ""),
            /with journalpath or journalfiles/,
        );
        assert.throws(() => journalSpec({ rotated: "1" }, ""), /backend option "rotated" is not known/);
        assert.throws(() => journalSpec({ namespace: "a b" }, ""), /namespace "a b"/);
    });

    it("a saved cursor survives the positions file next to file offsets; a malformed one is refused", () => {
        const state = {
            positions: {
                "/var/log/a.log": { dev: 1, ino: 2, offset: 3, head: undefined, headLen: undefined },
                "journal:x": { cursor: "s=1;i=9", time: 1700000000.5 },
            },
        };
        assert.deepEqual(decodePositions(encodePositions(state)), state);
        assert.throws(
            () => decodePositions('{"version":1,"positions":{"journal:x":{"cursor":"s=1"}}}'),
            /position of journal:x is malformed/,
        );
    });
});
