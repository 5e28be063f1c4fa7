// Issue 14, point 7, against the real nftables inside a network namespace this test creates (root needed):
// one jail the firewall refuses does not take the others down, and the ban path is up before the first ban.

import * as assert from "assert";
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Exec, spawnExec } from "../../watcher/src/actions/exec";
import { NftablesAction } from "../../watcher/src/actions/nftables";
import { JailwatchServer } from "../../watcher/src/server/daemon";
import { silentLogger } from "../../watcher/src/server/log";

const quiet = { info: () => undefined, warn: () => undefined, debug: () => undefined };

describe("hardening: real nftables in a private network namespace", function () {
    this.timeout(30_000);
    let holder: ChildProcess;
    let inNs: Exec;
    let nsCmd: string[];
    const sh = (cmd: string[]) => execFileSync("nsenter", [...nsCmd, ...cmd], { encoding: "utf8" });

    before(async () => {
        holder = spawn("unshare", ["--net", "sleep", "infinity"], { stdio: "ignore" });
        const self = fs.readlinkSync("/proc/self/ns/net");
        for (let i = 0; i < 200; i++) {
            try {
                if (fs.readlinkSync(`/proc/${holder.pid}/ns/net`) !== self) break;
            } catch {
                // not started yet
            }
            await new Promise(r => setTimeout(r, 10));
        }
        nsCmd = ["-t", String(holder.pid), "-n", "--"];
        inNs = (cmd, args, input) => spawnExec("nsenter", [...nsCmd, cmd, ...args], input);
    });
    after(() => {
        holder.kill("SIGKILL");
    });

    it("a jail whose rules the firewall refuses leaves the other jails (and a 5-year ban) working", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-hk-"));
        try {
            fs.cpSync(path.resolve(__dirname, "../../watcher/config"), path.join(dir, "conf"), { recursive: true });
            const log = path.join(dir, "access.log");
            fs.writeFileSync(log, "");
            fs.writeFileSync(
                path.join(dir, "conf/jail.local"),
                `[nginx-wp-xmlrpc]\nlogpath = ${log}\nbantime = 5y\nignoreself = false\n\n[nginx-wp-login]\nlogpath = ${log}\n`,
            );
            const now = Date.now() / 1000;
            fs.mkdirSync(path.join(dir, "state"));
            fs.writeFileSync(
                path.join(dir, "state/bans.json"),
                JSON.stringify({
                    version: 1,
                    bans: {
                        "nginx-wp-xmlrpc": [["198.51.100.9", now, now + 5 * 365 * 86400, 0]],
                        "nginx-wp-login": [["198.51.100.10", now, now + 600, 0]],
                    },
                    history: {},
                }),
            );
            // The kernel refuses anything about the login jail (as it would a port it cannot resolve).
            const exec: Exec = (cmd, args, input) =>
                input.includes("nginx-wp-login")
                    ? Promise.resolve({ code: 1, stdout: "", stderr: "Error: refused for the test" })
                    : inNs(cmd, args, input);
            const server = new JailwatchServer(
                {
                    configDir: path.join(dir, "conf"),
                    socket: path.join(dir, "s"),
                    stateDir: path.join(dir, "state"),
                    foreground: true,
                    loglevel: "error",
                    polling: false,
                    peers: { peers: [], port: 0, listen: "127.0.0.1" },
                },
                silentLogger,
                { createAction: () => new NftablesAction(quiet, exec) },
            );
            await server.start();
            try {
                assert.match(sh(["nft", "list", "set", "inet", "jailwatch", "nginx-wp-xmlrpc.v4"]), /198\.51\.100\.9/);
                assert.match(sh(["nft", "list", "chain", "inet", "jailwatch", "input"]), /@nginx-wp-xmlrpc\.v4/);
                const st = await server.handle(["status"]);
                assert.ok(
                    st.ok && /! \[nginx-wp-login\] nftables: cannot set up the firewall for this jail/.test(st.text),
                    st.ok ? st.text : st.error,
                );
            } finally {
                await server.stop();
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the persistent nft is running once start returns, before the first ban", async () => {
        const a = new NftablesAction(quiet, inNs, "nft", ["nsenter", ...nsCmd, "nft"]);
        try {
            await a.start([{ name: "warm", port: "", protocol: "tcp" }], [], false);
            assert.ok(a.sessionPid !== undefined, "nft session started by start()");
        } finally {
            a.close();
        }
    });
});
