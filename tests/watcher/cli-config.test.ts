// `jailwatch -t` and `-d` on real configuration directories: the stock /etc/fail2ban as it is, our shipped
// watcher/config, and temp copies with mistakes in them.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runCheck } from "../../watcher/src/cli/check";
import { defaultConfigDir } from "../../watcher/src/cli/common";
import { runDump } from "../../watcher/src/cli/dump";
import { VERSION } from "../../watcher/src/cli/version";
import { main } from "../../watcher/src/main";
import { runJailwatch } from "./regex-cli-helpers";

const ROOT = path.resolve(__dirname, "../..");
const SHIPPED = path.join(ROOT, "watcher/config");
const STOCK = "/etc/fail2ban";

function run(fn: typeof runCheck, dir: string): { code: number; out: string[]; err: string[] } {
    const out: string[] = [];
    const err: string[] = [];
    const code = fn(
        dir,
        s => out.push(s),
        s => err.push(s),
    );
    return { code, out, err };
}

/** A copy of the stock configuration plus `files` (path relative to the copy -> content). */
function stockCopy(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-conf-"));
    fs.cpSync(STOCK, dir, { recursive: true });
    for (const [rel, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), text);
    }
    return dir;
}

describe("cli: -t and -d", function () {
    this.timeout(30000);
    const dirs: string[] = [];
    after(() => dirs.forEach(d => fs.rmSync(d, { recursive: true, force: true })));
    const copy = (files: Record<string, string>) => {
        const d = stockCopy(files);
        dirs.push(d);
        return d;
    };

    it("accepts the stock /etc/fail2ban as it is", () => {
        const r = run(runCheck, STOCK);
        assert.equal(r.code, 0, r.err.join("\n"));
        assert.match(r.out.join("\n"), /^OK: configuration test is successful/);
    });

    it("prints each enabled stock jail's settings, one per line, naming the jail", () => {
        const dir = copy({ "jail.d/zz-enable.local": "[nginx-http-auth]\nenabled = true\n" });
        const r = run(runDump, dir);
        assert.equal(r.code, 0, r.err.join("\n"));
        const lines = r.out.filter(l => !l.startsWith("#"));
        assert.ok(lines.length > 20);
        for (const l of lines) assert.match(l, /^\[(sshd|nginx-http-auth)\] [\w.]+ = /);
        assert.ok(
            lines.includes(
                "[nginx-http-auth] port = http,https    (jail.conf:" +
                    lineOf(path.join(dir, "jail.conf"), "[nginx-http-auth]", "port") +
                    ")",
            ),
        );
        assert.ok(lines.some(l => l.startsWith("[nginx-http-auth] enabled = true    (jail.d/zz-enable.local:2)")));
        assert.ok(lines.some(l => l.startsWith("[nginx-http-auth] failregex = ")));
        assert.ok(lines.some(l => l.startsWith("[sshd] maxretry = 5")));
    });

    it("reads our shipped configuration with the seed's values", () => {
        const t = run(runCheck, SHIPPED);
        assert.equal(t.code, 0, t.err.join("\n"));
        const d = run(runDump, SHIPPED).out;
        const want = [
            "[nginx-wp-xmlrpc] maxretry = 20",
            "[nginx-wp-xmlrpc] findtime = 120 (2m)",
            "[nginx-wp-xmlrpc] bantime = 43200 (12h)",
            "[nginx-wp-xmlrpc] port = http,https",
            "[nginx-wp-xmlrpc] logpath = /var/log/nginx/access.log",
            "[nginx-wp-xmlrpc] banaction = nftables",
            "[nginx-wp-xmlrpc] ignoreip = 127.0.0.0/8 ::1",
            "[nginx-wp-login] bantime.increment = true",
            "[nginx-wp-login] ipv6prefix = 64",
        ];
        for (const w of want)
            assert.ok(
                d.some(l => l.startsWith(w + "    (") || l === w),
                `missing: ${w}\n${d.join("\n")}`,
            );
    });

    it("takes the seed's `bantime = 43200 # In secs...` as 43200 and `maxretry = 20 # twenty` as 20", () => {
        const dir = copy({
            "jail.d/01-nginx-wp-xmlrpc.conf":
                "[nginx-wp-xmlrpc]\n\nenabled = true\nfilter = nginx-http-auth\nlogpath = /var/log/nginx/access.log\nmaxretry = 20 # twenty\nfindtime = 120\nbantime = 43200 # In secs. Or negative for permanent.\nport = http,https\n",
        });
        const r = run(runDump, dir);
        assert.equal(r.code, 0, r.err.join("\n"));
        assert.ok(
            r.out.includes("[nginx-wp-xmlrpc] bantime = 43200 (12h)    (jail.d/01-nginx-wp-xmlrpc.conf:8)"),
            r.out.join("\n"),
        );
        assert.ok(r.out.includes("[nginx-wp-xmlrpc] maxretry = 20    (jail.d/01-nginx-wp-xmlrpc.conf:6)"));
    });

    it("fails -t with file, line and key for `maxretry = twenty`, and reports every bad value", () => {
        const dir = copy({
            "jail.d/bad.local":
                "[sshd]\nenabled = true\n\nmaxretry = twenty\nfindtime = 10 parsecs\nignoreip = 127.0.0.1 not_an/address!\nbantime.multipliers = 1 2 x\n",
        });
        const r = run(runCheck, dir);
        assert.equal(r.code, 1);
        const text = r.err.join("\n");
        const file = path.join(dir, "jail.d/bad.local");
        assert.ok(text.includes(`${file}:4: maxretry: invalid value "twenty"`), text);
        assert.ok(text.includes(`${file}:5: findtime: invalid value "10 parsecs"`), text);
        assert.ok(text.includes(`${file}:6: ignoreip:`), text);
        assert.ok(text.includes(`${file}:7: bantime.multipliers:`), text);
        assert.match(text, /configuration test failed: 4 error\(s\)/);
        assert.equal(r.out.length, 0);
    });

    it("names the filter setting when the filter does not exist or does not compile", () => {
        const dir = copy({
            "jail.d/x.local":
                "[sshd]\nenabled = false\n[nofilter]\nenabled = true\nfilter = does-not-exist\n[badregex]\nenabled = true\nfilter = broken\n",
            "filter.d/broken.conf": "[Definition]\nfailregex = ^(unclosed <HOST>\n",
        });
        const r = run(runCheck, dir);
        assert.equal(r.code, 1);
        const text = r.err.join("\n");
        const file = path.join(dir, "jail.d/x.local");
        assert.ok(text.includes(`${file}:5: filter: jail [nofilter]: `), text);
        assert.match(text, /filter "does-not-exist" not found/);
        assert.ok(text.includes(`${file}:8: filter: jail [badregex]: `), text);
        assert.match(text, /\^\(unclosed <HOST>/);
    });

    it("rejects a custom bantime.formula instead of ignoring it", () => {
        const dir = copy({
            "jail.d/f.local":
                "[sshd]\nbantime.increment = true\nbantime.formula = ban.Time * math.exp(float(ban.Count+1)*banFactor)/math.exp(1*banFactor)\n",
        });
        const r = run(runCheck, dir);
        assert.equal(r.code, 1);
        assert.match(r.err.join("\n"), /f\.local:3: bantime\.formula: .*multipliers/);
    });

    it("defaults -t/-d to the daemon's /etc/jailwatch when present, else /etc/fail2ban", () => {
        const present = fs.existsSync("/etc/jailwatch") && fs.statSync("/etc/jailwatch").isDirectory();
        assert.equal(defaultConfigDir(), present ? "/etc/jailwatch" : "/etc/fail2ban");
    });

    it("reports a missing directory", () => {
        const r = run(runCheck, "/nonexistent/jailwatch");
        assert.equal(r.code, 1);
        assert.match(r.err.join("\n"), /\/nonexistent\/jailwatch/);
    });

    it("dispatches --version, --help, -t and unknown commands from main", async () => {
        const writes: string[] = [];
        const orig = process.stdout.write.bind(process.stdout);
        const origErr = process.stderr.write.bind(process.stderr);
        (process.stdout as { write: unknown }).write = (s: string) => (writes.push(String(s)), true);
        (process.stderr as { write: unknown }).write = (s: string) => (writes.push(String(s)), true);
        let codes: number[];
        try {
            codes = [
                await main(["--version"]),
                await main(["--help"]),
                await main(["-t", "-c", SHIPPED]),
                await main(["frobnicate"]),
            ];
        } finally {
            (process.stdout as { write: unknown }).write = orig;
            (process.stderr as { write: unknown }).write = origErr;
        }
        assert.deepEqual(codes, [0, 0, 0, 2]);
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string };
        assert.equal(VERSION, pkg.version);
        assert.equal(writes[0], `jailwatch ${pkg.version}\n`);
        assert.match(writes[1], /jailwatch regex/);
        assert.match(writes[2], /^OK: /);
        assert.match(writes[3], /unknown command "frobnicate"/);
    });

    it("the bundle runs -t with the exit status", () => {
        const ok = runJailwatch(["-t", "-c", SHIPPED]);
        assert.equal(ok.code, 0, ok.stderr);
        const dir = copy({ "jail.d/bad.local": "[sshd]\nenabled = true\nmaxretry = twenty\n" });
        const bad = runJailwatch(["-t", "-c", dir]);
        assert.equal(bad.code, 1);
        assert.match(bad.stderr, /bad\.local:3: maxretry: invalid value "twenty"/);
    });
});

/** Line number of `key` within `[section]` of an ini file. */
function lineOf(file: string, section: string, key: string): number {
    const lines = fs.readFileSync(file, "utf8").split("\n");
    const start = lines.indexOf(section);
    for (let i = start + 1; i < lines.length; i++) if (new RegExp(`^${key}\\s*=`).test(lines[i])) return i + 1;
    return -1;
}
