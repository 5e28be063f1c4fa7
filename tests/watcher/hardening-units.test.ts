// Issue 14, point 7: the stage-level defects (line readers, replay guard, firewall batches, process spawning,
// settings that could not run), each pinned by a test that failed on the code before the fix.

import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ipsetBanBatch } from "../../watcher/src/actions/ipset-text";
import { nftBanBatch, nftStartBatch } from "../../watcher/src/actions/nftables-text";
import { runCheck } from "../../watcher/src/cli/check";
import { compileFilter } from "../../watcher/src/filter/filter";
import { catastrophicPatterns } from "../../watcher/src/filter/backtracking";
import { LineSplitter } from "../../watcher/src/follow/lines";
import { ReplayGuard } from "../../watcher/src/peers/message";
import { LineFramer } from "../../watcher/src/socketLines";

const ROOT = path.resolve(__dirname, "../..");

describe("hardening: stages", function () {
    this.timeout(60_000);

    it("log lines: a 100 MB line is dropped and counted, holding at most the line limit in memory", () => {
        const s = new LineSplitter(64 * 1024);
        const chunk = Buffer.alloc(4 * 1024 * 1024, 0x61);
        let held = 0;
        let delivered: string[] = [];
        for (let i = 0; i < 25; i++) {
            delivered = delivered.concat(s.push(chunk).lines);
            held = Math.max(held, s.held);
        }
        const end = s.push(Buffer.from("\nnext line\n"));
        delivered = delivered.concat(end.lines);
        assert.deepStrictEqual(delivered, ["next line"]);
        assert.strictEqual(s.dropped, 1);
        assert.ok(held <= 64 * 1024, `held ${held} bytes`);
        // The saved offset points past the dropped line, at the start of the next one.
        assert.strictEqual(end.consumed + 0, 25 * chunk.length + "\nnext line\n".length);
    });

    it("socket lines: each byte is scanned for a newline once, however the line is chunked", () => {
        const f = new LineFramer(200 * 1024 * 1024);
        const chunk = "a".repeat(64 * 1024);
        for (let i = 0; i < 400; i++) assert.deepStrictEqual(f.push(chunk), []);
        assert.deepStrictEqual(f.push("b\nc\nd"), ["a".repeat(400 * 64 * 1024) + "b", "c"]);
        assert.ok(f.scanned <= 400 * 64 * 1024 + 10, `scanned ${f.scanned} characters`);
        const small = new LineFramer(1024);
        assert.deepStrictEqual(small.push("x".repeat(1025)), []);
        assert.ok(small.overflowed, "refused as soon as the limit is passed, without a newline");
    });

    it("replay guard: 100,000 checks cost linear work, and expired nonces are forgotten", () => {
        const g = new ReplayGuard();
        for (let i = 0; i < 100_000; i++) assert.ok(g.check(`n${i}`, 1000 + i / 1000));
        assert.ok(!g.check("n99999", 1100));
        assert.ok(g.visited <= 2 * 100_000, `visited ${g.visited}`);
        g.check("late", 10_000);
        assert.strictEqual(g.size, 1, "everything past the window is gone");
    });

    it("firewall batches: a ban longer than the kernel's timeout limit is installed without one (the server lifts it)", () => {
        const j = { name: "j", port: "", protocol: "tcp" };
        const batch = nftStartBatch(
            [j],
            [
                { jail: "j", ip: "192.0.2.1", timeout: 2e8 },
                { jail: "j", ip: "192.0.2.2", timeout: 60 },
            ],
            false,
        );
        assert.ok(batch.includes("{ 192.0.2.1, 192.0.2.2 timeout 60s }"), batch);
        assert.ok(nftBanBatch([{ jail: "j", ip: "192.0.2.1", timeout: 5 * 365 * 86400 }]).endsWith("{ 192.0.2.1 }\n"));
        assert.match(ipsetBanBatch([{ jail: "j", ip: "192.0.2.1", timeout: 30 * 86400 }]), / timeout 0$/m);
    });

    it("spawning a firewall tool with no descriptors left is an error, not a crash", () => {
        // A child with a low descriptor limit uses them all up, then runs a tool through spawnExec and the nft session.
        const script = `
            const { spawnExec } = require(${JSON.stringify(path.join(ROOT, "watcher/src/actions/exec"))});
            const { NftSession } = require(${JSON.stringify(path.join(ROOT, "watcher/src/actions/nft-session"))});
            const fs = require("fs");
            const fds = [];
            try { for (;;) fds.push(fs.openSync("/dev/null", "r")); } catch {}
            (async () => {
                const r = await spawnExec("true", [], "");
                let s = "none";
                await new NftSession(["true"]).run("add table inet x").catch((e) => { s = e.code || e.message; });
                for (const fd of fds) fs.closeSync(fd);
                console.log("alive", r.code, s);
            })();`;
        const r = spawnSync(
            "bash",
            [
                "-c",
                `ulimit -n 64; exec "${process.execPath}" -r ts-node/register/transpile-only -e '${script.replace(/'/g, "'\\''")}'`,
            ],
            { cwd: ROOT, encoding: "utf8", timeout: 30_000 },
        );
        assert.match(r.stdout, /^alive [1-9]\d* \S+/m, r.stderr);
        assert.strictEqual(r.status, 0);
    });

    it("a catastrophic regex costs bounded time, and -t names it", () => {
        assert.deepStrictEqual(catastrophicPatterns(["^(a+)+b$", "^x(\\d+)y$", "(\\w+\\s?)*$"]), [0, 2]);
        // Loading the filter stage turns on V8's linear-time fallback: without it this takes 2^30 steps (16 s);
        // with it, the test finishes (mocha's timeout is the bound, not a measurement).
        assert.ok(compileFilter);
        assert.strictEqual(new RegExp("^(a+)+b$").test("a".repeat(30)), false);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-evil-"));
        try {
            fs.mkdirSync(path.join(dir, "filter.d"));
            fs.writeFileSync(path.join(dir, "filter.d/evil.conf"), "[Definition]\nfailregex = ^(a+)+b <HOST>$\n");
            fs.writeFileSync(
                path.join(dir, "jail.conf"),
                "[evil]\nenabled = true\nfilter = evil\nlogpath = /dev/null\nbanaction = dummy\n",
            );
            const out: string[] = [];
            const code = runCheck(
                dir,
                s => out.push(s),
                s => out.push(s),
            );
            assert.strictEqual(code, 0, out.join("\n"));
            assert.ok(
                out.some(l => /^WARNING: .*filter\.d\/evil\.conf:2: failregex: .*nested quantifier/.test(l)),
                out.join("\n"),
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("-t rejects a port nft cannot resolve and a protocol it does not know, naming file, line and key", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-port-"));
        try {
            fs.cpSync(path.join(ROOT, "watcher/config"), dir, { recursive: true });
            fs.writeFileSync(
                path.join(dir, "jail.local"),
                "[nginx-wp-xmlrpc]\nport = http,nosuchservice\n\n[nginx-wp-login]\nport = 70000\nprotocol = tcp\n",
            );
            const err: string[] = [];
            assert.strictEqual(
                runCheck(
                    dir,
                    () => undefined,
                    s => err.push(s),
                ),
                1,
            );
            const file = path.join(dir, "jail.local");
            assert.ok(
                err.some(l => l.includes(`${file}:2: port: unknown service "nosuchservice"`)),
                err.join("\n"),
            );
            assert.ok(
                err.some(l => l.includes(`${file}:5: port: port 70000 out of range`)),
                err.join("\n"),
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
