// Effective jail settings from configuration values: time units, increments, ignoreip, defaults, errors.

import { strict as assert } from "assert";
import { checkJails, JailConfigSource, resolveJails } from "../../watcher/src/jail/settings";
import { formatDuration, parseBool, parseDuration } from "../../watcher/src/jail/time";
import { ConfigError, ConfigValue, FilterDefinition } from "../../watcher/src/types";

/** A configuration in memory: jail -> key -> value; DEFAULT values apply to every jail; line = key order. */
function source(
    jails: Record<string, Record<string, string>>,
    defaults: Record<string, string> = {},
): JailConfigSource {
    const at = (file: string, keys: string[], key: string): ConfigValue["origin"] => ({
        file,
        line: keys.indexOf(key) + 1,
        key,
    });
    return {
        jailNames: () => Object.keys(jails),
        keys: jail => [...new Set([...Object.keys(defaults), ...Object.keys(jails[jail] ?? {})])],
        get: (jail, key) => {
            const own = jails[jail] ?? {};
            if (key in own) return { value: own[key], origin: at(`jail.d/${jail}.conf`, Object.keys(own), key) };
            if (key in defaults) return { value: defaults[key], origin: at("jail.conf", Object.keys(defaults), key) };
            return undefined;
        },
    };
}

const loaded: Array<{ spec: string; values: Record<string, string> }> = [];
const loadFilter = (spec: string, values: Record<string, string>): FilterDefinition => {
    loaded.push({ spec, values });
    if (spec.startsWith("missing")) throw new ConfigError({ file: `filter.d/${spec}.conf` }, "filter not found");
    return { name: spec.replace(/\[.*$/, ""), failregex: ["<HOST>"], ignoreregex: [], options: {} };
};

describe("settings: time values", () => {
    it("takes fail2ban's units, combos and plain seconds", () => {
        const cases: Array<[string, number]> = [
            ["600", 600],
            ["10m", 600],
            ["1h", 3600],
            ["1d", 86400],
            ["1w", 604800],
            ["1h30m", 5400],
            ["1h 30m", 5400],
            ["0d 1h 30m", 5400],
            ["2 weeks", 1209600],
            ["90 seconds", 90],
            ["1hour+30min", 5400],
            ["-1", -1],
            ["1.5h", 5400],
            ["1mo", 2629800],
            ["1year-6mo", 15778800],
            ["1y", 31557600],
            ["3 hours", 10800],
            ["5 sec", 5],
            ["1D", 86400],
            ["1h2", 3602],
        ];
        for (const [text, want] of cases) assert.equal(parseDuration(text), want, text);
    });

    it("rejects anything else", () => {
        for (const text of ["", "twenty", "10x", "1h--2m", "m", "10 parsecs", "--1", "1 +", "0x10"]) {
            assert.equal(parseDuration(text), undefined, text);
        }
    });

    it("reads booleans like fail2ban and prints durations short", () => {
        assert.deepEqual(["true", "Yes", "on", "1", "false", "no", "OFF", "0", "maybe"].map(parseBool), [
            true,
            true,
            true,
            true,
            false,
            false,
            false,
            false,
            undefined,
        ]);
        assert.deepEqual([43200, 5400, 604800, 90, -1, 0].map(formatDuration), [
            "12h",
            "1h30m",
            "1w",
            "1m30s",
            "permanent",
            "0s",
        ]);
    });
});

describe("settings: resolveJails", () => {
    it("resolves only enabled jails, with DEFAULT values and origins", () => {
        const jails = resolveJails(
            source(
                { a: { enabled: "true", maxretry: "3" }, b: { enabled: "false" }, c: {} },
                { bantime: "1h", findtime: "10m" },
            ),
            { loadFilter },
        );
        assert.deepEqual(
            jails.map(j => j.name),
            ["a"],
        );
        const a = jails[0];
        assert.equal(a.maxretry, 3);
        assert.equal(a.bantime, 3600);
        assert.equal(a.findtime, 600);
        assert.equal(a.filter.name, "a", "filter defaults to the jail name");
        assert.deepEqual(a.origins.maxretry, { file: "jail.d/a.conf", line: 2, key: "maxretry" });
        assert.deepEqual(a.origins.bantime, { file: "jail.conf", line: 1, key: "bantime" });
        assert.equal(a.ipv6Prefix, 128);
        assert.equal(a.ignoreself, true);
        assert.equal(a.banIncrement.enabled, false);
    });

    it("keeps negative bantime as permanent", () => {
        const [j] = resolveJails(source({ p: { enabled: "yes", bantime: "-1" } }), { loadFilter });
        assert.equal(j.bantime, -1);
    });

    it("reads bantime.increment and its companions", () => {
        const [j] = resolveJails(
            source({
                i: {
                    enabled: "1",
                    bantime: "10m",
                    "bantime.increment": "true",
                    "bantime.factor": "2.0 / 2.885385",
                    "bantime.multipliers": "1 5 30 60",
                    "bantime.maxtime": "5d",
                    "bantime.rndtime": "10m",
                    "bantime.overalljails": "on",
                    "bantime.formula": "ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor",
                },
            }),
            { loadFilter },
        );
        assert.deepEqual(j.banIncrement, {
            enabled: true,
            factor: 2 / 2.885385,
            multipliers: [1, 5, 30, 60],
            maxtime: 432000,
            overalljails: true,
            rndtime: 600,
        });
    });

    it("normalises ignoreip (spaces or commas, CIDRs) and logpath (lines, tail/head)", () => {
        const [j] = resolveJails(
            source({
                n: {
                    enabled: "true",
                    ignoreip: "127.0.0.1/8, ::1  192.0.2.7 2001:DB8::/32",
                    logpath: "/var/log/a.log\n  /var/log/b*.log tail\n/var/log/c.log /var/log/d.log",
                    ipv6prefix: "64",
                },
            }),
            { loadFilter },
        );
        assert.deepEqual(j.ignoreip, ["127.0.0.0/8", "::1", "192.0.2.7", "2001:db8::/32"]);
        assert.deepEqual(j.logpath, ["/var/log/a.log", "/var/log/b*.log", "/var/log/c.log", "/var/log/d.log"]);
        assert.equal(j.ipv6Prefix, 64);
    });

    it("hands the filter spec and the jail's values to the filter loader", () => {
        loaded.length = 0;
        resolveJails(
            source({ s: { enabled: "true", filter: "sshd[mode=aggressive]", mode: "normal" } }, { port: "ssh" }),
            { loadFilter },
        );
        assert.equal(loaded[0].spec, "sshd[mode=aggressive]");
        assert.equal(loaded[0].values.mode, "normal");
        assert.equal(loaded[0].values.port, "ssh");
    });

    it("collects one ConfigError per bad value, naming file, line and key", () => {
        const { jails, errors } = checkJails(
            source({
                bad: {
                    enabled: "true",
                    maxretry: "twenty",
                    findtime: "0",
                    bantime: "soon",
                    ipv6prefix: "129",
                    "bantime.factor": "-2",
                    "bantime.increment": "sure",
                },
                other: { enabled: "true", filter: "missing-one" },
                enabledbad: { enabled: "perhaps" },
            }),
            { loadFilter },
        );
        assert.deepEqual(jails, []);
        const msgs = errors.map(e => e.message);
        for (const [key, line] of [
            ["maxretry", 2],
            ["findtime", 3],
            ["bantime", 4],
            ["ipv6prefix", 5],
            ["bantime.factor", 6],
            ["bantime.increment", 7],
        ] as const) {
            assert.ok(
                msgs.some(m => m.startsWith(`jail.d/bad.conf:${line}: ${key}: invalid value`)),
                `${key}: ${msgs.join("\n")}`,
            );
        }
        assert.ok(
            msgs.some(m =>
                m.startsWith("jail.d/other.conf:2: filter: jail [other]: filter.d/missing-one.conf: filter not found"),
            ),
            msgs.join("\n"),
        );
        assert.ok(msgs.some(m => m.startsWith("jail.d/enabledbad.conf:1: enabled: invalid value")));
        assert.throws(
            () => resolveJails(source({ bad: { enabled: "true", maxretry: "twenty" } }), { loadFilter }),
            ConfigError,
        );
    });

    it("takes host names in ignoreip (fail2ban does; issue 14), refuses garbage there and non-default formulas", () => {
        const { errors } = checkJails(
            source({
                h: { enabled: "true", ignoreip: "127.0.0.1 myhost.example.com not_a/host!" },
                f: { enabled: "true", "bantime.formula": "ban.Time * 3" },
            }),
            { loadFilter },
        );
        assert.equal(errors.length, 2);
        assert.match(errors[0].message, /ignoreip: invalid value .*host names/);
        assert.match(errors[1].message, /bantime\.formula: .*bantime\.multipliers/);
    });
});
