// `jailwatch regex -v` / `--verbosity=N` against the real fail2ban-regex: the verbose report (every regex with its
// hits, the prefregex's groups, every date template in fail2ban's order, the "Real  filter options" line from
// level 2 on) must come out byte for byte the same, the run time aside. Before -v was implemented jailwatch
// printed the normal report for it, so every case here differs from that.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { jailwatchBundle, maskTime, runBoth, runJailwatch } from "./regex-cli-helpers";

const LOGS = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs";

describe("regex -v: fail2ban-regex's verbose report", function () {
    this.timeout(120000);
    before(() => {
        jailwatchBundle();
    });

    const same = async (args: string[]) => {
        const { jw, f2b } = await runBoth(args);
        assert.equal(jw.code, f2b.code, `exit code: fail2ban-regex ${f2b.code}, jailwatch ${jw.code} ${jw.stderr}`);
        assert.equal(maskTime(jw.stdout), maskTime(f2b.stdout));
        return { jw, f2b };
    };

    // Stock filters on fail2ban's sample logs. Left out: logs with lines without a date (asterisk, guacamole),
    // whose hits carry "now", which the two runs read a moment apart.
    const logs: Array<[string, string]> = [
        ["sshd", "prefregex groups cut after 20 lines, F-MLFID hits with None, IPv4-mapped IPv6 ids"],
        ["apache-auth", "a prefregex with <HOST> (fail2ban's spelling of its IPv6 part)"],
        ["postfix", "several regexes without hits"],
        ["nginx-http-auth", "no prefregex"],
        ["dovecot", "two date formats: the template order fail2ban reaches by moving templates"],
        ["roundcube-auth", "an ignoreregex"],
        ["sogo-auth", "an ignoreregex, {DATE} in a datepattern (the Epoch and TAI64N names)"],
        ["domino-smtp", "two date formats"],
        ["nsd", "a datepattern naming a default template (its weight)"],
        ["recidive", "^{DATE} (the ^Epoch and ^TAI64N templates)"],
        ["mysqld-auth", "a host name from /etc/hosts shown as its address"],
    ];
    for (const [log, what] of logs) {
        it(`-v on ${log}: ${what}`, async () => {
            const { jw } = await same(["-v", `${LOGS}/${log}`, log]);
            assert.match(
                jw.stdout,
                /^\| {6}\S+ {2}[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d \d{4}/m,
                "hits listed",
            );
        });
    }

    it("-r -v keeps a host name as the hit's id", () => same(["-r", "-v", `${LOGS}/mysqld-auth`, "mysqld-auth"]));

    const combos: Array<[string, string[]]> = [
        ["-v --print-all-matched", ["-v", "--print-all-matched", `${LOGS}/sshd`, "sshd"]],
        ["-v --print-all-missed", ["-v", "--print-all-missed", `${LOGS}/sshd`, "sshd"]],
        ["-v --print-all-ignored", ["-v", "--print-all-ignored", `${LOGS}/sshd`, "sshd"]],
        [
            "-v --no-check-all (only the first regex per line: fewer hits)",
            ["-v", "--no-check-all", `${LOGS}/sshd`, "sshd"],
        ],
        ["-v -L 5 (at most 5 prefregex dicts, then ...)", ["-v", "-L", "5", `${LOGS}/sshd`, "sshd"]],
        ["-vL5 (a value run into its option)", ["-vL5", `${LOGS}/sshd`, "sshd"]],
        // 1 ignoreregex < 40 failregexes - 2: fail2ban tries it before its prefregex, and on a hit shows the
        // previous line's prefregex groups again.
        ["-v with an IGNOREREGEX argument", ["-v", `${LOGS}/sshd`, "sshd", "Invalid user"]],
        ["-v on a raw regex", ["-v", `${LOGS}/sshd`, "Invalid user \\S+ from <HOST>"]],
        ["--verbosity=1", ["--verbosity=1", `${LOGS}/sshd`, "sshd"]],
    ];
    for (const [name, args] of combos) it(name, () => same(args));

    it("-v and --verbosity=0 together: the last one wins", async () => {
        const verbose = await same(["--verbosity=0", "-v", `${LOGS}/sshd`, "sshd"]);
        assert.match(verbose.jw.stdout, /\[0\] /);
        const normal = await same(["-v", "--verbosity=0", `${LOGS}/sshd`, "sshd"]);
        assert.doesNotMatch(normal.jw.stdout, /\[0\] /);
    });

    // Levels 2..4 differ from 1 only by this header line (the rest of fail2ban's extra output is logging, which
    // stays off at its default log level).
    for (const args of [
        ["--verbosity=2", `${LOGS}/sshd`, "sshd"],
        ["--verbosity=3", `${LOGS}/sshd`, "sshd"],
        ["--verbosity=4", `${LOGS}/sshd`, "sshd"],
        ["-v", "-v", `${LOGS}/sshd`, "sshd"],
        // Short options run together, as optparse reads them.
        ["-vv", `${LOGS}/sshd`, "sshd"],
        ["-vvv", `${LOGS}/postfix`, "postfix"],
        ["--verbosity=2", `${LOGS}/sshd`, "sshd[mode=aggressive]"],
        ["--verbosity=2", `${LOGS}/sshd`, "/etc/fail2ban/filter.d/sshd.conf"],
        ["--verbosity=2", `${LOGS}/postfix`, "postfix"],
        ["--verbosity=2", `${LOGS}/sogo-auth`, "sogo-auth"],
    ]) {
        it(`${args.join(" ")}: "Real  filter options"`, async () => {
            const { jw } = await same(args);
            assert.match(jw.stdout, /^Real {2}filter options : \{'logtype': 'file'/m);
        });
    }

    // Not -v, but the same replay of fail2ban's template moves: these three listed their templates in another
    // order before.
    for (const log of ["dovecot", "domino-smtp", "roundcube-auth"]) {
        it(`the normal report on ${log}: date templates in fail2ban's order`, () => same([`${LOGS}/${log}`, log]));
    }

    // jailwatch alone (fail2ban-regex would take minutes): more hits than a call may take arguments.
    it("-v with 200000 hits lists them all (no call stack overflow)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-regex-verbose-"));
        try {
            const log = path.join(dir, "many.log");
            const line = (i: number) => `Dec  2 01:00:00 host x: fail from 10.0.${(i >> 8) & 255}.${i & 255}`;
            fs.writeFileSync(log, Array.from({ length: 200000 }, (_, i) => line(i)).join("\n") + "\n");
            const r = runJailwatch(["regex", "-v", log, "fail from <HOST>"]);
            assert.equal(r.code, 0, r.stderr);
            assert.match(r.stdout, /^\| {3}1\) \[200000\] fail from <HOST>$/m);
            assert.equal(r.stdout.match(/^\| {6}10\.0\.\d+\.\d+ {2}\w{3} Dec 02 01:00:00 \d{4}$/gm)?.length, 200000);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
