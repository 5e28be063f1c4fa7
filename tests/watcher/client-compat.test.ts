// `jailwatch client` against the real fail2ban-client 1.0.2: the same commands on a fail2ban-server and a jailwatch
// server with the same jails, in the same order, answer with the same stdout and exit code. Nothing is hard-coded:
// both answers come from running the two tools. Where jailwatch differs on purpose, the test says how.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SideBySide, sshdLine } from "./client-compat-support";
import { jailwatchBundle } from "./regex-cli-helpers";
import { spawnSync } from "child_process";

/** The run-time parts of `get JAIL banip --with-time` (both servers ban at their own second). */
function maskTimes(s: string): string {
    return s.replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/g, "T");
}

describe("client: same stdout and exit code as fail2ban-client (real fail2ban-server side by side)", function () {
    this.timeout(180000);
    const sb = new SideBySide();
    before(async () => {
        jailwatchBundle();
        await sb.start();
    });
    after(() => sb.stop());

    const same = async (words: string[], mask = false) => {
        const { f2b, jw } = await sb.both(words);
        const show = (s: string) => (mask ? maskTimes(s) : s);
        assert.equal(
            jw.code,
            f2b.code,
            `exit code of \`${words.join(" ")}\`: fail2ban ${f2b.code} (${f2b.stdout}${f2b.stderr}), jailwatch ${jw.code} (${jw.stdout}${jw.stderr})`,
        );
        assert.equal(show(jw.stdout), show(f2b.stdout), `stdout of \`${words.join(" ")}\``);
    };
    const steps: string[][] = [
        ["ping"],
        ["status"],
        ["status", "sshd"],
        ["status", "sshd", "basic"],
        ["status", "sshd", "--all"],
        ["status", "nojail"],
        ["banned"],
        ["get", "sshd", "banip"],
        ["get", "sshd", "banned"],
        ["set", "sshd", "banip", "198.51.100.1"],
        ["set", "sshd", "banip", "198.51.100.1"],
        ["set", "sshd", "banip", "2001:db8::5"],
        ["banned"],
        ["banned", "198.51.100.1", "203.0.113.9"],
        ["banned", "198.51.100.1"],
        ["banned", "203.0.113.9"],
        ["get", "sshd", "banip"],
        ["get", "sshd", "banip", ","],
        ["get", "sshd", "banned"],
        ["get", "sshd", "banned", "198.51.100.1"],
        ["get", "sshd", "banned", "198.51.100.1", "203.0.113.9"],
        ["get", "web", "banip"],
        ["get", "sshd", "maxretry"],
        ["get", "sshd", "findtime"],
        ["get", "sshd", "bantime"],
        ["get", "web", "bantime"],
        ["get", "sshd", "logpath"],
        ["get", "sshd", "ignoreip"],
        ["get", "web", "ignoreip"],
        ["get", "sshd", "failregex"],
        ["get", "web", "failregex"],
        ["get", "sshd", "ignoreregex"],
        ["get", "sshd", "prefregex"],
        ["get", "web", "prefregex"],
        ["get", "sshd", "journalmatch"],
        ["get", "sshd", "ignoreself"],
        ["get", "sshd", "datepattern"],
        ["get", "web", "datepattern"],
        ["get", "sshd", "usedns"],
        ["get", "sshd", "maxlines"],
        ["get", "sshd", "logencoding"],
        ["get", "sshd", "bogus"],
        ["get", "nojail", "maxretry"],
        ["get", "sshd"],
        ["get", "loglevel"],
        ["set", "sshd", "maxretry", "7"],
        ["get", "sshd", "maxretry"],
        ["set", "sshd", "maxretry", "x"],
        ["set", "sshd", "maxretry"],
        ["set", "sshd", "findtime", "10m"],
        ["set", "sshd", "findtime", "bogus"],
        ["set", "sshd", "bantime", "2h"],
        ["get", "sshd", "bantime"],
        ["set", "sshd", "bantime", "-1"],
        ["get", "sshd", "bantime"],
        ["set", "sshd", "bantime", "3600"],
        ["set", "sshd", "maxretry", "3"],
        ["set", "sshd", "addignoreip", "10.0.0.0/8"],
        ["set", "sshd", "addignoreip", "10.0.0.0/8"],
        ["set", "sshd", "addignoreip", "172.16.0.1/12", "2001:db8:1::/48"],
        ["set", "sshd", "delignoreip", "10.0.0.0/8"],
        ["set", "sshd", "delignoreip", "1.1.1.1"],
        ["get", "sshd", "ignoreip"],
        ["set", "nojail", "maxretry", "3"],
        ["set", "sshd", "unbanip", "198.51.100.1"],
        ["set", "sshd", "unbanip", "198.51.100.1"],
        ["set", "sshd", "unbanip", "--report-absent", "198.51.100.1"],
        ["set", "sshd", "unbanip", "not-an-ip"],
        ["set", "sshd", "unbanip"],
        ["set", "sshd", "banip", "198.51.100.2"],
        ["unban", "198.51.100.2"],
        ["unban", "198.51.100.2"],
        ["unban"],
        ["unban", "--all"],
        ["banned"],
        ["echo", "hello", "world"],
        ["frobnicate"],
        ["reload"],
        ["reload", "sshd"],
        ["reload", "nojail"],
        ["reload", "a", "b"],
        ["ping", "x"],
        ["get", "sshd", "ignoreip"],
        ["set", "sshd", "banip", "198.51.100.3"],
        ["reload", "--unban", "sshd"],
        ["get", "sshd", "banip"],
        ["set", "web", "banip", "198.51.100.4"],
        ["reload", "--unban"],
        ["banned"],
    ];
    for (const words of steps) it(`\`${words.join(" ")}\``, () => same(words));

    it("`get JAIL banip --with-time`: same layout, ban length and order (times masked: each server bans at its own second)", async () => {
        await same(["set", "sshd", "banip", "198.51.100.10"]);
        await same(["set", "sshd", "banip", "198.51.100.11"]);
        await same(["get", "sshd", "banip", "--with-time"], true);
        await same(["unban", "--all"]);
        // A permanent ban. (Not mixed with earlier bans: fail2ban shows and applies the jail's current bantime to
        // bans made before a `set bantime`; jailwatch keeps each ban's own length.)
        await same(["set", "sshd", "bantime", "-1"]);
        await same(["set", "sshd", "banip", "198.51.100.12"]);
        await same(["get", "sshd", "banip", "--with-time"], true);
        await same(["set", "sshd", "bantime", "3600"]);
        await same(["unban", "--all"]);
    });

    it("failures read from the log show in `status` the same way, and a ban follows", async () => {
        await sb.feed(
            "auth.log",
            "sshd",
            [
                sshdLine("Invalid user bob from 203.0.113.50 port 22"),
                sshdLine("Invalid user eve from 203.0.113.50 port 22"),
            ],
            2,
        );
        await same(["status", "sshd"]);
        await sb.feed("auth.log", "sshd", [sshdLine("Invalid user amy from 203.0.113.50 port 22")], 3);
        await sb.settled("sshd", /Currently banned:\t1\n/);
        await same(["status", "sshd"]);
        await same(["get", "sshd", "banip"]);
        await same(["banned", "203.0.113.50"]);
    });

    it("a socket nobody listens on: exit 255, nothing on stdout", () => {
        const gone = path.join(sb.dir, "nobody.sock");
        const f2b = spawnSync("fail2ban-client", ["-s", gone, "ping"], { encoding: "utf8" });
        const jw = sb.jailwatch(["ping"], ["-s", gone]);
        assert.equal(f2b.status, 255);
        assert.equal(jw.code, 255);
        assert.equal(jw.stdout, f2b.stdout);
        assert.match(jw.stderr, /Failed to access socket path/);
    });

    it("--str2sec converts as fail2ban-client does", () => {
        for (const t of ["1h30m", "600", "2d", "1w 2h"]) {
            const f2b = spawnSync("fail2ban-client", ["--str2sec", t], { encoding: "utf8" });
            const jw = sb.jailwatch([], ["--str2sec", t]);
            assert.equal(jw.code, f2b.status, t);
            assert.equal(jw.stdout, f2b.stdout, t);
        }
    });

    it("differs on purpose: version is jailwatch's (same shape: -V short, --version with the name)", () => {
        const v = JSON.parse(fs.readFileSync(path.join(__dirname, "../../package.json"), "utf8")).version as string;
        assert.equal(sb.jailwatch(["version"]).stdout, `${v}\n`);
        assert.equal(sb.jailwatch([], ["-V"]).stdout, `${v}\n`);
        assert.equal(
            sb.f2b(["version"]).stdout.trim(),
            spawnSync("fail2ban-client", ["-V"], { encoding: "utf8" }).stdout.trim(),
        );
    });

    it("differs on purpose: banip of something that is not an address is refused (fail2ban answers 1 and bans it)", async () => {
        const { f2b, jw } = await sb.both(["set", "web", "banip", "not-an-ip"]);
        assert.equal(f2b.code, 0);
        assert.equal(f2b.stdout, "1\n");
        assert.equal(jw.code, 255);
        assert.match(jw.stdout, /not an IP address: not-an-ip/);
        sb.f2b(["set", "web", "unbanip", "not-an-ip"]);
    });

    it("differs on purpose: a host name for addignoreip is refused (jailwatch does not resolve names here)", () => {
        const jw = sb.jailwatch(["set", "web", "addignoreip", "example.invalid"]);
        assert.equal(jw.code, 255);
        assert.match(jw.stdout, /host names are not resolved/);
    });

    it("finds the socket from -c DIR ([server] socket), as fail2ban-client reads fail2ban.conf", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-client-conf-"));
        fs.writeFileSync(path.join(dir, "jailwatch.conf"), `[server]\nsocket = ${sb.jwSock}\n`);
        const r = sb.jailwatch(["ping"], ["-c", dir]);
        fs.rmSync(dir, { recursive: true });
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.equal(r.stdout, "Server replied: pong\n");
    });

    it("answers as fail2ban-client when started under that name", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-alias-"));
        const link = path.join(dir, "fail2ban-client");
        fs.symlinkSync(jailwatchBundle(), link);
        const r = spawnSync(process.execPath, [link, "-s", sb.jwSock, "status"], { encoding: "utf8" });
        fs.rmSync(dir, { recursive: true });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, sb.f2b(["status"]).stdout);
    });
});
