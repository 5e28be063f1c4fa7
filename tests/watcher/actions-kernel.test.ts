// The firewall backends against the real kernel, inside a network namespace this test creates (root needed).

import * as assert from "assert";
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import { Exec, spawnExec } from "../../watcher/src/actions/exec";
import { IpsetAction } from "../../watcher/src/actions/ipset";
import { NftSession } from "../../watcher/src/actions/nft-session";
import { NftablesAction } from "../../watcher/src/actions/nftables";

const quiet = { info: () => undefined, warn: () => undefined, debug: () => undefined };
const xmlrpc = { name: "nginx-wp-xmlrpc", port: "http,https", protocol: "tcp" };

describe("actions: real nftables and ipset in a private network namespace", function () {
    this.timeout(30_000);
    let holder: ChildProcess;
    let inNs: Exec;
    const sh = (cmd: string[]) =>
        execFileSync("nsenter", ["-t", String(holder.pid), "-n", "--", ...cmd], {
            encoding: "utf8",
            maxBuffer: 1 << 26,
        });

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
        inNs = (cmd, args, input) => spawnExec("nsenter", ["-t", String(holder.pid), "-n", "--", cmd, ...args], input);
        // Something of the host's own that must survive untouched.
        sh([
            "nft",
            "add table inet host; add chain inet host input { type filter hook input priority 0; policy accept; }; add rule inet host input tcp dport 22 accept",
        ]);
    });
    after(() => {
        holder.kill("SIGKILL");
    });

    it("nftables: restores, bans with timeouts, unbans, and leaves other tables alone", async () => {
        const a = new NftablesAction(quiet, inNs);
        // 12,000 bans make a batch big enough to go through a file rather than a pipe.
        const restore = Array.from({ length: 12_000 }, (_, i) => ({
            jail: "nginx-wp-xmlrpc",
            ip: `10.1.${i >> 8}.${i & 255}`,
            timeout: 3600,
        }));
        await a.start([xmlrpc], [...restore, { jail: "nginx-wp-xmlrpc", ip: "2001:db8:1::/64" }], true);
        await a.start([xmlrpc], [], false); // idempotent: a second start keeps the elements
        let v4 = sh(["nft", "list", "set", "inet", "jailwatch", "nginx-wp-xmlrpc.v4"]);
        assert.strictEqual(v4.split(" expires ").length - 1, 12_000);
        assert.match(sh(["nft", "list", "set", "inet", "jailwatch", "nginx-wp-xmlrpc.v6"]), /2001:db8:1::\/64/);
        await a.ban([
            { jail: "nginx-wp-xmlrpc", ip: "10.1.0.1", timeout: 30 },
            { jail: "nginx-wp-xmlrpc", ip: "203.0.113.1" },
        ]);
        v4 = sh(["nft", "list", "set", "inet", "jailwatch", "nginx-wp-xmlrpc.v4"]);
        assert.match(v4, /10\.1\.0\.1 timeout 30s/, "re-ban replaced the timeout");
        assert.match(v4, /203\.0\.113\.1[,\s]/, "permanent ban without timeout");
        await a.unban([
            { jail: "nginx-wp-xmlrpc", ip: "203.0.113.1" },
            { jail: "nginx-wp-xmlrpc", ip: "192.0.2.200" },
        ]);
        assert.doesNotMatch(
            sh(["nft", "list", "set", "inet", "jailwatch", "nginx-wp-xmlrpc.v4"]),
            /203\.0\.113\.1[,\s]/,
        );
        assert.match(
            sh(["nft", "list", "chain", "inet", "jailwatch", "input"]),
            /ip saddr @nginx-wp-xmlrpc\.v4 tcp dport \{ 80, 443 \} drop/,
        );
        await a.remove();
        assert.match(sh(["nft", "list", "ruleset"]), /table inet host[\s\S]*tcp dport 22 accept/);
        assert.doesNotMatch(sh(["nft", "list", "ruleset"]), /jailwatch/);
    });

    it("nftables: a failing batch is reported with nft's message", async () => {
        const a = new NftablesAction(quiet, (c, args, input) =>
            inNs(c, args, input.replace("jailwatch", "jailwatch-missing")),
        );
        await assert.rejects(
            a.ban([{ jail: "nginx-wp-xmlrpc", ip: "10.1.0.1", timeout: 5 }]),
            /nft -f - failed after 3 attempt\(s\): .*(No such file|does not exist)/,
        );
    });

    it("nft session: one transaction per batch, errors reported and survived, a dead nft replaced", async () => {
        const session = new NftSession(["nsenter", "-t", String(holder.pid), "-n", "--", "nft"]);
        try {
            sh(["nft", "add table inet sess; add set inet sess s { type ipv4_addr; flags timeout; }"]);
            await session.run(
                "add element inet sess s { 10.3.0.1 }\ndelete element inet sess s { 10.3.0.1 }\nadd element inet sess s { 10.3.0.1 timeout 40s }",
            );
            assert.match(sh(["nft", "list", "set", "inet", "sess", "s"]), /10\.3\.0\.1 timeout 40s/);
            // The failing delete rolls back the add before it: one line, one transaction.
            await assert.rejects(
                session.run("add element inet sess s { 10.3.0.2 }\ndelete element inet sess s { 10.3.0.99 }"),
                /Error: Could not process rule/,
            );
            assert.doesNotMatch(sh(["nft", "list", "set", "inet", "sess", "s"]), /10\.3\.0\.2/);
            await session.run("add element inet sess s { 10.3.0.3 }");
            process.kill(session.pid!, "SIGKILL");
            await new Promise(r => setTimeout(r, 50));
            await session.run("add element inet sess s { 10.3.0.4 }");
            assert.match(
                sh(["nft", "list", "set", "inet", "sess", "s"]),
                /10\.3\.0\.3.*10\.3\.0\.4|10\.3\.0\.4.*10\.3\.0\.3/s,
            );
        } finally {
            session.close();
        }
    });

    it("iptables-ipset: sets with timeouts and one DROP rule per family, idempotent", async () => {
        const a = new IpsetAction(quiet, inNs);
        await a.start([xmlrpc], [{ jail: "nginx-wp-xmlrpc", ip: "10.2.0.1", timeout: 600 }], true);
        await a.start([xmlrpc], [], false);
        await a.ban([
            { jail: "nginx-wp-xmlrpc", ip: "10.2.0.2" },
            { jail: "nginx-wp-xmlrpc", ip: "2001:db8:2::/64", timeout: 60 },
        ]);
        const set4 = sh(["ipset", "list", "jw-nginx-wp-xmlrpc-4"]);
        assert.match(set4, /10\.2\.0\.1 timeout \d+/);
        assert.match(set4, /10\.2\.0\.2 timeout 0/);
        assert.match(sh(["ipset", "list", "jw-nginx-wp-xmlrpc-6"]), /2001:db8:2::\/64 timeout \d+/);
        const rules = sh(["iptables", "-w", "-S", "INPUT"])
            .split("\n")
            .filter(l => l.includes("jw-nginx-wp-xmlrpc-4"));
        assert.strictEqual(rules.length, 1, "a second start does not add the rule twice");
        assert.match(
            rules[0],
            /-p tcp -m multiport --dports 80,443 -m set --match-set jw-nginx-wp-xmlrpc-4 src -j DROP/,
        );
        await a.unban([
            { jail: "nginx-wp-xmlrpc", ip: "10.2.0.2" },
            { jail: "nginx-wp-xmlrpc", ip: "10.2.0.99" },
        ]);
        assert.doesNotMatch(sh(["ipset", "list", "jw-nginx-wp-xmlrpc-4"]), /10\.2\.0\.2 /);
        await a.remove([xmlrpc]);
        assert.doesNotMatch(sh(["iptables", "-w", "-S", "INPUT"]), /jw-nginx/);
    });
});
