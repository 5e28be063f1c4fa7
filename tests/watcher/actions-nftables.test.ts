import * as assert from "assert";
import { backendFor } from "../../watcher/src/actions";
import { DummyAction } from "../../watcher/src/actions/dummy";
import { Exec, runWithRetry } from "../../watcher/src/actions/exec";
import { ipsetBanBatch, ipsetName, ipsetStartBatch, iptablesRuleArgs } from "../../watcher/src/actions/ipset-text";
import { NftablesAction } from "../../watcher/src/actions/nftables";
import {
    nftBanBatch,
    nftJailRules,
    nftSetName,
    nftStartBatch,
    nftUnbanBatch,
} from "../../watcher/src/actions/nftables-text";
import { parsePorts } from "../../watcher/src/actions/ports";
import { FirewallError } from "../../watcher/src/actions/types";

const quiet = { info: () => undefined, warn: () => undefined, debug: () => undefined };
const xmlrpc = { name: "nginx-wp-xmlrpc", port: "http,https", protocol: "tcp" };

describe("actions: nftables batches", () => {
    it("drops only the jail's ports for members of its IPv4 and IPv6 sets", () => {
        assert.deepStrictEqual(nftJailRules(xmlrpc), [
            "add rule inet jailwatch input ip saddr @nginx-wp-xmlrpc.v4 meta l4proto tcp th dport { http, https } drop",
            "add rule inet jailwatch input ip6 saddr @nginx-wp-xmlrpc.v6 meta l4proto tcp th dport { http, https } drop",
        ]);
        assert.match(
            nftJailRules({ name: "x", port: "1000:2000,ssh", protocol: "udp" })[0],
            /meta l4proto udp th dport \{ 1000-2000, ssh \}/,
        );
    });

    it("keeps every statement inside our own table", () => {
        const batch = nftStartBatch([xmlrpc], [{ jail: "nginx-wp-xmlrpc", ip: "203.0.113.9", timeout: 60 }], true);
        for (const line of batch.trim().split("\n"))
            assert.match(line, /^(add|flush|delete) (table|chain|set|rule|element) inet jailwatch\b/, line);
    });

    it("restores bans with their remaining timeouts; permanent bans carry none", () => {
        const batch = nftStartBatch(
            [xmlrpc],
            [
                { jail: "nginx-wp-xmlrpc", ip: "203.0.113.9", timeout: 59.2 },
                { jail: "nginx-wp-xmlrpc", ip: "2001:db8::/64" },
                { jail: "unknown-jail", ip: "192.0.2.1", timeout: 5 },
            ],
            false,
        );
        assert.ok(batch.includes("add element inet jailwatch nginx-wp-xmlrpc.v4 { 203.0.113.9 timeout 60s }"));
        assert.ok(batch.includes("add element inet jailwatch nginx-wp-xmlrpc.v6 { 2001:db8::/64 }"));
        assert.ok(!batch.includes("192.0.2.1"), "bans of jails we do not run are not installed");
        assert.ok(!batch.includes("flush set"), "merge mode keeps what the kernel holds");
        assert.ok(batch.includes("flags interval, timeout"), "IPv6 set holds prefixes");
    });

    it("restores 100,000 bans in one batch of a few statements", () => {
        const restore = Array.from({ length: 100_000 }, (_, i) => ({
            jail: "nginx-wp-xmlrpc",
            ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
            timeout: 3600,
        }));
        const batch = nftStartBatch([xmlrpc], restore, true);
        const elementLines = batch.split("\n").filter(l => l.startsWith("add element"));
        assert.strictEqual(elementLines.length, 5);
        assert.strictEqual((batch.match(/ timeout 3600s/g) ?? []).length, 100_000);
        assert.ok(
            batch.indexOf("flush set inet jailwatch nginx-wp-xmlrpc.v4") < batch.indexOf("add element"),
            "replace: flush before fill, one transaction",
        );
    });

    it("re-bans with a fresh timeout without failing on present or absent elements", () => {
        assert.strictEqual(
            nftBanBatch([
                { jail: "nginx-wp-xmlrpc", ip: "203.0.113.9", timeout: 43200 },
                { jail: "nginx-wp-xmlrpc", ip: "203.0.113.9", timeout: 100 },
            ]),
            [
                "add element inet jailwatch nginx-wp-xmlrpc.v4 { 203.0.113.9 }",
                "delete element inet jailwatch nginx-wp-xmlrpc.v4 { 203.0.113.9 }",
                "add element inet jailwatch nginx-wp-xmlrpc.v4 { 203.0.113.9 timeout 100s }",
                "",
            ].join("\n"),
        );
        assert.strictEqual(
            nftUnbanBatch([{ jail: "j", ip: "::1" }]),
            "add element inet jailwatch j.v6 { ::1 }\ndelete element inet jailwatch j.v6 { ::1 }\n",
        );
    });

    it("makes set names nft accepts from any jail name", () => {
        assert.strictEqual(nftSetName("apache auth", 4), "apache_auth.v4");
        assert.strictEqual(nftSetName("1jail", 6), "j_1jail.v6");
    });

    it("refuses port values that could inject nft syntax", () => {
        assert.throws(() => parsePorts("80 } ; flush ruleset"), /invalid port/);
    });
});

describe("actions: iptables-ipset batches", () => {
    it("creates per-jail sets, restores with timeouts (0 = permanent) and builds a multiport rule", () => {
        const b = ipsetStartBatch(
            [xmlrpc],
            [
                { jail: "nginx-wp-xmlrpc", ip: "203.0.113.9", timeout: 10 },
                { jail: "nginx-wp-xmlrpc", ip: "2001:db8::/64" },
            ],
            true,
        );
        assert.ok(b.includes("create jw-nginx-wp-xmlrpc-4 hash:ip family inet timeout 0"));
        assert.ok(b.includes("flush jw-nginx-wp-xmlrpc-4"));
        assert.ok(b.includes("add jw-nginx-wp-xmlrpc-4 203.0.113.9 timeout 10"));
        assert.ok(b.includes("add jw-nginx-wp-xmlrpc-6 2001:db8::/64 timeout 0"));
        assert.deepStrictEqual(iptablesRuleArgs(xmlrpc, 4), [
            "-p",
            "tcp",
            "-m",
            "multiport",
            "--dports",
            "http,https",
            "-m",
            "set",
            "--match-set",
            "jw-nginx-wp-xmlrpc-4",
            "src",
            "-j",
            "DROP",
        ]);
        assert.strictEqual(
            ipsetBanBatch([{ jail: "nginx-wp-xmlrpc", ip: "198.51.100.1", timeout: 5 }]),
            "add jw-nginx-wp-xmlrpc-4 198.51.100.1 timeout 5\n",
        );
    });

    it("keeps set names within ipset's 31 characters, distinct for distinct jails", () => {
        const a = ipsetName("a-very-long-jail-name-for-some-service-one", 4);
        const b = ipsetName("a-very-long-jail-name-for-some-service-two", 4);
        assert.ok(a.length <= 31 && b.length <= 31);
        assert.notStrictEqual(a, b);
    });
});

describe("actions: backends, retries and errors", () => {
    it("maps fail2ban banaction names to backends", () => {
        assert.strictEqual(backendFor("nftables-multiport"), "nftables");
        assert.strictEqual(backendFor("iptables-multiport[name=x]"), "iptables-ipset");
        assert.strictEqual(backendFor("dummy"), "dummy");
        assert.strictEqual(backendFor("shorewall"), undefined);
    });

    it("retries a failing command, then reports it with the tool's error", async () => {
        let calls = 0;
        const exec: Exec = async () => ({ code: 1, stdout: "", stderr: `Error: Could not process rule (${++calls})` });
        const retried: number[] = [];
        await assert.rejects(
            runWithRetry(exec, "nft", ["-f", "-"], "x", { backoff: [1], onRetry: n => retried.push(n) }),
            (e: Error) =>
                e instanceof FirewallError &&
                /nft -f - failed after 3 attempt\(s\): Error: Could not process rule \(3\)/.test(e.message),
        );
        assert.deepStrictEqual(retried, [1, 2]);
    });

    it("succeeds when a retry succeeds", async () => {
        let calls = 0;
        const exec: Exec = async () =>
            ++calls < 2 ? { code: 1, stdout: "", stderr: "busy" } : { code: 0, stdout: "", stderr: "" };
        await runWithRetry(exec, "nft", [], "", { backoff: [1] });
        assert.strictEqual(calls, 2);
    });

    it("nftables backend sends each batch to `nft -f -` on stdin", async () => {
        const seen: Array<[string, string[], string]> = [];
        const a = new NftablesAction(quiet, async (c, args, input) => {
            seen.push([c, args, input]);
            return { code: 0, stdout: "", stderr: "" };
        });
        await a.ban([{ jail: "nginx-wp-xmlrpc", ip: "203.0.113.9", timeout: 5 }]);
        await a.ban([]);
        assert.strictEqual(seen.length, 1);
        assert.deepStrictEqual(seen[0].slice(0, 2), ["nft", ["-f", "-"]]);
        assert.match(seen[0][2], /203\.0\.113\.9 timeout 5s/);
    });

    it("dummy backend only records", async () => {
        const d = new DummyAction(quiet);
        await d.start([xmlrpc], [{ jail: "nginx-wp-xmlrpc", ip: "192.0.2.1", timeout: 9 }], true);
        await d.ban([{ jail: "nginx-wp-xmlrpc", ip: "192.0.2.2" }]);
        await d.unban([{ jail: "nginx-wp-xmlrpc", ip: "192.0.2.1" }]);
        assert.deepStrictEqual([...d.sets.get("nginx-wp-xmlrpc")!.keys()], ["192.0.2.2"]);
    });
});
