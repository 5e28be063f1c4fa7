// `jailwatch regex` options against the real fail2ban-regex on the same inputs: -o (every output token, rows,
// templates), -e (encodings), -m, -l, -t, --verbosity, -V. Same stdout byte for byte (but the run time) and the same
// exit code; both tools run on every case.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { jailwatchBundle, maskTime, runBoth } from "./regex-cli-helpers";

const F2B_LOGS = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs";

describe("regex options: same output and exit code as fail2ban-regex", function () {
    this.timeout(120000);
    let dir: string;
    let sshd: string;
    let latin: string;
    let plain: string;

    before(() => {
        jailwatchBundle();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-regex-opts-"));
        sshd = path.join(dir, "auth.log");
        fs.writeFileSync(
            sshd,
            [
                "Dec  2 01:00:00 host sshd[123]: Invalid user bob from 192.0.2.5 port 22",
                "Dec  2 01:00:01 host sshd[125]: Failed password for root from 192.0.2.6 port 22 ssh2",
                "Dec  2 01:00:01 host sshd[126]: Failed password for invalid user x from 2001:db8::7 port 22 ssh2",
                "Dec  2 01:00:02 host sshd[124]: garbage line",
            ].join("\n") + "\n",
        );
        latin = path.join(dir, "latin.log");
        fs.writeFileSync(
            latin,
            Buffer.concat([
                Buffer.from("Dec  2 01:00:00 host sshd[123]: Invalid user b"),
                Buffer.from([0xe9, 0x80]),
                Buffer.from("b from 192.0.2.5 port 22\n"),
            ]),
        );
        plain = path.join(dir, "plain.log");
        fs.writeFileSync(plain, "a 1.2.3.4\nb 5.6.7.8\nc 2001:db8::1\nnothing here\n");
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const cases: Array<[string, () => string[]]> = [
        ["-o user (the F-USER group by its key)", () => ["-o", "user", sshd, "sshd"]],
        ["-o F-USER (not a key: None per match, as fail2ban prints it)", () => ["-o", "F-USER", sshd, "sshd"]],
        ["-o host, -o dns (None: sshd's <HOST> has no host key)", () => ["-o", "host", sshd, "sshd"]],
        ["-o ip4", () => ["-o", "ip4", sshd, "sshd"]],
        ["-o ip6", () => ["-o", "ip6", sshd, "sshd"]],
        ["-o matched / unmatched (unknown keys: None)", () => ["-o", "matched", sshd, "sshd"]],
        ["-o id", () => ["-o", "id", sshd, "sshd"]],
        ["-o msg", () => ["-o", "msg", sshd, "sshd"]],
        ["-o row on a raw regex (no date: None)", () => ["-o", "row", plain, "^\\w <HOST>$"]],
        ["-o row with <ADDR> and a custom group", () => ["-o", "row", plain, "^(?P<x>\\w) <ADDR>$"]],
        ["-o row with F-ID (the address recorded as ip)", () => ["-o", "row", plain, "^<F-ID>\\w</F-ID> <HOST>$"]],
        ["-o row with F-USER", () => ["-o", "row", plain, "^<F-USER>\\w</F-USER> <HOST>$"]],
        [
            "-o row on a stock filter with dates (nginx-http-auth)",
            () => ["-o", "row", `${F2B_LOGS}/nginx-http-auth`, "nginx-http-auth"],
        ],
        [
            "-o with a template of tags (unknown tags kept)",
            () => ["-o", "<ip> / <F-USER> / <user> / <fid> / <bogus>", plain, "^<F-USER>\\w</F-USER> <HOST>$"],
        ],
        ["-o user on a stock filter's sample log (dovecot)", () => ["-o", "user", `${F2B_LOGS}/dovecot`, "dovecot"]],
        ["-e latin-1", () => ["-e", "latin-1", latin, "sshd"]],
        ["-e latin-1 -o user (the byte is é)", () => ["-e", "latin-1", "-o", "user", latin, "sshd"]],
        ["-e cp1252", () => ["-e", "cp1252", "-o", "user", latin, "sshd"]],
        ["-e ascii (bytes over 0x7F replaced)", () => ["--encoding=ascii", "-o", "user", latin, "sshd"]],
        ["default encoding on invalid UTF-8 (replaced)", () => ["-o", "user", latin, "sshd"]],
        ["-e unknown: header, then exit 1", () => ["-e", "no-such-codec", sshd, "sshd"]],
        ["-m on a file log (accepted, journal only)", () => ["-m", "_SYSTEMD_UNIT=sshd.service", sshd, "sshd"]],
        ["-l critical", () => ["-l", "critical", sshd, "sshd"]],
        ["--log-level=error", () => ["--log-level=error", sshd, "sshd"]],
        ["-t and --full-traceback (nothing to trace)", () => ["-t", "--full-traceback", sshd, "sshd"]],
        ["--verbosity 0", () => ["--verbosity", "0", sshd, "sshd"]],
        ["--print-all-matched with -o (results only)", () => ["--print-all-matched", "-o", "id", sshd, "sshd"]],
        ["-e iso-8859-15", () => ["-e", "iso-8859-15", "-o", "msg", latin, "sshd"]],
        // A multi-line buffer with a prefregex and F-MLFID: the prefregex holds on a one-line buffer only (fail2ban
        // compiles it without MULTILINE), and a matched line leaves the buffer.
        ["-L 2 on sshd (prefregex, F-MLFID)", () => ["-L", "2", sshd, "sshd"]],
        ["-L 2 on sshd, matched lines shown", () => ["-L", "2", "--print-all-matched", sshd, "sshd"]],
        ["-L 3 on sshd's sample log", () => ["-L", "3", `${F2B_LOGS}/sshd`, "sshd"]],
        // Every failregex tried on each line (fail2ban-regex's default): the hit counts, an <F-NOFAIL> hit making
        // the line ignored though another regex matched it, an F-MLFID match still without its address matched.
        ["sshd's sample log: every failregex tried", () => [`${F2B_LOGS}/sshd`, "sshd"]],
        ["sshd's sample log: matched lines", () => ["--print-all-matched", `${F2B_LOGS}/sshd`, "sshd"]],
        ["sshd's sample log: ignored lines", () => ["--print-all-ignored", `${F2B_LOGS}/sshd`, "sshd"]],
        // Only the first matching regex (--no-check-all): a line whose first hit is an <F-NOFAIL> one is missed.
        ["sshd's sample log, --no-check-all", () => ["--no-check-all", `${F2B_LOGS}/sshd`, "sshd"]],
        [
            "sshd's sample log, --no-check-all, missed lines",
            () => ["--no-check-all", "--print-all-missed", `${F2B_LOGS}/sshd`, "sshd"],
        ],
    ];
    for (const [name, args] of cases) {
        it(name, async () => {
            const { jw, f2b } = await runBoth(args());
            assert.equal(
                jw.code,
                f2b.code,
                `exit code: fail2ban-regex ${f2b.code} ${f2b.stderr.slice(-300)}; jailwatch ${jw.code} ${jw.stderr}`,
            );
            assert.equal(maskTime(jw.stdout), maskTime(f2b.stdout));
            assert.ok(jw.stdout.length > 0);
        });
    }

    it("-e unknown names the encoding on stderr, as fail2ban-regex's LookupError", async () => {
        const { jw, f2b } = await runBoth(["-e", "no-such-codec", sshd, "sshd"]);
        assert.match(f2b.stderr, /LookupError: unknown encoding: no-such-codec/);
        assert.match(jw.stderr, /LookupError: unknown encoding: no-such-codec/);
    });

    it("-V prints the short version, --version names the tool (jailwatch's version, fail2ban-regex's shape)", async () => {
        const v = JSON.parse(fs.readFileSync(path.join(__dirname, "../../package.json"), "utf8")).version as string;
        const short = await runBoth(["-V"]);
        assert.equal(short.f2b.code, 0);
        assert.match(short.f2b.stdout, /^\d+\.\d+\.\d+\n$/);
        assert.equal(short.jw.stdout, `${v}\n`);
        const long = await runBoth(["--version"]);
        assert.match(long.f2b.stdout, /^fail2ban-regex \d/);
        assert.equal(long.jw.stdout, `jailwatch regex ${v}\n`);
    });

    it("refuses what it does not do (-D debuggex links, --VD), exit 255 with a reason", async () => {
        for (const opt of ["-D", "--VD"]) {
            const { jw } = await runBoth([opt, sshd, "sshd"]);
            assert.equal(jw.code, 255, opt);
            assert.match(jw.stderr, /not supported/, opt);
        }
    });
});
