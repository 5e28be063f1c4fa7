// Issue 14, point 1: every action.d action that has no native path runs as fail2ban runs it: its commands through
// `/bin/sh -c` with fail2ban's tags (`<ip>`, `<name>`, `<port>`, `[Init]` overrides, `action[k=v]` arguments,
// `%(...)s`, [INCLUDES]), bounded by `timeout`, each failure reported on its own. Before, such an action was
// refused (or, before that, silently replaced by a firewall ban).

import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { resolveDynamic } from "../../watcher/src/actions/interpolate";
import { runShell } from "../../watcher/src/actions/shell";
import { runCheck } from "../../watcher/src/cli/check";
import { JailwatchServer } from "../../watcher/src/server/daemon";
import { Logger } from "../../watcher/src/server/log";
import { ServerOptions } from "../../watcher/src/server/options";

function recordingLogger(): Logger & { lines: string[] } {
    const lines: string[] = [];
    const rec = (lv: string) => (m: string) => void lines.push(`${lv} ${m}`);
    return { lines, error: rec("error"), warn: rec("warn"), info: rec("info"), debug: rec("debug") };
}

async function until(what: string, fn: () => boolean, tries = 1000): Promise<void> {
    for (let i = 0; i < tries; i++) {
        if (fn()) return;
        await new Promise(r => setTimeout(r, 10));
    }
    throw new Error(`timed out waiting for ${what}`);
}

const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "");

describe("actions: action.d commands run as fail2ban runs them", function () {
    this.timeout(60_000);
    let dir: string;
    let log: string;
    let rec: string;
    let server: JailwatchServer | undefined;
    let logger: ReturnType<typeof recordingLogger>;

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-gen-"));
        log = path.join(dir, "app.log");
        rec = path.join(dir, "record.txt");
        fs.writeFileSync(log, "");
        fs.mkdirSync(path.join(dir, "conf/filter.d"), { recursive: true });
        fs.mkdirSync(path.join(dir, "conf/action.d"), { recursive: true });
        fs.writeFileSync(path.join(dir, "conf/filter.d/app.conf"), "[Definition]\nfailregex = ^fail from <HOST>$\n");
        // An action in fail2ban's layout: a shared part through [INCLUDES], %(...)s, [Init] values and overrides.
        fs.writeFileSync(
            path.join(dir, "conf/action.d/record-common.conf"),
            `[Definition]\n_out = >> "<file>"\n[Init]\nfile = /dev/null\n`,
        );
        fs.writeFileSync(
            path.join(dir, "conf/action.d/record.conf"),
            [
                "[INCLUDES]",
                "before = record-common.conf",
                "[Definition]",
                'actionstart = echo "start <name> <greeting>" %(_out)s',
                'actionstop = echo "stop <name>" %(_out)s',
                "actioncheck =",
                'actionban = echo "ban <ip> name=<name> port=<port> proto=<protocol> bantime=<bantime> failures=<failures> host=<fq-hostname>" %(_out)s',
                'actionunban = echo "unban <ip>" %(_out)s',
                "[Init]",
                "greeting = hello",
                "port = ssh",
                "protocol = tcp",
                "",
            ].join("\n"),
        );
    });
    afterEach(async () => {
        await server?.stop();
        server = undefined;
        fs.rmSync(dir, { recursive: true, force: true });
    });

    function jail(action: string, extra = ""): void {
        fs.writeFileSync(
            path.join(dir, "conf/jail.conf"),
            `[DEFAULT]\nbanaction = dummy\n[app]\nenabled = true\nfilter = app\nlogpath = ${log}\nmaxretry = 2\nfindtime = 600\nbantime = 600\nignoreself = false\naction = ${action}\n${extra}`,
        );
    }
    async function start(): Promise<JailwatchServer> {
        logger = recordingLogger();
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
    const fail = (ip: string, n: number) => fs.appendFileSync(log, `fail from ${ip}\n`.repeat(n));

    it("runs actionstart, actionban (tags, [Init] overrides, arguments), actionunban and actionstop", async () => {
        jail(`record[file="${rec}", port="2222,ssh", name=custom]`);
        const s = await start();
        await until("actionstart", () => read(rec).includes("start custom hello"));
        fail("192.0.2.7", 2);
        await until("actionban", () => read(rec).includes("ban 192.0.2.7"));
        assert.match(
            read(rec),
            new RegExp(
                `ban 192\\.0\\.2\\.7 name=custom port=2222,ssh proto=tcp bantime=600 failures=2 host=${os.hostname().replace(/\./g, "\\.")}\n`,
            ),
        );
        assert.ok(s.unbanAddress("app", "192.0.2.7"));
        await until("actionunban", () => read(rec).includes("unban 192.0.2.7"));
        await s.stop();
        server = undefined;
        assert.match(read(rec), /stop custom\n$/);
    });

    it("a native ban action and an action.d action in one jail both run (the native one through its backend)", async () => {
        jail(`dummy\n  record[file="${rec}"]`);
        const s = await start();
        fail("192.0.2.8", 2);
        await until("actionban", () => read(rec).includes("ban 192.0.2.8 name=app port=ssh"));
        await s.settle();
        const dummy = s.actions.get("dummy") as unknown as { sets: Map<string, Map<string, unknown>> };
        assert.ok(dummy.sets.get("app")?.has("192.0.2.8"), "the native dummy backend got the ban too");
    });

    it("a command that hangs is stopped at the action's timeout and reported; the jail's other actions still run", async () => {
        fs.writeFileSync(
            path.join(dir, "conf/action.d/hang.conf"),
            "[Definition]\nactionban = sleep 30\ntimeout = 1\n",
        );
        jail(`hang\n  record[file="${rec}"]`);
        await start();
        fail("192.0.2.9", 2);
        await until("the second action's ban", () => read(rec).includes("ban 192.0.2.9"), 3000);
        await until(
            "the timeout error",
            () => logger.lines.some(l => l.startsWith("error [app] action hang") && l.includes("timed out after 1s")),
            3000,
        );
    });

    it("a tag value with shell syntax never reaches the shell as code (fail2ban's $f2bV_ variables)", async () => {
        const { cmd, env } = resolveDynamic(`printf '%s' "<F-USER>" > "${rec}"; echo <ip>`, {
            "F-USER": `x$(touch ${dir}/pwned)"; touch ${dir}/pwned2; "`,
            ip: "192.0.2.10",
        });
        assert.ok(cmd.includes('"$f2bV_F_USER"') && cmd.endsWith("echo 192.0.2.10"), cmd);
        const r = await runShell(cmd, env, 10);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(read(rec), env.f2bV_F_USER);
        assert.ok(
            !fs.existsSync(path.join(dir, "pwned")) && !fs.existsSync(path.join(dir, "pwned2")),
            "the value was run as a command",
        );
    });

    it("`%(action_mwl)s` sends its mail through sendmail (a fake one on PATH records what it got)", async () => {
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        const mail = path.join(dir, "mail.txt");
        fs.writeFileSync(path.join(bin, "sendmail"), `#!/bin/sh\necho "ARGS $*" >> "${mail}"\ncat >> "${mail}"\n`, {
            mode: 0o755,
        });
        fs.writeFileSync(path.join(bin, "whois"), "#!/bin/sh\necho whois-of-$1\n", { mode: 0o755 });
        // The stock mail actions from /etc/fail2ban, as they are; only the sendmail path is the test's.
        for (const f of [
            "sendmail-whois-lines.conf",
            "sendmail-common.conf",
            "mail-whois-common.conf",
            "helpers-common.conf",
        ]) {
            fs.copyFileSync(path.join("/etc/fail2ban/action.d", f), path.join(dir, "conf/action.d", f));
        }
        fs.writeFileSync(
            path.join(dir, "conf/action.d/sendmail-common.local"),
            `[Init]\nmailcmd = ${bin}/sendmail -f "<sender>" "<dest>"\n`,
        );
        fs.writeFileSync(
            path.join(dir, "conf/jail.conf"),
            [
                "[DEFAULT]",
                "banaction = dummy",
                "port = 0:65535",
                "protocol = tcp",
                "chain = INPUT",
                "destemail = admin@example.test",
                "sender = jw@example.test",
                "mta = sendmail",
                'action_ = %(banaction)s[port="%(port)s", protocol="%(protocol)s", chain="%(chain)s"]',
                "action_mwl = %(action_)s",
                '             %(mta)s-whois-lines[sender="%(sender)s", dest="%(destemail)s", logpath="%(logpath)s", chain="%(chain)s"]',
                "[app]",
                "enabled = true",
                "filter = app",
                `logpath = ${log}`,
                "maxretry = 2",
                "ignoreself = false",
                "action = %(action_mwl)s",
                "",
            ].join("\n"),
        );
        const oldPath = process.env.PATH;
        process.env.PATH = `${bin}:${oldPath}`;
        try {
            const s = await start();
            await until("the start mail", () => read(mail).includes("Subject: [Fail2Ban] app: started"));
            fail("192.0.2.11", 2);
            await until("the ban mail", () => /banned 192\.0\.2\.11[^]*Regards/.test(read(mail)));
            const text = read(mail);
            assert.ok(text.includes("ARGS -f jw@example.test admin@example.test"), text);
            assert.ok(
                text.includes("The IP 192.0.2.11 has just been banned by Fail2Ban after\n2 attempts against app."),
                text,
            );
            assert.ok(text.includes("Lines containing failures of 192.0.2.11"), text);
            assert.ok(text.includes("fail from 192.0.2.11"), "the log lines of the offender are in the mail");
            await s.settle();
            assert.ok(
                (s.actions.get("dummy") as unknown as { sets: Map<string, Map<string, unknown>> }).sets
                    .get("app")
                    ?.has("192.0.2.11"),
            );
        } finally {
            process.env.PATH = oldPath;
        }
    });

    describe("-t refuses what cannot run, naming file, line and key", () => {
        function check(): { code: number; err: string } {
            const err: string[] = [];
            const code = runCheck(
                path.join(dir, "conf"),
                () => undefined,
                x => err.push(x),
            );
            return { code, err: err.join("\n") };
        }

        it("an action file that does not exist (fail2ban-client -t refuses it too)", () => {
            jail("no-such-action[port=ssh]");
            const r = check();
            assert.equal(r.code, 1);
            assert.ok(
                r.err.includes(`${path.join(dir, "conf/jail.conf")}:11: action: unknown action "no-such-action"`),
                r.err,
            );
        });

        it("an action without actionban", () => {
            fs.writeFileSync(path.join(dir, "conf/action.d/noban.conf"), "[Definition]\nactionstart = true\n");
            jail("noban");
            const r = check();
            assert.equal(r.code, 1);
            assert.ok(
                r.err.includes(
                    `${path.join(dir, "conf/action.d/noban.conf")}: actionban: action "noban" defines no actionban`,
                ),
                r.err,
            );
        });

        it("a tag that resolves to nothing, with the line of the command", () => {
            fs.writeFileSync(
                path.join(dir, "conf/action.d/badtag.conf"),
                "[Definition]\nactionstart = true\nactionban = echo <ip> <chian>\n",
            );
            jail("badtag");
            const r = check();
            assert.equal(r.code, 1);
            assert.ok(
                r.err.includes(
                    `${path.join(dir, "conf/action.d/badtag.conf")}:3: actionban: action "badtag": tag <chian> has no value`,
                ),
                r.err,
            );
        });

        it("a generic action that can run passes -t", () => {
            jail(`record[file="${rec}"]`);
            const r = check();
            assert.equal(r.code, 0, r.err);
        });
    });
});
