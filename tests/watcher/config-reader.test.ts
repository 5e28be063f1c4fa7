import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadFilter, loadFilterFile, parseFilterSpec, readJailConfig } from "../../watcher/src/config/reader";
import { ConfigError } from "../../watcher/src/types";

function tree(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-config-"));
    for (const [rel, text] of Object.entries(files)) {
        const p = path.join(dir, rel);
        fs.mkdirSync(path.dirname(p), { recursive: true });
        fs.writeFileSync(p, text);
    }
    return dir;
}

const SEED_JAIL = `[nginx-wp-xmlrpc]

enabled = true
logpath = /var/log/nginx/access.log
maxretry = 20 # twenty
findtime = 120
bantime = 43200 # In secs. Or negative for permanent.
port = http,https
`;

describe("config reader: jail files", () => {
    const dirs: string[] = [];
    after(() => dirs.forEach(d => fs.rmSync(d, { recursive: true, force: true })));
    const mk = (files: Record<string, string>) => {
        const d = tree(files);
        dirs.push(d);
        return d;
    };

    it("reads the seed's jail with its trailing # comments as plain numbers", () => {
        const c = readJailConfig(
            mk({ "jail.conf": "[DEFAULT]\nbantime = 600\n", "jail.d/01-nginx-wp-xmlrpc.conf": SEED_JAIL }),
        );
        assert.deepStrictEqual(c.jailNames(), ["nginx-wp-xmlrpc"]);
        assert.strictEqual(c.get("nginx-wp-xmlrpc", "bantime")?.value, "43200");
        assert.strictEqual(c.get("nginx-wp-xmlrpc", "maxretry")?.value, "20");
        assert.strictEqual(c.get("nginx-wp-xmlrpc", "port")?.value, "http,https");
        assert.deepStrictEqual(c.get("nginx-wp-xmlrpc", "maxretry")?.origin.line, 5);
    });

    it("keeps # inside regex values of a jail", () => {
        const c = readJailConfig(
            mk({ "jail.conf": "[j]\nfailregex = ^x #<HOST>$\nignoreregex = a #b\nport = 80 # web\n" }),
        );
        assert.strictEqual(c.get("j", "failregex")?.value, "^x #<HOST>$");
        assert.strictEqual(c.get("j", "ignoreregex")?.value, "a #b");
        assert.strictEqual(c.get("j", "port")?.value, "80");
    });

    it("layers jail.conf < jail.d/*.conf < jail.local < jail.d/*.local and falls back to [DEFAULT]", () => {
        const c = readJailConfig(
            mk({
                "jail.conf": "[DEFAULT]\nmaxretry = 5\nfindtime = 10m\n[a]\nport = 1\nbantime = 1\n[b]\nport = 2\n",
                "jail.d/10.conf": "[a]\nport = 10\n",
                "jail.local": "[a]\nport = 100\n[DEFAULT]\nmaxretry = 3\n",
                "jail.d/20.local": "[a]\nbantime = 1000\n[c]\nenabled = true\n",
            }),
        );
        assert.deepStrictEqual(c.jailNames(), ["a", "b", "c"]);
        assert.strictEqual(c.get("a", "port")?.value, "100");
        assert.strictEqual(c.get("a", "bantime")?.value, "1000");
        assert.strictEqual(c.get("b", "maxretry")?.value, "3");
        assert.strictEqual(c.get("b", "findtime")?.value, "10m");
        assert.ok(c.get("a", "bantime")?.origin.file.endsWith(path.join("jail.d", "20.local")));
        assert.ok(c.keys("a").includes("maxretry"));
        assert.strictEqual(c.get("nope", "port"), undefined);
    });

    it("interpolates %(name)s, %(__name__)s, %(section/key)s, %(known/key)s and %%", () => {
        const c = readJailConfig(
            mk({
                "jail.conf":
                    "[INCLUDES]\nbefore = paths.conf\n[DEFAULT]\nfilter = %(__name__)s\nport = 22\naction = ban[port=%(port)s]\n[sshd]\nlogpath = %(sshd_log)s\nfoo = %(other/bar)s 100%%\n[other]\nbar = baz\n",
                "paths.conf": "[DEFAULT]\nsshd_log = /var/log/auth.log\n",
                "jail.local": "[sshd]\nport = %(known/port)s,2222\n",
            }),
        );
        assert.strictEqual(c.get("sshd", "filter")?.value, "sshd");
        assert.strictEqual(c.get("sshd", "logpath")?.value, "/var/log/auth.log");
        assert.strictEqual(c.get("sshd", "port")?.value, "22,2222");
        assert.strictEqual(c.get("sshd", "action")?.value, "ban[port=22,2222]");
        assert.strictEqual(c.get("sshd", "foo")?.value, "baz 100%");
    });

    it("reads [INCLUDES] after, relative to the including file, with the include's .local", () => {
        const c = readJailConfig(
            mk({
                "jail.conf": "[INCLUDES]\nafter = extra/more.conf\n[j]\nport = 1\n",
                "extra/more.conf": "[j]\nport = 2\n",
                "extra/more.local": "[j]\nport = 3\n",
            }),
        );
        assert.strictEqual(c.get("j", "port")?.value, "3");
    });

    it("names file, line and key in errors", () => {
        const d = mk({ "jail.conf": "[j]\nport = 1\n\nlogpath = %(nowhere)s\n" });
        const c = readJailConfig(d);
        assert.throws(
            () => c.get("j", "logpath"),
            (e: unknown) =>
                e instanceof ConfigError &&
                e.message.startsWith(`${path.join(d, "jail.conf")}:4: logpath: unknown option %(nowhere)s`),
        );
        const d2 = mk({ "jail.conf": "[j]\nbantime = 50%\n" });
        assert.throws(() => readJailConfig(d2).get("j", "bantime"), /jail\.conf:2: bantime: bad interpolation/);
        assert.throws(
            () => readJailConfig(mk({ "jail.conf": "[j]\nport\n" })),
            /jail\.conf:2: cannot parse line "port"/,
        );
        assert.throws(() => readJailConfig(path.join(d, "missing")), /configuration directory does not exist/);
    });

    it("reads a stock /etc/fail2ban as it is", function () {
        if (!fs.existsSync("/etc/fail2ban/jail.conf")) this.skip();
        const c = readJailConfig("/etc/fail2ban");
        const names = c.jailNames();
        for (const j of ["sshd", "nginx-http-auth", "apache-auth", "recidive"]) assert.ok(names.includes(j), j);
        assert.ok(!names.includes("DEFAULT") && !names.includes("INCLUDES"));
        assert.strictEqual(c.get("sshd", "port")?.value, "ssh");
        assert.strictEqual(c.get("sshd", "filter")?.value, "sshd[mode=normal]");
        assert.match(c.get("sshd", "logpath")?.value ?? "", /^%\(sshd_log\)s$|\/var\/log|journal/);
        assert.match(c.get("sshd", "action")?.value ?? "", /\[.*port="ssh"/s);
    });
});

describe("config reader: filters", () => {
    const dirs: string[] = [];
    after(() => dirs.forEach(d => fs.rmSync(d, { recursive: true, force: true })));
    const mk = (files: Record<string, string>) => {
        const d = tree(files);
        dirs.push(d);
        return d;
    };

    it('parses name[key=value, key2="v, 2"]', () => {
        assert.deepStrictEqual(parseFilterSpec("sshd"), { name: "sshd", args: {} });
        assert.deepStrictEqual(parseFilterSpec("sshd[mode=aggressive, x=\"a, b\", y='c']"), {
            name: "sshd",
            args: { mode: "aggressive", x: "a, b", y: "c" },
        });
        assert.throws(() => parseFilterSpec("sshd[mode=x"), /missing "\]"/);
    });

    it("loads .conf + .local + includes, interpolates %(..)s and <tags>, keeps # in regexes", () => {
        const d = mk({
            "filter.d/common.conf": "[DEFAULT]\n_daemon = \\S*\n__prefix = \\s*<_daemon>:\n",
            "filter.d/f.conf":
                "[INCLUDES]\nbefore = common.conf\n[Definition]\n_daemon = food\nfailregex = ^%(__prefix)s bad #1 from <HOST>$\n            ^<__prefix> worse from <HOST>$\nignoreregex =\ndatepattern = ^%%Y-%%m-%%d %%H:%%M:%%S\n",
            "filter.d/f.local": "[Definition]\nignoreregex = ^ignore me\n",
        });
        const f = loadFilter(d, "f");
        assert.strictEqual(f.name, "f");
        assert.deepStrictEqual(f.failregex, ["^\\s*food: bad #1 from <HOST>$", "^\\s*food: worse from <HOST>$"]);
        assert.deepStrictEqual(f.ignoreregex, ["^ignore me"]);
        assert.strictEqual(f.datepattern, "^%Y-%m-%d %H:%M:%S");
        assert.strictEqual(f.prefregex, undefined);
    });

    it("applies [Init] defaults, filter arguments and <known/...>, and the jail's own regexes", () => {
        const d = mk({
            "filter.d/m.conf":
                "[Definition]\nre-normal = ^n <HOST>\nre-extra = ^e <HOST>\nfailregex = <re-<mode>>\nmaxlines = <lines>\n[Init]\nmode = normal\nlines = 1\n",
        });
        assert.deepStrictEqual(loadFilter(d, "m").failregex, ["^n <HOST>"]);
        assert.deepStrictEqual(loadFilter(d, "m[mode=extra, lines=3]").failregex, ["^e <HOST>"]);
        assert.strictEqual(loadFilter(d, "m[mode=extra, lines=3]").maxlines, 3);
        const j = loadFilter(d, "m", { failregex: "%(known/failregex)s\n^jail <HOST>", datepattern: "{^LN-BEG}" });
        assert.deepStrictEqual(j.failregex, ["^n <HOST>", "^jail <HOST>"]);
        assert.strictEqual(j.datepattern, "{^LN-BEG}");
    });

    it("takes a jail's (already interpolated) values literally and picks the journal flavour for systemd", () => {
        const d = mk({
            "filter.d/common.conf":
                "[DEFAULT]\nlogtype = file\n__prefix = <lt_<logtype>/p>\n[lt_file]\np = F\n[lt_journal]\np = J\n",
            "filter.d/k.conf": "[INCLUDES]\nbefore = common.conf\n[Definition]\nfailregex = ^<__prefix> <HOST>$\n",
        });
        const f = loadFilter(d, "k", { datepattern: "^%Y-%m-%d", ignoreregex: "100%" });
        assert.strictEqual(f.datepattern, "^%Y-%m-%d");
        assert.deepStrictEqual(f.ignoreregex, ["100%"]);
        assert.deepStrictEqual(f.failregex, ["^F <HOST>$"]);
        assert.deepStrictEqual(loadFilter(d, "k", { backend: "systemd" }).failregex, ["^J <HOST>$"]);
        assert.deepStrictEqual(loadFilter(d, "k[logtype=file]", { backend: "systemd" }).failregex, ["^F <HOST>$"]);
    });

    it("extends a filter from its .local with <known/...> and %(known/...)s", () => {
        const d = mk({
            "filter.d/e.conf": "[Definition]\nfailregex = ^a <HOST>$\nignoreregex = ^x$\n",
            "filter.d/e.local":
                "[Definition]\nfailregex = <known/failregex>\n            ^b <HOST>$\nignoreregex = %(known/ignoreregex)s\n              ^y$\n",
        });
        const f = loadFilter(d, "e");
        assert.deepStrictEqual(f.failregex, ["^a <HOST>$", "^b <HOST>$"]);
        assert.deepStrictEqual(f.ignoreregex, ["^x$", "^y$"]);
    });

    it("loads a filter file by path (fail2ban-regex style)", () => {
        const d = mk({
            "x/nginx-wp-xmlrpc.conf": '[Definition]\nfailregex = POST /xmlrpc.php HTTP/.*"<HOST>"$\nignoreregex =\n',
        });
        const f = loadFilterFile(path.join(d, "x/nginx-wp-xmlrpc.conf"));
        assert.strictEqual(f.name, "nginx-wp-xmlrpc");
        assert.deepStrictEqual(f.failregex, ['POST /xmlrpc.php HTTP/.*"<HOST>"$']);
        assert.deepStrictEqual(f.ignoreregex, []);
    });

    it("reports missing filters and bad maxlines with file and key", () => {
        const d = mk({ "filter.d/b.conf": "[Definition]\nfailregex = <HOST>\nmaxlines = lots\n" });
        assert.throws(() => loadFilter(d, "nope"), /nope\.conf: filter: filter "nope" not found/);
        assert.throws(() => loadFilter(d, "b"), /b\.conf:3: maxlines: maxlines must be a positive integer/);
    });

    it("loads every stock filter of /etc/fail2ban with its sshd-style modes", function () {
        if (!fs.existsSync("/etc/fail2ban/filter.d")) this.skip();
        const names = fs
            .readdirSync("/etc/fail2ban/filter.d")
            .filter(f => f.endsWith(".conf") && !f.endsWith("common.conf"));
        assert.ok(names.length > 50);
        for (const n of names) {
            const f = loadFilter("/etc/fail2ban", n.slice(0, -5));
            assert.ok(f.failregex.length > 0 || n === "ignorecommands", n);
            for (const r of f.failregex)
                assert.ok(!/%\(|<lt_|<_daemon>|<__prefix_line>/.test(r), `${n}: unresolved ${r}`);
        }
        const sshd = loadFilter("/etc/fail2ban", "sshd[mode=aggressive]");
        assert.ok(sshd.failregex.length > loadFilter("/etc/fail2ban", "sshd").failregex.length);
        assert.strictEqual(sshd.options.mode, "aggressive");
    });
});
