// Issue 14, point 3: `-t` means it will start. What the server refuses, -t refuses with the same words (file,
// line, key), and what now runs (`banaction = ufw` as action.d commands) is no longer refused. Each case is also
// given to the real `fail2ban-client -t`, which must agree where fail2ban checks the same thing.
// Before: `backend = systemd` passed -t and the server followed a file instead of the journal; now it reads the
// journal (journal-backend.test.ts) and an unknown backend is what gets refused.

import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runCheck } from "../../watcher/src/cli/check";
import { JailwatchServer } from "../../watcher/src/server/daemon";
import { silentLogger } from "../../watcher/src/server/log";

describe("-t refuses what the server would refuse", function () {
    this.timeout(60_000);
    const dirs: string[] = [];
    after(() => dirs.forEach(d => fs.rmSync(d, { recursive: true, force: true })));

    /** A copy of the stock /etc/fail2ban with one jail of ours (sshd's filter on an existing file). */
    function config(jail: string): { dir: string; file: string } {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-refuse-"));
        dirs.push(dir);
        fs.cpSync("/etc/fail2ban", dir, { recursive: true });
        fs.writeFileSync(path.join(dir, "test.log"), "");
        const file = path.join(dir, "jail.d/zz-test.local");
        fs.writeFileSync(
            file,
            `[sshd]\nenabled = false\n[t]\nenabled = true\nfilter = sshd\nlogpath = ${dir}/test.log\n${jail}`,
        );
        return { dir, file };
    }
    function ours(dir: string): { code: number; err: string } {
        const err: string[] = [];
        const code = runCheck(
            dir,
            () => undefined,
            s => err.push(s),
        );
        return { code, err: err.join("\n") };
    }
    function theirs(dir: string): { code: number | null; out: string } {
        const r = spawnSync("fail2ban-client", ["-c", dir, "-t"], { encoding: "utf8", timeout: 30_000 });
        return { code: r.status, out: `${r.stdout}${r.stderr}` };
    }
    async function serverRefuses(dir: string): Promise<string> {
        const server = new JailwatchServer(
            {
                configDir: dir,
                socket: path.join(dir, "s"),
                stateDir: path.join(dir, "state"),
                foreground: true,
                loglevel: "error",
                polling: true,
                peers: { peers: [], port: 0, listen: "127.0.0.1" },
            },
            silentLogger,
        );
        let msg = "";
        await server.start().then(
            () => server.stop(),
            (e: Error) => void (msg = e.message),
        );
        assert.ok(msg !== "", "the server started");
        return msg;
    }

    it("an unknown backend: refused by -t and by the server with the same message naming file, line and key", async () => {
        const { dir, file } = config("backend = inotifyx\n");
        const r = ours(dir);
        assert.equal(r.code, 1);
        const want = `${file}:7: backend: unknown backend "inotifyx"`;
        assert.ok(r.err.includes(want), r.err);
        const msg = await serverRefuses(dir);
        assert.ok(msg.startsWith(want), msg);
        assert.ok(r.err.includes(msg), "-t and the server say the same");
    });

    it("backend = systemd (the journal, issue 14 point 2) is accepted by -t, as by fail2ban-client -t", () => {
        const { dir } = config("backend = systemd\n");
        assert.equal(ours(dir).code, 0, ours(dir).err);
        assert.equal(theirs(dir).code, 0, theirs(dir).out);
    });

    it("an action whose file is missing: refused by -t and the server, as fail2ban-client -t refuses it", async () => {
        const { dir, file } = config("action = nosuch[port=ssh]\n");
        const r = ours(dir);
        assert.equal(r.code, 1);
        assert.ok(r.err.includes(`${file}:7: action: unknown action "nosuch"`), r.err);
        assert.ok(r.err.includes(await serverRefuses(dir)));
        const f = theirs(dir);
        assert.notEqual(f.code, 0);
        assert.match(f.out, /Unable to read action 'nosuch'/);
    });

    it("banaction = ufw now runs (action.d commands): accepted by -t, as by fail2ban-client -t", () => {
        const { dir } = config("banaction = ufw\n");
        assert.equal(ours(dir).code, 0, ours(dir).err);
        assert.equal(theirs(dir).code, 0, theirs(dir).out);
    });

    it("a %(...)s reference that does not resolve in an action: refused by both", () => {
        const { dir } = config("action = badref\n");
        fs.writeFileSync(path.join(dir, "action.d/badref.conf"), "[Definition]\nactionban = echo <ip> %(undefd)s\n");
        const r = ours(dir);
        assert.equal(r.code, 1);
        assert.ok(
            r.err.includes(`${path.join(dir, "action.d/badref.conf")}:2: actionban: unknown option %(undefd)s`),
            r.err,
        );
        const f = theirs(dir);
        assert.notEqual(f.code, 0);
        assert.match(f.out, /Error in action definition 'badref'/);
    });
});
