import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadFilterFile } from "../../watcher/src/config/reader";
import { compileFilter, failRegexDisplay } from "../../watcher/src/filter/filter";
import { expandTags } from "../../watcher/src/filter/tags";
import { ConfigError, FilterDefinition } from "../../watcher/src/types";

const NOW = Date.UTC(2016, 4, 16, 0, 0, 0) / 1000;
const def = (d: Partial<FilterDefinition>): FilterDefinition => ({
    name: "t",
    failregex: [],
    ignoreregex: [],
    options: {},
    ...d,
});
const utc = { logTimeZone: "UTC" };
const SEED = 'POST /xmlrpc.php HTTP/.*"<HOST>"$';
const nginx = (ip: string, xff: string, req = "POST /xmlrpc.php HTTP/1.0", t = "22:40:37") =>
    `${ip} - - [15/May/2016:${t} +0000] "${req}" 200 370 "-" "Mozilla/4.0 (compatible: MSIE 7.0; Windows NT 6.0)" "${xff}"`;

describe("filter engine", () => {
    it("matches the seed's filter on the seed's line: host, time, date template", () => {
        const f = compileFilter(def({ failregex: [SEED] }), utc);
        const r = f.processLine(nginx("127.0.0.1", "192.0.2.10"), NOW);
        assert.strictEqual(r.kind, "matched");
        assert.strictEqual(r.host, "192.0.2.10");
        assert.strictEqual(r.failregexIndex, 0);
        assert.strictEqual(r.time, Date.UTC(2016, 4, 15, 22, 40, 37) / 1000);
        assert.strictEqual(
            r.dateTemplate,
            "Day(?P<_sep>[-/])MON(?P=_sep)ExYear[ :]?24hour:Minute:Second(?:\\.Microseconds)?(?: Zone offset)?",
        );
        assert.strictEqual(f.processLine(nginx("127.0.0.1", "192.0.2.10", "GET / HTTP/1.0"), NOW).kind, "missed");
    });

    it("keeps finding the date when the address before it changes length, and each line's own time", () => {
        const f = compileFilter(def({ failregex: [SEED] }), utc);
        const lines = [
            nginx("1.2.3.4", "192.0.2.1", undefined, "22:40:37"),
            nginx("10.20.30.40", "192.0.2.2", undefined, "22:40:37"),
            nginx("2001:db8::1", "192.0.2.3", undefined, "22:40:38"),
            nginx("1.2.3.4", "192.0.2.4", undefined, "22:40:38"),
        ];
        const got = lines.map(l => f.processLine(l, NOW));
        assert.deepStrictEqual(
            got.map(r => r.host),
            ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"],
        );
        const base = Date.UTC(2016, 4, 15, 22, 40, 37) / 1000;
        assert.deepStrictEqual(
            got.map(r => r.time),
            [base, base, base + 1, base + 1],
        );
    });

    it("extracts IPv4, IPv6, IPv4-mapped IPv6 and host names with <HOST>; <ADDR> takes addresses only", () => {
        const f = compileFilter(def({ failregex: ["^from <HOST>$"] }), utc);
        assert.strictEqual(f.processLine("from 192.0.2.7", NOW).host, "192.0.2.7");
        assert.strictEqual(f.processLine("from 2001:db8::7", NOW).host, "2001:db8::7");
        assert.strictEqual(f.processLine("from [2001:db8::8]", NOW).host, "2001:db8::8");
        assert.strictEqual(f.processLine("from ::ffff:192.0.2.9", NOW).host, "192.0.2.9");
        assert.strictEqual(f.processLine("from attacker.example.com", NOW).host, "attacker.example.com");
        const a = compileFilter(def({ failregex: ["^from <ADDR>$"] }), utc);
        assert.strictEqual(a.processLine("from attacker.example.com", NOW).kind, "missed");
        const nodns = compileFilter(def({ failregex: ["^from <HOST>$"] }), { ...utc, useDns: "no" });
        assert.strictEqual(nodns.processLine("from attacker.example.com", NOW).kind, "missed");
        assert.strictEqual(nodns.processLine("from 192.0.2.7", NOW).host, "192.0.2.7");
    });

    it("supports <IP4>, <IP6>, <SUBNET>/<CIDR>, <F-ID>, <F-USER>, F-ALT_ and custom F-tags", () => {
        const f = compileFilter(
            def({
                failregex: [
                    "^v4 <IP4>$",
                    "^v6 <IP6>$",
                    "^net <SUBNET>$",
                    "^id <F-ID>\\S+</F-ID> from <HOST>$",
                    "^user (?:<F-USER>\\w+</F-USER>|<F-ALT_USER>\\S+</F-ALT_USER>) from <ADDR>$",
                    "^custom <F-SESSION>\\d+</F-SESSION> <F-ID/>$",
                ],
            }),
            utc,
        );
        assert.strictEqual(f.processLine("v4 192.0.2.1", NOW).host, "192.0.2.1");
        assert.strictEqual(f.processLine("v4 2001:db8::1", NOW).kind, "missed");
        assert.strictEqual(f.processLine("v6 2001:db8::1", NOW).host, "2001:db8::1");
        const n = f.processLine("net 192.0.2.0/24", NOW);
        assert.deepStrictEqual([n.host, n.groups?.cidr], ["192.0.2.0", "24"]);
        const id = f.processLine("id sess-1 from 192.0.2.2", NOW);
        assert.deepStrictEqual([id.host, id.fid], ["192.0.2.2", "sess-1"]);
        assert.strictEqual(f.processLine("user bob from 192.0.2.3", NOW).user, "bob");
        assert.strictEqual(f.processLine("user b.o-b from 192.0.2.3", NOW).user, "b.o-b");
        const c = f.processLine("custom 42 token", NOW);
        assert.deepStrictEqual([c.host, c.fid, c.groups?.session], ["token", "token", "42"]);
    });

    it("marks <F-NOFAIL> hits as no failure", () => {
        const f = compileFilter(def({ failregex: ["^<F-NOFAIL>ok</F-NOFAIL> <HOST>$", "^bad <HOST>$"] }), utc);
        const ok = f.processLine("ok 192.0.2.1", NOW);
        assert.deepStrictEqual([ok.kind, ok.noFail], ["matched", true]);
        assert.strictEqual(f.processLine("bad 192.0.2.1", NOW).noFail, undefined);
    });

    it("applies ignoreregex after a failregex hit", () => {
        const f = compileFilter(def({ failregex: ["^fail <HOST>"], ignoreregex: ["friendly$"] }), utc);
        const r = f.processLine("fail 192.0.2.1 friendly", NOW);
        assert.deepStrictEqual([r.kind, r.ignoreregexIndex], ["ignored", 0]);
        assert.strictEqual(f.processLine("fail 192.0.2.1 hostile", NOW).kind, "matched");
    });

    it("runs failregexes on prefregex's <F-CONTENT> and keeps prefregex groups", () => {
        const f = compileFilter(
            def({
                prefregex: "^\\S+ <F-MLFID>sshd\\[\\d+\\]</F-MLFID>: <F-CONTENT>.+</F-CONTENT>$",
                failregex: ["^Invalid user <F-USER>\\S+</F-USER> from <HOST>$"],
            }),
            utc,
        );
        const r = f.processLine("host sshd[12]: Invalid user eve from 192.0.2.5", NOW);
        assert.deepStrictEqual([r.kind, r.host, r.user, r.groups?.mlfid], ["matched", "192.0.2.5", "eve", "sshd[12]"]);
        assert.strictEqual(f.processLine("host cron[1]: Invalid user eve from 192.0.2.5", NOW).kind, "missed");
        // ^ anchors at the content, not at the line
        assert.strictEqual(f.processLine("host sshd[12]: x Invalid user eve from 192.0.2.5", NOW).kind, "missed");
    });

    it("merges lines of one multi-line id (F-MLFID): the address arrives later", () => {
        const f = compileFilter(
            def({
                prefregex: "^<F-MLFID>c\\d+</F-MLFID> <F-CONTENT>.+</F-CONTENT>$",
                failregex: ["^user <F-USER>\\S+</F-USER> failed$", "^connect from <HOST>$"],
            }),
            utc,
        );
        const first = f.processLine("c1 user eve failed", NOW);
        assert.deepStrictEqual([first.kind, first.noFail, first.host], ["matched", true, undefined]);
        const second = f.processLine("c1 connect from 192.0.2.6", NOW);
        assert.deepStrictEqual([second.noFail, second.host, second.user], [undefined, "192.0.2.6", "eve"]);
    });

    it("buffers maxlines lines for multi-line regexes", () => {
        const f = compileFilter(def({ maxlines: 2, failregex: ["^login from <HOST>\\n^denied$"] }), utc);
        assert.strictEqual(f.processLine("login from 192.0.2.8", NOW).kind, "missed");
        const r = f.processLine("denied", NOW);
        assert.deepStrictEqual([r.kind, r.host], ["matched", "192.0.2.8"]);
        // the matched lines leave the buffer: a second "denied" alone does not match again
        assert.strictEqual(f.processLine("denied", NOW).kind, "missed");
    });

    it("reads zone-less dates in the jail's logtimezone", () => {
        const line = "2016-05-15 22:40:37 fail from 192.0.2.9";
        const t = (o: Record<string, string>) =>
            compileFilter(def({ failregex: ["fail from <HOST>"], options: o })).processLine(line, NOW).time;
        assert.strictEqual(t({ logtimezone: "UTC+0200" }), Date.UTC(2016, 4, 15, 20, 40, 37) / 1000);
        assert.strictEqual(t({ logtimezone: "UTC" }), Date.UTC(2016, 4, 15, 22, 40, 37) / 1000);
        assert.throws(() => t({ logtimezone: "Mars/Olympus" }), /unknown or unsupported time zone/);
    });

    it("removes the date before matching, so regexes anchor at the message", () => {
        const f = compileFilter(def({ failregex: ["^\\s*host sshd: fail from <HOST>$"] }), utc);
        const r = f.processLine("2016-05-15 22:40:37 host sshd: fail from 192.0.2.9", NOW);
        assert.deepStrictEqual([r.kind, r.time], ["matched", Date.UTC(2016, 4, 15, 22, 40, 37) / 1000]);
    });

    it("finds literal text that only exists once the date is cut out", () => {
        const f = compileFilter(def({ failregex: ["x-\\[\\]-y <HOST>$"] }), utc);
        const lines = [
            "x-[15/May/2016:22:40:37 +0000]-y 192.0.2.1",
            "x-[15/May/2016:22:40:37 +0000]-y 192.0.2.2",
            "x-[15/May/2016:22:40:38 +0000]-z 192.0.2.3",
        ];
        assert.deepStrictEqual(
            lines.map(l => f.processLine(l, NOW).host),
            ["192.0.2.1", "192.0.2.2", undefined],
        );
    });

    it("answers the same whether a failregex runs around the date or on the cut line", () => {
        // `(?:)` in front hides the leading literal, forcing the plain path: both must agree on every line.
        const fast = compileFilter(def({ failregex: ['fail from <HOST>"?$'] }), utc);
        const plain = compileFilter(def({ failregex: ['(?:)fail from <HOST>"?$'] }), utc);
        const lines = [
            "fail from 192.0.2.1 [15/May/2016:22:40:37 +0000] fail from 192.0.2.2",
            "x [15/May/2016:22:40:37 +0000] fail from 192.0.2.3",
            "fail from 192.0.2.4 [15/May/2016:22:40:38 +0000]",
            "fail [15/May/2016:22:40:38 +0000]from 192.0.2.5",
            '[15/May/2016:22:40:39 +0000] fail from 2001:db8::9"',
            "nothing [15/May/2016:22:40:39 +0000] here",
        ];
        const view = (r: { kind: string; host?: string; time?: number }) => [r.kind, r.host, r.time];
        assert.deepStrictEqual(
            lines.map(l => view(fast.processLine(l, NOW))),
            lines.map(l => view(plain.processLine(l, NOW))),
        );
        assert.deepStrictEqual(
            lines.map(l => fast.processLine(l, NOW).host),
            ["192.0.2.2", "192.0.2.3", undefined, undefined, "2001:db8::9", undefined],
        );
    });

    it("shows failregexes as configured (with tags)", () => {
        assert.deepStrictEqual(failRegexDisplay(def({ failregex: [SEED, "^x <F-ID/>"] })), [SEED, "^x <F-ID/>"]);
        assert.deepStrictEqual(compileFilter(def({ failregex: [SEED] })).failRegexDisplay, [SEED]);
    });

    it("rejects untranslatable regexes and regexes without failure id with a ConfigError", () => {
        assert.throws(
            () => compileFilter(def({ name: "bad", failregex: ["(?L)<HOST>"] })),
            (e: unknown) => e instanceof ConfigError && /filter bad: failregex: .*locale-dependent/.test(e.message),
        );
        assert.throws(() => compileFilter(def({ failregex: ["^no id here$"] })), /no failure-id group/);
        assert.throws(
            () => compileFilter(def({ failregex: ["<HOST>"], datepattern: "%Q" })),
            (e: unknown) => e instanceof ConfigError,
        );
    });

    it("names the filter file, line and key when a loaded filter does not compile", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-filter-"));
        try {
            const file = path.join(dir, "bad.conf");
            fs.writeFileSync(file, "[Definition]\n# comment\nfailregex = ^ok <HOST>$\n            ^broken (<HOST>$\n");
            assert.throws(
                () => compileFilter(loadFilterFile(file)),
                (e: unknown) =>
                    e instanceof ConfigError &&
                    e.message.startsWith(`${file}:3: failregex: `) &&
                    /missing \)/.test(e.message),
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("usedns and <HOST>, as fail2ban's setUseDns reads the value", () => {
    const host = (v: string) => new RegExp(`^${expandTags("<HOST>", v).replace(/\(\?P</g, "(?<")}$`);
    it("'no' in any case, or a value fail2ban does not know, matches addresses only", () => {
        for (const v of ["no", "NO", " No ", "bogus", "true"]) {
            assert.ok(host(v).test("192.0.2.7"), v);
            assert.ok(!host(v).test("attacker.example.com"), `${v}: a host name matched`);
        }
    });
    it("'yes', 'warn', 'raw' in any case also match host names", () => {
        for (const v of ["yes", "WARN", "Raw"]) assert.ok(host(v).test("attacker.example.com"), v);
    });
});
