// Our WordPress protection (watcher/config): the filters agree with the real fail2ban-regex, take the address
// Varnish appended (never a forged one), and the jails ban as documented when driven by the jail logic.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadFilter, readJailConfig } from "../../watcher/src/config/reader";
import { compileFilter } from "../../watcher/src/filter/filter";
import { Jail } from "../../watcher/src/jail/jail";
import { resolveJails, ResolvedJail } from "../../watcher/src/jail/settings";
import { maskTime, runBoth } from "./regex-cli-helpers";

const CONFIG = path.resolve(__dirname, "../../watcher/config");

function stamp(t: number): string {
    const d = new Date(t * 1000);
    const mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][d.getUTCMonth()];
    const p = (n: number) => String(n).padStart(2, "0");
    return `${p(d.getUTCDate())}/${mon}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
const T0 = Date.UTC(2016, 4, 15, 22, 40, 0) / 1000;
function line(
    t: number,
    request: string,
    status: number,
    xff: string,
    ua = "Mozilla/4.0 (compatible: MSIE 7.0; Windows NT 6.0)",
): string {
    return `127.0.0.1 - - [${stamp(t)}] "${request}" ${status} 370 "-" "${ua}" "${xff}"`;
}

const FORGED = ["198.51.100.7", "10.0.0.1", "192.0.2.66"];
const SAMPLE = [
    line(T0, "POST /xmlrpc.php HTTP/1.0", 200, "203.0.113.9"),
    line(T0 + 1, "POST /xmlrpc.php HTTP/1.1", 200, "198.51.100.7, 203.0.113.10"),
    line(T0 + 2, "POST /xmlrpc.php HTTP/1.1", 403, "10.0.0.1, 192.0.2.66, 2001:db8:1:2::9"),
    line(T0 + 3, "POST /blog/xmlrpc.php?rsd HTTP/2.0", 200, "203.0.113.11"),
    line(T0 + 4, "GET /xmlrpc.php HTTP/1.1", 405, "203.0.113.12"),
    line(T0 + 5, "POST /xmlrpc.phpx HTTP/1.1", 404, "203.0.113.13"),
    line(T0 + 6, "POST /wp-login.php HTTP/1.1", 200, "198.51.100.7, 203.0.113.20"),
    line(T0 + 7, "POST /wp-login.php HTTP/1.1", 302, "203.0.113.21"),
    line(T0 + 8, "POST /wp-login.php?redirect_to=x HTTP/1.1", 200, "2001:db8:5::1"),
    line(T0 + 9, "GET /wp-login.php HTTP/1.1", 200, "203.0.113.23"),
    line(T0 + 10, "POST /xmlrpc.php HTTP/1.0", 200, "203.0.113.9", 'evil" "198.51.100.99'),
    "garbage without a date",
];

describe("shipped WordPress filters", function () {
    this.timeout(60000);
    let dir: string;
    let log: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-shipped-"));
        log = path.join(dir, "access.log");
        fs.writeFileSync(log, SAMPLE.join("\n") + "\n");
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const expected: Record<string, string[]> = {
        "nginx-wp-xmlrpc": ["203.0.113.9", "203.0.113.10", "2001:db8:1:2::9", "203.0.113.11", "203.0.113.9"],
        "nginx-wp-login": ["203.0.113.20", "2001:db8:5::1"],
    };
    for (const name of Object.keys(expected)) {
        it(`${name}: same results as fail2ban-regex, rightmost X-Forwarded-For only`, async () => {
            const file = path.join(CONFIG, "filter.d", `${name}.conf`);
            const ip = await runBoth(["-o", "ip", log, file]);
            assert.equal(ip.f2b.code, 0, ip.f2b.stdout + ip.f2b.stderr);
            assert.equal(ip.jw.stdout, ip.f2b.stdout);
            assert.deepEqual(ip.jw.stdout.trim().split("\n"), expected[name]);
            for (const f of FORGED) assert.ok(!ip.jw.stdout.split("\n").includes(f), `forged ${f} reported`);
            if (name === "nginx-wp-login") {
                // (nginx-wp-xmlrpc's full output is compared in regex-cli-compare.test.ts.)
                const full = await runBoth(["-c", CONFIG, log, name, "--print-all-matched"]);
                assert.equal(maskTime(full.jw.stdout), maskTime(full.f2b.stdout));
            }
        });
    }

    it("the seed's own filter misses the forged lines ours catches", async () => {
        const seed = path.join(dir, "seed.conf");
        fs.writeFileSync(seed, '[Definition]\nfailregex = POST /xmlrpc.php HTTP/.*"<HOST>"$\n');
        const r = await runBoth(["-o", "ip", log, seed]);
        assert.equal(r.jw.stdout, r.f2b.stdout);
        assert.ok(!r.jw.stdout.includes("203.0.113.10"), "seed filter should not see the forged-header line");
    });
});

describe("shipped WordPress jails driven by the jail logic", () => {
    let jails: ResolvedJail[];
    before(() => {
        jails = resolveJails(readJailConfig(CONFIG), {
            loadFilter: (spec, values) => loadFilter(CONFIG, spec, values),
        });
    });
    const jail = (name: string) => {
        const s = jails.find(j => j.name === name);
        assert.ok(s, name);
        return new Jail(s, { filter: compileFilter(s.filter) });
    };

    it("xmlrpc: 20 POSTs within 120 s ban the real sender for 12 h; forged addresses never", () => {
        const j = jail("nginx-wp-xmlrpc");
        const bans = [];
        for (let i = 0; i < 19; i++) {
            const r = j.processLine(
                line(T0 + i * 6, "POST /xmlrpc.php HTTP/1.1", 200, `${FORGED[i % 3]}, 203.0.113.50`),
                T0 + i * 6,
            );
            assert.equal(r.outcome?.kind, "failure");
        }
        const last = j.processLine(
            line(T0 + 118, "POST /xmlrpc.php HTTP/1.1", 200, "198.51.100.7, 203.0.113.50"),
            T0 + 118,
        );
        assert.equal(last.outcome?.kind, "ban");
        if (last.outcome?.kind === "ban") bans.push(last.outcome.ban);
        assert.deepEqual(bans, [
            { jail: "nginx-wp-xmlrpc", ip: "203.0.113.50", start: T0 + 118, end: T0 + 118 + 43200, banCount: 0 },
        ]);
        // A slower client (one POST every 7 s: 18 per 120 s) is never banned.
        for (let i = 0; i < 100; i++) {
            const r = j.processLine(line(T0 + i * 7, "POST /xmlrpc.php HTTP/1.1", 200, "203.0.113.51"), T0 + i * 7);
            assert.notEqual(r.outcome?.kind, "ban");
        }
        // Varnish itself (127.0.0.1, in ignoreip) is never banned.
        for (let i = 0; i < 50; i++)
            assert.equal(
                j.processLine(line(T0 + i, "POST /xmlrpc.php HTTP/1.1", 200, "127.0.0.1"), T0 + i).outcome?.kind,
                "ignored",
            );
        assert.deepEqual(j.status().bannedList, ["203.0.113.50"]);
    });

    it("wp-login: 6 failed logins in 10 min ban for 1 h (doubling on repeat), IPv6 per /64; successful logins do not count", () => {
        const j = jail("nginx-wp-login");
        for (let i = 0; i < 20; i++)
            assert.equal(
                j.processLine(line(T0 + i, "POST /wp-login.php HTTP/1.1", 302, "203.0.113.60"), T0 + i).result.kind,
                "missed",
            );
        let out;
        for (let i = 0; i < 6; i++)
            out = j.processLine(
                line(T0 + i * 60, "POST /wp-login.php HTTP/1.1", 200, `2001:db8:7:8::${i + 1}`),
                T0 + i * 60,
            ).outcome;
        assert.equal(out?.kind, "ban");
        if (out?.kind !== "ban") return;
        assert.equal(out.ban.ip, "2001:db8:7:8::/64");
        assert.equal(out.ban.end - out.ban.start, 3600);
        const after = out.ban.end;
        j.expire(after);
        let again;
        for (let i = 0; i < 6 && again?.kind !== "ban"; i++)
            again = j.processLine(
                line(after + i, "POST /wp-login.php HTTP/1.1", 200, "2001:db8:7:8::99"),
                after + i,
            ).outcome;
        assert.equal(again?.kind, "ban");
        if (again?.kind === "ban") {
            assert.equal(again.ban.end - again.ban.start, 7200);
            assert.equal(again.ban.banCount, 1);
        }
    });
});
