import { strict as assert } from "assert";
import { banDuration, BanHistory, BanManager, failureWeight } from "../../watcher/src/jail/bans";
import { FailureCounter } from "../../watcher/src/jail/failures";
import { IPAddr, IPNetwork, IPSet } from "../../watcher/src/jail/ipaddr";
import { Jail } from "../../watcher/src/jail/jail";
import type { FilterDefinition, JailSettings } from "../../watcher/src/types";

const noInc = { enabled: false, factor: 1, multipliers: [], maxtime: 0, overalljails: false, rndtime: 0 };
const T0 = 1_700_000_000;

function settings(over: Partial<JailSettings> = {}): JailSettings {
    const filter: FilterDefinition = { name: "t", failregex: ["<HOST>"], ignoreregex: [], options: {} };
    return {
        name: "t",
        enabled: true,
        filter,
        logpath: [],
        maxretry: 3,
        findtime: 60,
        bantime: 600,
        banIncrement: { ...noInc },
        ignoreip: [],
        port: "http",
        protocol: "tcp",
        banaction: "nftables",
        ipv6Prefix: 128,
        origins: {},
        ...over,
    };
}

describe("jail: failure counter on the log's clock", () => {
    it("counts failures inside findtime only, by log time not wall time", () => {
        const c = new FailureCounter({ maxretry: 3, findtime: 60 });
        assert.equal(c.add("a", T0), 1);
        assert.equal(c.add("a", T0 + 30), 2);
        // 61 s after the first one: the first has left the window.
        assert.equal(c.add("a", T0 + 61), 2);
        assert.equal(c.add("a", T0 + 62), 3);
        assert.equal(c.add("b", T0 + 62), 1);
    });

    it("keeps the boundary inclusive and caps the count at maxretry", () => {
        const c = new FailureCounter({ maxretry: 2, findtime: 10 });
        c.add("a", T0);
        assert.equal(c.add("a", T0 + 10), 2);
        assert.equal(c.add("a", T0 + 10), 2);
    });

    it("forgets stale keys and never holds more than maxKeys", () => {
        const c = new FailureCounter({ maxretry: 5, findtime: 60, maxKeys: 100 });
        for (let i = 0; i < 50; i++) c.add(`old${i}`, T0);
        for (let i = 0; i < 10; i++) c.add(`new${i}`, T0 + 100);
        assert.equal(c.sweep(T0 + 100), 50);
        assert.equal(c.size, 10);
        for (let i = 0; i < 1000; i++) c.add(`x${i}`, T0 + 200 + i);
        assert.equal(c.size, 100);
        assert.equal(c.count("x999", T0 + 1199), 1);
        assert.equal(c.count("x0", T0 + 1199), 0);
    });

    it("sweeps stale keys lying behind a key that failed again", () => {
        const c = new FailureCounter({ maxretry: 5, findtime: 60 });
        c.add("a", T0);
        for (let i = 0; i < 20; i++) c.add(`stale${i}`, T0 + 1);
        c.add("a", T0 + 100); // "a" took its place first, but is fresh now
        c.add("b", T0 + 100);
        assert.equal(c.sweep(T0 + 100), 20);
        assert.equal(c.size, 2);
        assert.equal(c.count("a", T0 + 100), 1);
        assert.equal(c.count("b", T0 + 100), 1);
        assert.equal(c.count("stale0", T0 + 100), 0);
        // Nothing stale is left: a second sweep drops nothing and keeps both.
        assert.equal(c.sweep(T0 + 100), 0);
        assert.equal(c.size, 2);
    });

    it("at the cap forgets the least recently failing key, never the newest or one that keeps failing", () => {
        const c = new FailureCounter({ maxretry: 5, findtime: 600, maxKeys: 3 });
        c.add("a", T0);
        c.add("b", T0 + 1);
        c.add("c", T0 + 2);
        c.add("a", T0 + 3); // "a" is now more recent than "b" and "c"
        c.add("d", T0 + 4);
        assert.equal(c.size, 3);
        assert.equal(c.count("b", T0 + 4), 0, "b is the least recently failing");
        assert.equal(c.count("a", T0 + 4), 2);
        assert.equal(c.count("d", T0 + 4), 1);
        // Every tracked key failed again: the new key still stays and the cap still holds.
        c.add("a", T0 + 5);
        c.add("c", T0 + 5);
        c.add("d", T0 + 5);
        assert.equal(c.add("e", T0 + 6), 1);
        assert.equal(c.size, 3);
        assert.equal(c.count("e", T0 + 6), 1);
        // An address failing throughout a flood of distinct ones is never forgotten.
        const k = new FailureCounter({ maxretry: 1000, findtime: 10_000, maxKeys: 50 });
        for (let i = 0; i < 2000; i++) {
            k.add(`flood${i}`, T0 + i);
            if (i % 10 === 0) k.add("attacker", T0 + i);
        }
        assert.equal(k.size, 50);
        assert.equal(k.count("attacker", T0 + 2000), 200);
    });
});

describe("jail: ban manager", () => {
    it("bans at maxretry for bantime and unbans at the end", () => {
        const jail = new Jail(settings());
        assert.equal(jail.addFailure("203.0.113.9", T0).kind, "failure");
        assert.equal(jail.addFailure("203.0.113.9", T0 + 1).kind, "failure");
        const out = jail.addFailure("203.0.113.9", T0 + 2);
        assert.equal(out.kind, "ban");
        if (out.kind !== "ban") return;
        assert.deepEqual(out.ban, { jail: "t", ip: "203.0.113.9", start: T0 + 2, end: T0 + 602, banCount: 0 });
        assert.equal(jail.addFailure("203.0.113.9", T0 + 3).kind, "banned");
        assert.equal(jail.bans.nextExpiry(), T0 + 602);
        assert.deepEqual(jail.expire(T0 + 601), []);
        assert.deepEqual(
            jail.expire(T0 + 602).map(b => b.ip),
            ["203.0.113.9"],
        );
        assert.equal(jail.status().currentlyBanned, 0);
        assert.equal(jail.status().totalBanned, 1);
    });

    it("does not ban failures spread wider than findtime", () => {
        const jail = new Jail(settings());
        for (let i = 0; i < 10; i++) assert.notEqual(jail.addFailure("198.51.100.1", T0 + i * 31).kind, "ban");
    });

    it("makes negative bantime permanent", () => {
        const jail = new Jail(settings({ bantime: -1, maxretry: 1 }));
        const out = jail.addFailure("198.51.100.2", T0);
        assert.equal(out.kind, "ban");
        if (out.kind === "ban") assert.equal(out.ban.end, Infinity);
        assert.deepEqual(jail.expire(T0 + 10 * 365 * 86400), []);
        assert.equal(jail.bans.nextExpiry(), Infinity);
    });

    it("never bans ignoreip, whatever the count", () => {
        const jail = new Jail(settings({ ignoreip: ["127.0.0.1/8", "::1", "192.0.2.0/24"], maxretry: 1 }), {
            selfAddresses: ["10.9.9.9"],
        });
        for (const host of ["127.0.0.1", "127.3.2.1", "::1", "192.0.2.77", "10.9.9.9", "::ffff:127.0.0.1"]) {
            for (let i = 0; i < 50; i++) assert.equal(jail.addFailure(host, T0 + i).kind, "ignored", host);
        }
        assert.equal(jail.status().totalBanned, 0);
        assert.equal(jail.addFailure("192.0.3.1", T0).kind, "ban");
    });

    it("counts and bans IPv6 by /64 when asked, but never over an ignored address", () => {
        const jail = new Jail(settings({ ipv6Prefix: 64, ignoreip: ["2001:db8:ffff::1"] }));
        jail.addFailure("2001:db8:1:2::a", T0);
        jail.addFailure("2001:db8:1:2::b", T0 + 1);
        const out = jail.addFailure("2001:db8:1:2:ffff:1:2:3", T0 + 2);
        assert.equal(out.kind, "ban");
        if (out.kind === "ban") assert.equal(out.ban.ip, "2001:db8:1:2::/64");
        // The /64 holding an ignored address is banned per address instead.
        for (let i = 0; i < 3; i++) jail.addFailure("2001:db8:ffff::5", T0 + i);
        assert.deepEqual(jail.status().bannedList.sort(), ["2001:db8:1:2::/64", "2001:db8:ffff::5"]);
        const single = new Jail(settings());
        for (let i = 0; i < 3; i++) single.addFailure(`2001:db8:1:2::${i + 1}`, T0 + i);
        assert.equal(single.status().totalBanned, 0);
    });

    it("skips host names and stale lines", () => {
        const jail = new Jail(settings());
        assert.deepEqual(jail.addFailure("evil.example.com", T0), { kind: "invalid", host: "evil.example.com" });
        assert.deepEqual(jail.addFailure("203.0.113.1", T0 - 61, T0), { kind: "old" });
    });
});

describe("jail: bantime.increment", () => {
    const inc = { ...noInc, enabled: true };

    it("doubles by default formula, scaled by factor, capped by maxtime", () => {
        assert.deepEqual(
            [0, 1, 2, 3, 4].map(n => banDuration(600, inc, n)),
            [600, 1200, 2400, 4800, 9600],
        );
        assert.equal(banDuration(600, inc, 30), 600 * 2 ** 20);
        assert.equal(banDuration(600, { ...inc, factor: 3 }, 2), 7200);
        // max(bantime, formula): a factor below 1 never shortens a ban.
        assert.equal(banDuration(600, { ...inc, factor: 0.25 }, 1), 600);
        assert.equal(banDuration(600, { ...inc, maxtime: 3000 }, 5), 3000);
        assert.equal(banDuration(600, noInc, 5), 600);
        assert.equal(banDuration(-1, inc, 5), Infinity);
    });

    it("uses multipliers, repeating the last one", () => {
        const m = { ...inc, multipliers: [1, 5, 30, 60] };
        assert.deepEqual(
            [0, 1, 2, 3, 4, 9].map(n => banDuration(60, m, n)),
            [60, 300, 1800, 3600, 3600, 3600],
        );
        assert.equal(banDuration(60, { ...m, factor: 2 }, 1), 600);
    });

    it("adds up to rndtime random seconds", () => {
        assert.equal(
            banDuration(600, { ...inc, rndtime: 100 }, 1, () => 0.5),
            1250,
        );
        assert.equal(
            banDuration(600, { ...inc, rndtime: 100 }, 0, () => 0.5),
            600,
        );
    });

    it("weighs a known offender's failures more", () => {
        assert.deepEqual(
            [0, 1, 2, 3, 4].map(n => failureWeight(inc, n)),
            [1, 2, 3, 5, 9],
        );
        assert.equal(failureWeight(noInc, 3), 1);
    });

    it("grows the ban of a repeat offender across bans", () => {
        const jail = new Jail(settings({ maxretry: 4, banIncrement: { ...inc } }));
        const ends: number[] = [];
        let t = T0;
        for (let round = 0; round < 3; round++) {
            let out;
            let failures = 0;
            do {
                out = jail.addFailure("203.0.113.50", t++);
                failures++;
            } while (out.kind !== "ban");
            ends.push(out.ban.end - out.ban.start);
            assert.equal(out.ban.banCount, round);
            // After one ban, a failure weighs 2, so two failures ban (then 3: still 2).
            assert.equal(failures, round === 0 ? 4 : 2);
            t = out.ban.end;
            jail.expire(t);
        }
        assert.deepEqual(ends, [600, 1200, 2400]);
    });

    it("counts bans over all jails sharing a history with overalljails", () => {
        const history = new BanHistory();
        const mk = (name: string, overall: boolean) =>
            new BanManager({ jail: name, bantime: 100, increment: { ...inc, overalljails: overall }, history });
        const a = mk("a", false);
        const b = mk("b", true);
        const c = mk("c", false);
        const ip = IPAddr.parse("198.51.100.9")!;
        a.ban(ip, T0);
        assert.equal(b.ban(ip, T0)?.end, T0 + 200);
        assert.equal(c.ban(ip, T0)?.end, T0 + 100);
        assert.equal(history.count("a", "198.51.100.9"), 1);
        assert.equal(history.count("x", "198.51.100.9", true), 3);
        const restored = new BanHistory();
        restored.restore(history.records());
        assert.equal(restored.count("x", "198.51.100.9", true), 3);
        assert.equal(restored.prune(T0 + 150), 2);
        assert.equal(restored.count("x", "198.51.100.9", true), 1);
    });

    it("drops a ban that already ended when reading old lines, and restores saved bans", () => {
        const m = new BanManager({
            jail: "t",
            bantime: 100,
            increment: noInc,
            ignore: new IPSet([IPNetwork.parse("::1")!]),
        });
        assert.equal(m.ban(IPAddr.parse("203.0.113.1")!, T0, T0 + 500), undefined);
        assert.equal(m.ban(IPAddr.parse("::1")!, T0), undefined);
        const kept = m.restore(
            [
                { jail: "t", ip: "203.0.113.2", start: T0, end: T0 + 100, banCount: 0 },
                { jail: "t", ip: "203.0.113.3", start: T0, end: T0 + 10, banCount: 0 },
            ],
            T0 + 50,
        );
        assert.deepEqual(
            kept.map(b => b.ip),
            ["203.0.113.2"],
        );
        assert.ok(m.isBanned("203.0.113.2", T0 + 50));
        assert.equal(m.unban("203.0.113.2")?.ip, "203.0.113.2");
        assert.ok(!m.isBanned("203.0.113.2", T0 + 50));
    });
});
