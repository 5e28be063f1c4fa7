// Issue 14, point 5: `usedns` as fail2ban has it (a `<HOST>` match that is a name is looked up with the system
// resolver: yes, warn with a warning, no never) and host names in `ignoreip`, looked up at start and reload.
// Before, names in a log were never counted and a name in ignoreip was a configuration error. `localhost`
// (/etc/hosts) is the name; the real fail2ban-server gets the same log and must ban the same addresses.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runCheck } from "../../watcher/src/cli/check";
import { lookupSync } from "../../watcher/src/jail/dns";
import { JailwatchServer } from "../../watcher/src/server/daemon";
import { Logger } from "../../watcher/src/server/log";
import { ServerOptions } from "../../watcher/src/server/options";
import { fail2banBanned, withFail2ban } from "./fail2ban-server";

/** A log line dated now (local time): fail2ban skips lines without a date. */
function failLine(host: string): string {
    const d = new Date();
    const p = (n: number) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} fail from ${host}\n`;
}

async function until(what: string, fn: () => boolean, tries = 1000): Promise<void> {
    for (let i = 0; i < tries; i++) {
        if (fn()) return;
        await new Promise(r => setTimeout(r, 10));
    }
    throw new Error(`timed out waiting for ${what}`);
}

describe("usedns and ignoreip host names", function () {
    this.timeout(120_000);
    let dir: string;
    let log: string;
    let server: JailwatchServer | undefined;
    let lines: string[];
    const localhost = lookupSync("localhost").sort();

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-dns-"));
        log = path.join(dir, "app.log");
        fs.writeFileSync(log, "");
        fs.mkdirSync(path.join(dir, "conf/filter.d"), { recursive: true });
        fs.writeFileSync(
            path.join(dir, "conf/filter.d/app.conf"),
            "[Definition]\nfailregex = ^\\s*fail from <HOST>$\n",
        );
    });
    afterEach(async () => {
        await server?.stop();
        server = undefined;
        fs.rmSync(dir, { recursive: true, force: true });
    });
    function jail(extra: string): void {
        fs.writeFileSync(
            path.join(dir, "conf/jail.conf"),
            `[app]\nenabled = true\nfilter = app\nlogpath = ${log}\nmaxretry = 3\nfindtime = 600\nbantime = 600\naction = dummy\nignoreself = false\n${extra}`,
        );
    }
    async function start(): Promise<JailwatchServer> {
        lines = [];
        const rec = (lv: string) => (m: string) => void lines.push(`${lv} ${m}`);
        const logger: Logger = { error: rec("error"), warn: rec("warn"), info: rec("info"), debug: rec("debug") };
        const opts: ServerOptions = {
            configDir: path.join(dir, "conf"),
            socket: path.join(dir, "s"),
            stateDir: path.join(dir, "state"),
            foreground: true,
            loglevel: "debug",
            polling: true,
            peers: { peers: [], port: 0, listen: "127.0.0.1" },
        };
        server = new JailwatchServer(opts, logger);
        await server.start();
        return server;
    }
    const bannedList = (s: JailwatchServer) => s.jails.get("app")!.jail.status().bannedList.sort();

    it("the machine resolves localhost (the test's name)", () => {
        assert.ok(localhost.includes("127.0.0.1"), JSON.stringify(localhost));
    });

    for (const mode of ["yes", "warn"]) {
        it(`usedns = ${mode}: a name in the log is looked up and its addresses banned, as fail2ban bans them`, async () => {
            jail(`usedns = ${mode}\n`);
            const s = await start();
            fs.appendFileSync(log, failLine("localhost").repeat(3));
            await until("the ban of localhost's addresses", () => bannedList(s).length === localhost.length);
            assert.deepEqual(bannedList(s), localhost);
            const warned = lines.some(l => l.startsWith("warn [app] Determined IP using DNS Lookup: localhost ="));
            assert.equal(warned, mode === "warn", lines.join("\n"));
            await s.stop();
            server = undefined;
            fs.writeFileSync(log, "");
            fs.rmSync(path.join(dir, "state"), { recursive: true, force: true });
            const theirs = await withFail2ban(path.join(dir, "conf"), dir, async client => {
                await new Promise(r => setTimeout(r, 1500));
                fs.appendFileSync(log, failLine("localhost").repeat(3));
                return fail2banBanned(client, "app", localhost.length);
            });
            assert.deepEqual(theirs, localhost, "fail2ban banned other addresses");
        });
    }

    it("usedns = no: a name is never counted", async () => {
        jail("usedns = no\n");
        const s = await start();
        fs.appendFileSync(log, failLine("localhost").repeat(3) + failLine("192.0.2.1").repeat(3));
        await until("the address's ban", () => bannedList(s).length === 1);
        assert.deepEqual(bannedList(s), ["192.0.2.1"]);
    });

    it("ignoreip = localhost: its addresses are never banned; -t accepts the name and refuses garbage", async () => {
        jail("usedns = yes\nignoreip = localhost 192.0.2.0/24\n");
        const out: string[] = [];
        assert.equal(
            runCheck(
                path.join(dir, "conf"),
                x => out.push(x),
                x => out.push(x),
            ),
            0,
            out.join("\n"),
        );
        const s = await start();
        fs.appendFileSync(
            log,
            failLine("127.0.0.1").repeat(3) + failLine("localhost").repeat(3) + failLine("198.51.100.1").repeat(3),
        );
        await until("the other address's ban", () => bannedList(s).length === 1);
        await new Promise(r => setTimeout(r, 200));
        assert.deepEqual(bannedList(s), ["198.51.100.1"]);
        jail("ignoreip = 127.0.0.1 not_an/address!\n");
        const err: string[] = [];
        assert.equal(
            runCheck(
                path.join(dir, "conf"),
                () => undefined,
                x => err.push(x),
            ),
            1,
        );
        assert.ok(
            err.join("\n").includes(`${path.join(dir, "conf/jail.conf")}:10: ignoreip: invalid value`),
            err.join("\n"),
        );
    });
});
