// Issue 14, point 6: `jailwatch regex` resolves a `<HOST>` that is a host name through the system resolver, as
// fail2ban-regex does (a hit and a failure per address, a line without any address missed; usedns no drops the
// name, raw and -r keep it). Before, it looked names up in /etc/hosts only, so the names below were missed.
//
// This machine has no DNS it may ask, so both tools run in a private mount, network and PID namespace: loopback
// only, /etc/resolv.conf bind-mounted to `nameserver 127.0.0.1`, and fake-dns.ts answering there for names that
// are not in /etc/hosts. The PID namespace ends with its first process, taking the server and every tool with it.

import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HostIds } from "../../watcher/src/regex/hostids";
import type { LineResult } from "../../watcher/src/types";
import type { Zone } from "./fake-dns";
import { jailwatchBundle, maskTime } from "./regex-cli-helpers";
import type { NetnsCase, NetnsPlan, NetnsResult } from "./usedns-netns-runner";

const ZONE: Zone = {
    "one.attacker.test": ["192.0.2.1"],
    "two.attacker.test": ["192.0.2.21", "192.0.2.22"],
    "three.attacker.test": ["192.0.2.31", "192.0.2.32", "192.0.2.33"],
    "mixed.attacker.test": ["192.0.2.41", "2001:db8::41"],
    "six.attacker.test": ["2001:db8:0:0:0:0:0:61"],
};

const LOG = [
    "2024-01-01 10:00:01 fail from one.attacker.test",
    "2024-01-01 10:00:02 fail from two.attacker.test",
    "2024-01-01 10:00:03 fail from nx.attacker.test",
    "2024-01-01 10:00:04 fail from three.attacker.test",
    "2024-01-01 10:00:05 fail from mixed.attacker.test",
    "2024-01-01 10:00:06 fail from 192.0.2.9",
    "2024-01-01 10:00:07 fail from six.attacker.test",
    "2024-01-01 10:00:08 fail from one.attacker.test",
    "2024-01-01 10:00:09 fail from nx.attacker.test",
];

// Two failregexes on one line (every regex is tried): hits per address for each, the first regex's name without
// an address while the second's has one, and an F-ID beside a name (fail2ban keeps the addresses, not the id).
const LOG2 = [
    "2024-01-01 11:00:01 fail from two.attacker.test via one.attacker.test",
    "2024-01-01 11:00:02 fail from nx.attacker.test via one.attacker.test",
    "2024-01-01 11:00:03 fail from one.attacker.test via nx.attacker.test",
    "2024-01-01 11:00:04 fail from nx.attacker.test via nx.attacker.test",
    "2024-01-01 11:00:05 user u5 from three.attacker.test",
    "2024-01-01 11:00:06 user u6 from nx.attacker.test",
];
const FILTER2 = [
    "[Definition]",
    "failregex = fail from <HOST> via",
    "            via <HOST>$",
    "            user <F-ID>\\S+</F-ID> from <HOST>$",
    "",
].join("\n");

/**
 * fail2ban keeps a name's addresses in a Python set, whose order changes from run to run (string hashes are
 * salted per process); jailwatch lists them as the resolver gives them. So the lines one name's addresses make
 * (same text once the zone's addresses are replaced by their name) are sorted among themselves, each keeping
 * its place's "(multiple regex matched)": which of them, what and how many must still be the same.
 */
function sortAddressRuns(text: string): string {
    const byAddress = new Map<string, string>();
    for (const [name, ips] of Object.entries(ZONE)) for (const ip of ips) byAddress.set(ip, name);
    const SUFFIX = " (multiple regex matched)";
    const key = (l: string) => l.replace(/[0-9a-f.:]*[0-9a-f]/g, t => byAddress.get(t) ?? t).replace(SUFFIX, "");
    const lines = text.split("\n");
    const out: string[] = [];
    for (let i = 0; i < lines.length;) {
        let j = i + 1;
        while (j < lines.length && key(lines[j]) === key(lines[i])) j++;
        const run = lines.slice(i, j);
        const bare = run.map(l => l.replace(SUFFIX, "")).sort();
        out.push(...bare.map((l, k) => (run[k].endsWith(SUFFIX) ? l + SUFFIX : l)));
        i = j;
    }
    return out.join("\n");
}

function need(cond: boolean, what: string): void {
    if (!cond) throw new Error(`regex-usedns needs ${what} (CI runs it as root; it must not be skipped)`);
}

describe("regex: host names resolved through the system resolver, as fail2ban-regex", function () {
    this.timeout(300_000);
    let dir: string;
    let results: NetnsResult[];
    // Relative to the directory the tools run in.
    const LOG_FILE = "names.log";
    const LOG2_FILE = "two-regexes.log";
    const FILTER2_FILE = "./two-regexes.conf"; // with a "/": a file, not a name under filter.d
    const RE = "fail from <HOST>$";

    const cases: NetnsCase[] = [];
    for (const usedns of [[], ["--usedns=yes"], ["--usedns=warn"], ["--usedns=no"], ["--usedns=raw"], ["-r"]]) {
        cases.push({ args: [...usedns, LOG_FILE, RE] }, { args: [...usedns, "-v", LOG_FILE, RE] });
        cases.push({ args: [...usedns, "-v", LOG2_FILE, FILTER2_FILE] });
        cases.push({ args: [...usedns, "-v", "--no-check-all", LOG2_FILE, FILTER2_FILE] });
    }
    for (const o of ["id", "ip", "row", "dns"])
        cases.push({ args: ["-o", o, LOG_FILE, RE] }, { args: ["-o", o, LOG2_FILE, FILTER2_FILE] });
    // jailwatch splitting the file among worker threads: each resolves on its own.
    const threads = { jailwatchArgs: ["-j", "2"], jailwatchEnv: { JAILWATCH_REGEX_PARALLEL_MIN: "0" } };
    cases.push({ args: [LOG_FILE, RE], ...threads }, { args: [LOG2_FILE, FILTER2_FILE], ...threads });

    before(function () {
        need(
            process.platform === "linux" && process.getuid?.() === 0,
            "root (unshare of mount and network namespaces)",
        );
        for (const tool of ["unshare", "ip", "fail2ban-regex"])
            need(spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0, `${tool} on PATH`);
        const hosts = fs.readFileSync("/etc/hosts", "utf8").toLowerCase();
        for (const name of [...Object.keys(ZONE), "nx.attacker.test"])
            assert.ok(!hosts.includes(name), `${name} must not be in /etc/hosts: the point is resolving through DNS`);

        dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-usedns-"));
        fs.writeFileSync(path.join(dir, LOG_FILE), LOG.join("\n") + "\n");
        fs.writeFileSync(path.join(dir, LOG2_FILE), LOG2.join("\n") + "\n");
        fs.writeFileSync(path.join(dir, FILTER2_FILE), FILTER2);
        // One quick try each: a broken fake server must fail the comparison, not stall it.
        fs.writeFileSync(path.join(dir, "resolv.conf"), "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
        const runner = path.join(dir, "runner.js");
        (require("esbuild") as typeof import("esbuild")).buildSync({
            entryPoints: [path.join(__dirname, "usedns-netns-runner.ts")],
            bundle: true,
            platform: "node",
            target: "node20",
            outfile: runner,
            logLevel: "warning",
        });
        const plan: NetnsPlan = {
            zone: ZONE,
            jailwatch: jailwatchBundle(),
            cwd: dir,
            cases,
            results: path.join(dir, "results.json"),
        };
        fs.writeFileSync(path.join(dir, "plan.json"), JSON.stringify(plan));
        const r = spawnSync(
            "unshare",
            [
                "--mount",
                "--net",
                "--pid",
                "--fork",
                "--kill-child",
                "--mount-proc",
                "sh",
                "-ec",
                'ip link set lo up; mount --bind "$1" /etc/resolv.conf; exec "$2" "$3" "$4"',
                "sh",
                path.join(dir, "resolv.conf"),
                process.execPath,
                runner,
                path.join(dir, "plan.json"),
            ],
            { encoding: "utf8", timeout: 240_000, killSignal: "SIGKILL" },
        );
        assert.equal(r.status, 0, `namespace run failed (${r.signal ?? r.status}): ${r.stderr}${r.error ?? ""}`);
        results = JSON.parse(fs.readFileSync(plan.results, "utf8")) as NetnsResult[];
        assert.equal(results.length, plan.cases.length);
    });
    after(() => {
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    const result = (c: NetnsCase) => {
        const r = results[cases.indexOf(c)];
        assert.ok(r && JSON.stringify(r.args) === JSON.stringify(c.args), `no result for ${c.args.join(" ")}`);
        return r;
    };

    it("the fake server answers in the namespace (fail2ban-regex resolves the names)", () => {
        const { f2b } = result(cases[0]);
        assert.match(f2b.stdout, /^Lines: 9 lines, 0 ignored, 7 matched, 2 missed$/m, f2b.stdout + f2b.stderr);
        assert.match(f2b.stdout, /^\| {3}1\) \[11\] fail from <HOST>\$$/m);
    });

    for (const c of cases) {
        const label = c.args.join(" ") + (c.jailwatchArgs ? ` (jailwatch ${c.jailwatchArgs.join(" ")})` : "");
        it(`same output as fail2ban-regex: ${label}`, () => {
            const { jw, f2b } = result(c);
            assert.equal(jw.code, f2b.code, `exit code: fail2ban-regex ${f2b.code}, jailwatch ${jw.code} ${jw.stderr}`);
            assert.equal(sortAddressRuns(maskTime(jw.stdout)), sortAddressRuns(maskTime(f2b.stdout)));
        });
    }
});

describe("regex: host name lookups (hostids.ts)", () => {
    const hit = (groups: Record<string, string>): LineResult => ({ kind: "matched", groups });

    it("looks up nothing for hits whose <HOST> is an address, and each name once", () => {
        const asked: string[] = [];
        const ids = new HostIds("resolve", name => {
            asked.push(name);
            return name === "two.test" ? ["192.0.2.1", "192.0.2.2"] : [];
        });
        assert.equal(ids.of(hit({ ip4: "192.0.2.9" })), undefined);
        assert.equal(ids.of(hit({ ip6: "2001:db8::9" })), undefined);
        assert.equal(ids.of(hit({ fid: "x" })), undefined);
        assert.deepEqual(ids.of(hit({ dns: "192.0.2.7" })), ["192.0.2.7"], "an address as dns text: no lookup");
        for (let i = 0; i < 3; i++) {
            assert.deepEqual(ids.of(hit({ dns: "two.test" })), ["192.0.2.1", "192.0.2.2"]);
            assert.deepEqual(ids.of(hit({ dns: "none.test" })), []);
        }
        assert.deepEqual(asked, ["two.test", "none.test"]);
    });

    it("usedns no drops a name unasked, raw keeps every hit as it is", () => {
        const never = (): string[] => assert.fail("no lookup expected");
        assert.deepEqual(new HostIds("addresses", never).of(hit({ dns: "two.test" })), []);
        assert.equal(new HostIds("raw", never).of(hit({ dns: "two.test" })), undefined);
    });
});
