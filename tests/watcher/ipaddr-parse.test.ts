import { strict as assert } from "assert";
import { banKey, IPAddr, IPNetwork, IPSet, normalizeIP } from "../../watcher/src/jail/ipaddr";

describe("ipaddr: parsing and canonical text", () => {
    it("parses IPv4 and rejects malformed quads", () => {
        assert.equal(normalizeIP("192.0.2.1"), "192.0.2.1");
        assert.equal(normalizeIP("255.255.255.255"), "255.255.255.255");
        for (const bad of ["256.1.1.1", "1.2.3", "1.2.3.4.5", "1..2.3", "a.b.c.d", "", "1.2.3.4 ", "1234.1.1.1"]) {
            assert.equal(normalizeIP(bad), undefined, bad);
        }
    });

    it("writes IPv6 in RFC 5952 form", () => {
        assert.equal(normalizeIP("2001:0DB8:0000:0000:0000:0000:0000:0001"), "2001:db8::1");
        assert.equal(normalizeIP("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
        assert.equal(normalizeIP("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");
        assert.equal(normalizeIP("::"), "::");
        assert.equal(normalizeIP("::1"), "::1");
        assert.equal(normalizeIP("fe80::1%eth0"), "fe80::1");
        assert.equal(normalizeIP("[2001:db8::7]"), "2001:db8::7");
        assert.equal(normalizeIP("1::"), "1::");
        for (const bad of ["2001:db8:::1", "1:2:3:4:5:6:7:8:9", ":1", "1:", "2001:db8::g", "1::2::3", "12345::"]) {
            assert.equal(normalizeIP(bad), undefined, bad);
        }
    });

    it("treats IPv4-mapped IPv6 as the IPv4 address", () => {
        const ip = IPAddr.parse("::ffff:198.51.100.7");
        assert.ok(ip);
        assert.equal(ip.family, 4);
        assert.equal(ip.text, "198.51.100.7");
        assert.equal(normalizeIP("::ffff:c633:6407"), "198.51.100.7");
    });
});

describe("ipaddr: networks and sets", () => {
    it("clears host bits and tests membership", () => {
        const net = IPNetwork.parse("127.0.0.1/8");
        assert.ok(net);
        assert.equal(net.text, "127.0.0.0/8");
        assert.ok(net.contains(IPAddr.parse("127.255.0.9")!));
        assert.ok(!net.contains(IPAddr.parse("128.0.0.1")!));
        assert.ok(!net.contains(IPAddr.parse("::1")!));
        assert.equal(IPNetwork.parse("10.1.2.3/255.255.0.0")?.text, "10.1.0.0/16");
        assert.equal(IPNetwork.parse("10.1.2.3/255.0.255.0"), undefined);
        assert.equal(IPNetwork.parse("10.0.0.0/33"), undefined);
        assert.equal(IPNetwork.parse("2001:db8::/129"), undefined);
        assert.equal(IPNetwork.parse("0.0.0.0/0")?.contains(IPAddr.parse("203.0.113.9")!), true);
    });

    it("reduces IPv6 to a prefix, leaving IPv4 alone", () => {
        const v6 = IPAddr.parse("2001:db8:1:2:3:4:5:6")!;
        assert.equal(banKey(v6, 64), "2001:db8:1:2::/64");
        assert.equal(banKey(v6, 128), "2001:db8:1:2:3:4:5:6");
        assert.equal(banKey(v6, 56), "2001:db8:1::/56");
        assert.equal(banKey(IPAddr.parse("203.0.113.9")!, 64), "203.0.113.9");
        const net = IPNetwork.parse("2001:db8:1:2::/64")!;
        assert.ok(net.contains(IPAddr.parse("2001:db8:1:2:ffff::1")!));
        assert.ok(!net.contains(IPAddr.parse("2001:db8:1:3::1")!));
    });

    it("IPSet matches by every prefix length it holds", () => {
        const set = new IPSet(
            ["127.0.0.1/8", "::1", "192.0.2.0/24", "2001:db8:aa::/48", "203.0.113.9"].map(t => IPNetwork.parse(t)!),
        );
        const yes = [
            "127.0.0.1",
            "127.9.9.9",
            "::1",
            "192.0.2.200",
            "2001:db8:aa:ff::1",
            "203.0.113.9",
            "::ffff:127.0.0.2",
        ];
        const no = ["128.0.0.1", "::2", "192.0.3.1", "2001:db8:ab::1", "203.0.113.10"];
        for (const t of yes) assert.ok(set.contains(IPAddr.parse(t)!), t);
        for (const t of no) assert.ok(!set.contains(IPAddr.parse(t)!), t);
        assert.ok(set.overlaps(IPNetwork.parse("2001:db8:aa:1::/64")!));
        assert.ok(set.overlaps(IPNetwork.parse("192.0.0.0/16")!));
        assert.ok(!set.overlaps(IPNetwork.parse("2001:db8:ab::/64")!));
    });
});
