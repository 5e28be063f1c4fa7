// `jailwatch regex` against the real fail2ban-regex on the same inputs: same output byte for byte (but the
// run time), same counts. Nothing here is hard-coded: both tools run on each case.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { generateLog, SEED_FILTER } from "../../bench/gen";
import { jailwatchBundle, lineCounts, maskTime, ROOT_DIR, runBoth, runJailwatch } from "./regex-cli-helpers";

const F2B_LOGS = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs";

describe("regex CLI: same output as fail2ban-regex", function () {
    this.timeout(60000);
    let dir: string;
    let log: string;
    let small: string;
    let seedFilter: string;

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-regex-"));
        log = path.join(dir, "access.log");
        generateLog(log, { lines: 1500, seed: 7, garbage: 0.02 });
        jailwatchBundle();
        // Extra shapes fail2ban-regex has rules for: comments, blank lines, CRLF, a last line without newline.
        fs.appendFileSync(
            log,
            '# a comment line\n\n\r\n127.0.0.1 - - [15/May/2016:12:00:00 +0000] "POST /xmlrpc.php HTTP/1.0" 200 370 "-" "x" "192.0.2.1"\r\n' +
                '127.0.0.1 - - [15/May/2016:12:00:01 +0000] "POST /xmlrpc.php HTTP/1.0" 200 370 "-" "x" "2001:db8::5"',
        );
        small = path.join(dir, "small.log");
        fs.writeFileSync(small, fs.readFileSync(log, "utf8").split("\n").slice(0, 12).join("\n") + "\n");
        fs.mkdirSync(path.join(dir, "filter.d"));
        seedFilter = path.join(dir, "filter.d", "seed-xmlrpc.conf");
        fs.writeFileSync(seedFilter, SEED_FILTER);
        fs.writeFileSync(path.join(dir, "loose.conf"), SEED_FILTER);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const cases: Array<[string, () => string[]]> = [
        ["the seed's filter by path in a filter.d folder", () => [log, seedFilter]],
        ["a filter by name with -c (options after the arguments)", () => [log, "seed-xmlrpc", "-c", dir]],
        ["a filter file outside filter.d", () => [log, path.join(dir, "loose.conf")]],
        ["our shipped filter by name", () => ["-c", path.join(ROOT_DIR, "watcher/config"), log, "nginx-wp-xmlrpc"]],
        [
            "a raw regex with an ignoreregex",
            () => [log, 'POST /xmlrpc\\.php HTTP/[\\d.]+" \\d+ \\d+ "[^"]*" "[^"]*" "(?:[^"]*, )?<HOST>"$', "curl"],
        ],
        [
            "listing every matched and missed line",
            () => ["--print-all-matched", small, seedFilter, "--print-all-missed"],
        ],
        ["a short missed list shown without asking", () => [small, seedFilter]],
        [
            "-L changes the listing threshold; --print-no-missed",
            () => ["-L", "5", small, seedFilter, "--print-no-missed"],
        ],
        [
            "a single line given as text",
            () => [
                '127.0.0.1 - - [15/May/2016:11:55:14 +0000] "POST /xmlrpc.php HTTP/1.0" 200 370 "-" "Mozilla/4.0" "203.0.113.9"',
                seedFilter,
            ],
        ],
        ["several lines given as text", () => ["a 1.2.3.4\n# c\n\nb 5.6.7.8\nc\nd\ne 9.9.9.9", "^\\w <HOST>$"]],
        [
            "a stock filter by name on fail2ban's own sample log (nginx-http-auth)",
            () => [`${F2B_LOGS}/nginx-http-auth`, "nginx-http-auth"],
        ],
        [
            "a stock filter with options on its sample log (nginx-limit-req, --print-all-matched)",
            () => ["--print-all-matched", `${F2B_LOGS}/nginx-limit-req`, "nginx-limit-req[logtype=file]"],
        ],
        [
            "a multi-line filter: earlier missed lines a match takes in become matched (guacamole)",
            () => ["--print-all-matched", `${F2B_LOGS}/guacamole`, "guacamole"],
        ],
        ["a multi-line match skipping lines with <SKIPLINES> (slapd)", () => [`${F2B_LOGS}/slapd`, "slapd"]],
        [
            "host names: unresolved ones missed, /etc/hosts ones matched (mysqld-auth)",
            () => [`${F2B_LOGS}/mysqld-auth`, "mysqld-auth", "--print-all-missed"],
        ],
        [
            "host names taken as they are with -r (pam-generic)",
            () => ["-r", `${F2B_LOGS}/pam-generic`, "pam-generic", "--print-all-matched"],
        ],
        ["-o ip", () => ["-o", "ip", log, seedFilter]],
        [
            "-o ip with our filter (rightmost X-Forwarded-For)",
            () => [log, path.join(ROOT_DIR, "watcher/config/filter.d/nginx-wp-xmlrpc.conf"), "-o", "ip"],
        ],
    ];
    for (const [name, args] of cases) {
        it(name, async () => {
            const a = args();
            const { jw, f2b } = await runBoth(a);
            assert.equal(f2b.code, 0, f2b.stdout + f2b.stderr);
            assert.equal(jw.code, 0, jw.stderr);
            assert.equal(maskTime(jw.stdout), maskTime(f2b.stdout));
            if (!a.includes("-o")) assert.ok(lineCounts(jw.stdout), "prints a Lines: summary");
            else assert.ok(jw.stdout.length > 0, "prints addresses");
        });
    }

    it("rejects a filter without a failure-id group, as fail2ban-regex does (exit 255)", async () => {
        const { jw, f2b } = await runBoth([small, "POST /xmlrpc.php"]);
        assert.equal(f2b.code, 255);
        assert.equal(jw.code, 255);
        assert.match(jw.stdout, /^ERROR: .*failure-id/m);
    });

    it("needs both LOG and REGEX", () => {
        const jw = runJailwatch(["regex", small]);
        assert.equal(jw.code, 255);
        assert.match(jw.stderr, /provide both <LOG> and <REGEX>/);
    });
});

describe("regex CLI: several threads give the same output", function () {
    this.timeout(60000);
    let dir: string;
    let log: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-regex-par-"));
        log = path.join(dir, "access.log");
        generateLog(log, { lines: 4000, seed: 11, garbage: 0.02 });
        fs.mkdirSync(path.join(dir, "filter.d"));
        fs.writeFileSync(path.join(dir, "filter.d", "seed.conf"), SEED_FILTER);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("splits the file into ranges (odd sizes, cutting lines) and merges counts, lists and -o in order", () => {
        // Ranges of 7777 bytes cut most lines in the middle: every line must still be read exactly once.
        const env = { JAILWATCH_REGEX_PARALLEL_MIN: "0", JAILWATCH_REGEX_RANGE: "7777" };
        for (const extra of [[], ["--print-all-missed", "--print-all-matched"], ["-o", "ip"]]) {
            const args = ["regex", log, path.join(dir, "filter.d", "seed.conf"), ...extra];
            const one = runJailwatch([...args, "-j", "1"]);
            const two = runJailwatch([...args, "-j", "2"], ROOT_DIR, env);
            assert.equal(one.code, 0, one.stderr);
            assert.equal(two.code, 0, two.stderr);
            assert.equal(maskTime(two.stdout), maskTime(one.stdout));
        }
    });
});
