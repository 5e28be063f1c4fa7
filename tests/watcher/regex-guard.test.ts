// Issue 14, point 7: a catastrophic regex in one jail (`(a+)+b` on a 30-character line) blocked every jail. The
// cost of matching one line is bounded (filter/guard.ts): the line is abandoned and counted, the others go on.

import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DummyAction } from "../../watcher/src/actions/dummy";
import { LineBudget, LineGuard } from "../../watcher/src/filter/guard";
import { JailwatchServer } from "../../watcher/src/server/daemon";
import { silentLogger } from "../../watcher/src/server/log";
import { ServerOptions } from "../../watcher/src/server/options";

const GOOD = "nginx-wp-xmlrpc";
const EVIL = "evil";
// 30 characters of `a` before " b": `(a+)+` then fails on the space and tries its 2^30 splits of the run.
const EVIL_LINE = `${"a".repeat(30)} b 192.0.2.77x\n`;

function accessLine(ip: string): string {
    const d = new Date();
    const m = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][d.getUTCMonth()];
    const p = (n: number) => String(n).padStart(2, "0");
    return `127.0.0.1 - - [${p(d.getUTCDate())}/${m}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000] "POST /xmlrpc.php HTTP/1.1" 200 370 "-" "UA" "${ip}"\n`;
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

describe("regex guard: one jail's catastrophic regex cannot stall the others", function () {
    this.timeout(120_000);

    describe("LineGuard", () => {
        // A backreference: V8's linear-time fallback cannot take this pattern, only the guard bounds it.
        const evil = /^(a+)+\1b/;

        it("abandons the line that runs out of its budget, even with a backreference, and runs the others", () => {
            const lines = ["ab", "a".repeat(30), "aab", "c"];
            const done: number[] = [];
            const abandoned = new LineGuard().forEach(lines.length, new LineBudget(50), i => {
                evil.test(lines[i]);
                done.push(i);
            });
            assert.deepStrictEqual(abandoned, [1]);
            assert.deepStrictEqual(done, [0, 2, 3]);
        });

        it("a jail that keeps abandoning lines comes down to the floor budget, and climbs back after clean batches", () => {
            const budget = new LineBudget(80, 5);
            const lines = Array.from({ length: 8 }, () => "a".repeat(30));
            const abandoned = new LineGuard().forEach(lines.length, budget, i => void evil.test(lines[i]));
            assert.deepStrictEqual(abandoned, [0, 1, 2, 3, 4, 5, 6, 7]);
            assert.strictEqual(budget.ms, 5);
            for (let k = 0; k < 5; k++) new LineGuard().forEach(1, budget, () => undefined);
            assert.strictEqual(budget.ms, 80);
        });

        it("lets an error thrown by a line through, as without the guard", () => {
            assert.throws(
                () =>
                    new LineGuard().forEach(3, new LineBudget(), i => {
                        if (i === 1) throw new RangeError("bad line");
                    }),
                /RangeError: bad line/,
            );
        });
    });

    describe("in the server", () => {
        let dir: string;
        let server: JailwatchServer | undefined;
        let action: DummyAction;

        beforeEach(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-guard-"));
        });
        afterEach(async () => {
            await server?.stop();
            server = undefined;
            fs.rmSync(dir, { recursive: true, force: true });
        });

        it("another jail bans while the evil one is fed 30-character lines; those lines are counted as timed out", async () => {
            const conf = path.join(dir, "conf");
            const good = path.join(dir, "access.log");
            const evil = path.join(dir, "evil.log");
            fs.cpSync(path.resolve(__dirname, "../../watcher/config"), conf, { recursive: true });
            fs.writeFileSync(path.join(conf, "filter.d/evil.conf"), "[Definition]\nfailregex = ^(a+)+b <HOST>$\n");
            fs.writeFileSync(
                path.join(conf, "jail.local"),
                `[${GOOD}]\nlogpath = ${good}\nmaxretry = 3\nbanaction = dummy\nignoreself = false\n\n` +
                    `[${EVIL}]\nenabled = true\nfilter = evil\nlogpath = ${evil}\nmaxretry = 1\nbanaction = dummy\nignoreself = false\n`,
            );
            fs.writeFileSync(good, "");
            fs.writeFileSync(evil, "");
            const opts: ServerOptions = {
                configDir: conf,
                socket: path.join(dir, "jw.sock"),
                stateDir: path.join(dir, "state"),
                foreground: true,
                loglevel: "error",
                polling: false,
                peers: { peers: [], port: 0, listen: "127.0.0.1" },
            };
            action = new DummyAction(silentLogger);
            server = new JailwatchServer(opts, silentLogger, { createAction: () => action });
            await server.start();

            // Feed the evil log, one line at a time, while the good jail's failures arrive; the good ban must
            // come while the feeding still goes on (bounded: 400 lines at most).
            let fed = 0;
            let feeding = true;
            const feeder = (async () => {
                while (feeding && fed < 400) {
                    fs.appendFileSync(evil, EVIL_LINE);
                    fed++;
                    await sleep(20);
                }
            })();
            let banned = false;
            let fedAtBan = -1;
            try {
                while (fed < 3) await sleep(10);
                fs.appendFileSync(good, accessLine("203.0.113.9").repeat(3));
                for (let i = 0; i < 2000 && fed < 400; i++) {
                    if (action.sets.get(GOOD)?.has("203.0.113.9")) {
                        banned = true;
                        fedAtBan = fed;
                        break;
                    }
                    await sleep(10);
                }
            } finally {
                feeding = false;
                await feeder;
            }
            assert.ok(banned, `no ban in [${GOOD}] while [${EVIL}] was fed ${fed} lines`);
            assert.ok(fedAtBan < 400, "the ban came only after the feeding stopped");

            // The evil lines were abandoned, counted and reported; none of them banned anything.
            const metrics = server.metricsText();
            const m = /^jailwatch_lines_timed_out_total\{jail="evil"\} (\d+)$/m.exec(metrics);
            assert.ok(m && Number(m[1]) >= 1, metrics);
            assert.ok(!action.sets.get(EVIL)?.size);
            const r = await server.handle(["status"]);
            assert.ok(r.ok);
            assert.match(
                r.text,
                /^! jail \[evil\]: \d+ line\(s\) abandoned: matching one took over 100 ms \(5 ms while the jail keeps doing so/m,
            );
        });
    });
});
