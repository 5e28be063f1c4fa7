// Issue 14, point 5: at the first start (no saved position), the lines already in a log that are within findtime
// are read, as fail2ban reads them; older lines are not, and the position is remembered from then on. Before,
// such a log was always read from its end, so an attack logged just before the start went unbanned. The same
// log is given to the real fail2ban-server (dummy action) to compare.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { JailwatchServer } from "../../watcher/src/server/daemon";
import { silentLogger } from "../../watcher/src/server/log";
import { ServerOptions } from "../../watcher/src/server/options";
import { fail2banBanned, withFail2ban } from "./fail2ban-server";

async function until(what: string, fn: () => boolean, tries = 1000): Promise<void> {
    for (let i = 0; i < tries; i++) {
        if (fn()) return;
        await new Promise(r => setTimeout(r, 10));
    }
    throw new Error(`timed out waiting for ${what}`);
}

/** `2026-12-02 01:02:03` in local time, `ago` seconds before now. */
function stamp(ago: number): string {
    const d = new Date(Date.now() - ago * 1000);
    const p = (n: number) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

describe("start-up: lines already in a log within findtime are read at first start", function () {
    this.timeout(120_000);
    let dir: string;
    let log: string;
    let server: JailwatchServer | undefined;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-startup-"));
        log = path.join(dir, "app.log");
        fs.mkdirSync(path.join(dir, "conf/filter.d"), { recursive: true });
        fs.writeFileSync(
            path.join(dir, "conf/filter.d/app.conf"),
            "[Definition]\nfailregex = ^\\s*fail from <HOST>$\n",
        );
        fs.writeFileSync(
            path.join(dir, "conf/jail.conf"),
            `[app]\nenabled = true\nfilter = app\nlogpath = ${log}\nmaxretry = 3\nfindtime = 600\nbantime = 600\nbanaction = dummy\naction = dummy\nignoreself = false\n`,
        );
    });
    afterEach(async () => {
        await server?.stop();
        server = undefined;
        fs.rmSync(dir, { recursive: true, force: true });
    });
    async function start(): Promise<JailwatchServer> {
        const opts: ServerOptions = {
            configDir: path.join(dir, "conf"),
            socket: path.join(dir, "s"),
            stateDir: path.join(dir, "state"),
            foreground: true,
            loglevel: "error",
            polling: true,
            peers: { peers: [], port: 0, listen: "127.0.0.1" },
        };
        server = new JailwatchServer(opts, silentLogger);
        await server.start();
        return server;
    }
    const banned = (s: JailwatchServer, ip: string) => s.jails.get("app")!.jail.bans.isBanned(ip, s.now());

    it("bans from failures logged within findtime before the start, not from older ones (a large log is bisected)", async () => {
        const old: string[] = [];
        for (let i = 0; i < 50_000; i++) old.push(`${stamp(7200 - i * 0.1)} fail from 198.51.100.${i % 200}`);
        const recent = [
            `${stamp(120)} fail from 192.0.2.1`,
            `${stamp(90)} fail from 192.0.2.1`,
            `${stamp(60)} fail from 192.0.2.1`,
            `${stamp(30)} fail from 192.0.2.2`,
        ];
        fs.writeFileSync(log, [...old, ...recent].join("\n") + "\n");
        const s = await start();
        await until("the ban from lines logged before the start", () => banned(s, "192.0.2.1"));
        assert.ok(!banned(s, "198.51.100.7"), "lines older than findtime were counted");
        assert.ok(s.linesRead() < 1000, `read ${s.linesRead()} lines: the old part of the log was scanned`);
        // The position is remembered: a restart does not read those lines again.
        await s.stop();
        const again = await start();
        fs.appendFileSync(log, `${stamp(0)} fail from 192.0.2.2\n${stamp(0)} fail from 192.0.2.2\n`);
        await until("the new lines", () => again.linesRead() === 2);
        assert.ok(banned(again, "192.0.2.1"), "the ban was kept");
    });

    it("a log whose lines carry no date starts at its end, as before", async () => {
        fs.writeFileSync(log, "fail from 192.0.2.3\n".repeat(5));
        const s = await start();
        await s.settle();
        assert.equal(s.linesRead(), 0);
        assert.ok(!banned(s, "192.0.2.3"));
    });

    it("the real fail2ban-server bans from the same log the same way", async function () {
        const recent = [
            `${stamp(7200)} fail from 192.0.2.9`,
            `${stamp(7100)} fail from 192.0.2.9`,
            `${stamp(7000)} fail from 192.0.2.9`,
        ];
        for (const ago of [120, 90, 60]) recent.push(`${stamp(ago)} fail from 192.0.2.1`);
        fs.writeFileSync(log, recent.join("\n") + "\n");
        const conf = path.join(dir, "conf");
        const theirs = await withFail2ban(conf, dir, client => fail2banBanned(client, "app", 1));
        assert.deepEqual(theirs, ["192.0.2.1"]);
        const s = await start();
        await until("jailwatch's ban", () => banned(s, "192.0.2.1"));
        assert.ok(!banned(s, "192.0.2.9"));
    });
});
