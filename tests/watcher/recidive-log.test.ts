// Issue 14, point 4: jailwatch writes its log in fail2ban's format, so the stock `recidive` jail (filter.d/recidive.conf
// from /etc/fail2ban, as it is) reads it: an address banned five times by one jail is banned by recidive. Before,
// the log had ISO timestamps and `Ban 1.2.3.4 (600s)`, which recidive's `Ban <HOST>\s*$` never matches.

import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { JailwatchServer } from "../../watcher/src/server/daemon";
import { createLogger, fail2banLine, logTargetFile } from "../../watcher/src/server/log";
import { ServerOptions } from "../../watcher/src/server/options";

async function until(what: string, fn: () => boolean, tries = 1000): Promise<void> {
    for (let i = 0; i < tries; i++) {
        if (fn()) return;
        await new Promise(r => setTimeout(r, 10));
    }
    throw new Error(`timed out waiting for ${what}`);
}

describe("recidive: jailwatch's own log in fail2ban's format", function () {
    this.timeout(120_000);
    let dir: string;
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-recidive-"));
    });

    it("a ban line is fail2ban's, and the real fail2ban-regex matches it with the stock recidive filter", () => {
        const file = path.join(dir, "f2b-format.log");
        const when = new Date();
        const lines = [
            fail2banLine("info", "[sshd] Ban 192.0.2.1 (600s)", when, 1234),
            fail2banLine("info", "[sshd] Ban 2001:db8::7 (permanent, ban #3)", when, 1234),
            fail2banLine("info", "[recidive] Ban 192.0.2.1 (604800s)", when, 1234),
            fail2banLine("info", "[sshd] Unban 192.0.2.1", when, 1234),
            fail2banLine("warn", "something else", when, 1234),
        ];
        assert.match(
            lines[0],
            /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} fail2ban\.actions {8}\[1234\]: NOTICE {2}\[sshd\] Ban 192\.0\.2\.1\n$/,
        );
        assert.match(lines[4], /^\S+ \S+ fail2ban\.server {9}\[1234\]: WARNING something else\n$/);
        fs.writeFileSync(file, lines.join(""));
        const out = execFileSync("fail2ban-regex", [file, "/etc/fail2ban/filter.d/recidive.conf"], {
            encoding: "utf8",
        });
        // Two bans by sshd match; recidive's own ban, the unban and other lines do not.
        assert.match(out, /Lines: 5 lines, 0 ignored, 2 matched, 3 missed/);
    });

    it("logtarget: jailwatch.conf's [server] value, else fail2ban.conf/.local's, else /var/log/jailwatch.log", () => {
        const conf = path.join(dir, "lt");
        fs.mkdirSync(path.join(conf, "fail2ban.d"), { recursive: true });
        assert.equal(logTargetFile(conf), "/var/log/jailwatch.log");
        fs.copyFileSync("/etc/fail2ban/fail2ban.conf", path.join(conf, "fail2ban.conf"));
        assert.equal(logTargetFile(conf), "/var/log/fail2ban.log");
        fs.writeFileSync(path.join(conf, "fail2ban.d/x.local"), "[Definition]\nlogtarget = /var/log/other.log\n");
        assert.equal(logTargetFile(conf), "/var/log/other.log");
        fs.writeFileSync(path.join(conf, "fail2ban.local"), "[Definition]\nlogtarget = SYSTEMD-JOURNAL\n");
        assert.equal(logTargetFile(conf), "/var/log/other.log", "fail2ban.d/*.local is read after fail2ban.local");
        assert.equal(logTargetFile(conf, "STDERR"), undefined);
    });

    it("the log file follows logrotate's rename + create", async () => {
        const file = path.join(dir, "rotating.log");
        const log = createLogger("info", () => undefined, false, file);
        log.info("[app] Ban 192.0.2.1 (600s)");
        fs.renameSync(file, `${file}.1`);
        await new Promise(r => setTimeout(r, 1100));
        log.info("[app] Ban 192.0.2.2 (600s)");
        assert.match(fs.readFileSync(`${file}.1`, "utf8"), /Ban 192\.0\.2\.1\n$/);
        assert.match(
            fs.readFileSync(file, "utf8"),
            /^\S+ \S+ fail2ban\.actions +\[\d+\]: NOTICE {2}\[app\] Ban 192\.0\.2\.2\n$/,
        );
    });

    it("end to end: five bans of one address by a jail, and recidive, following jailwatch's log, bans it", async () => {
        const conf = path.join(dir, "conf");
        const app = path.join(dir, "app.log");
        const own = path.join(dir, "jailwatch.log");
        fs.mkdirSync(path.join(conf, "filter.d"), { recursive: true });
        fs.copyFileSync("/etc/fail2ban/filter.d/recidive.conf", path.join(conf, "filter.d/recidive.conf"));
        fs.copyFileSync("/etc/fail2ban/filter.d/common.conf", path.join(conf, "filter.d/common.conf"));
        fs.writeFileSync(path.join(conf, "filter.d/app.conf"), "[Definition]\nfailregex = ^fail from <HOST>$\n");
        fs.writeFileSync(app, "");
        fs.writeFileSync(own, "");
        // recidive as jail.conf ships it (maxretry 5 in 1 day, a week's ban), pointed at our log.
        fs.writeFileSync(
            path.join(conf, "jail.conf"),
            `[DEFAULT]\nbanaction = dummy\nignoreself = false\n[app]\nenabled = true\nfilter = app\nlogpath = ${app}\nmaxretry = 2\nbantime = 600\n` +
                `[recidive]\nenabled = true\nlogpath = ${own}\nbanaction = dummy\nbantime = 1w\nfindtime = 1d\n`,
        );
        const opts: ServerOptions = {
            configDir: conf,
            socket: path.join(dir, "s"),
            stateDir: path.join(dir, "state"),
            foreground: true,
            loglevel: "info",
            polling: true,
            peers: { peers: [], port: 0, listen: "127.0.0.1" },
        };
        const server = new JailwatchServer(
            opts,
            createLogger("info", () => undefined, false, own),
        );
        await server.start();
        try {
            for (let i = 1; i <= 5; i++) {
                fs.appendFileSync(app, "fail from 198.51.100.4\n".repeat(2));
                await until(`ban #${i}`, () =>
                    server.jails.get("app")!.jail.bans.isBanned("198.51.100.4", server.now()),
                );
                if (i < 5) assert.ok(server.unbanAddress("app", "198.51.100.4"));
            }
            await until(
                "recidive's ban",
                () => server.jails.get("recidive")!.jail.bans.isBanned("198.51.100.4", server.now()),
                1500,
            );
            const text = fs.readFileSync(own, "utf8");
            assert.equal(text.match(/NOTICE {2}\[app\] Ban 198\.51\.100\.4$/gm)?.length, 5, text);
            assert.match(text, /NOTICE {2}\[recidive\] Ban 198\.51\.100\.4$/m);
        } finally {
            await server.stop();
        }
        const out = execFileSync("fail2ban-regex", [own, "/etc/fail2ban/filter.d/recidive.conf"], { encoding: "utf8" });
        assert.match(out, /\d+ lines, 0 ignored, 5 matched/, out);
    });
});
