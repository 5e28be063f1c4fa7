// Effective jail settings from a parsed configuration (what `jailwatch -d` prints and the daemon runs).
//
// Choices, where fail2ban leaves room:
// - Only enabled jails are resolved and checked (fail2ban does the same); `enabled` defaults to false.
// - Time values take fail2ban's units (see time.ts); a bad one is a ConfigError, never a silent default.
// - bantime < 0 means permanent (kept as written, e.g. -1). findtime must be > 0, maxretry an integer >= 1.
// - `bantime.formula` is Python in fail2ban. We do not evaluate code from config: the default formula is
//   recognised (whitespace-insensitive) and anything else is an error pointing at bantime.multipliers, which
//   expresses any growth curve. `bantime.factor` takes a number or a quotient like `2.0 / 2.885385`.
// - ignoreip: addresses, CIDRs and host names separated by spaces or commas; names are looked up when the server
//   resolves the settings (start, reload) through `resolveName`, not at -t. A word that is neither is an error.
//   `ignoreself` (default true) is kept as a flag: the daemon adds the host's own addresses (an I/O concern).
// - `ipv6prefix` (jailwatch's own key, default 128): IPv6 failures are counted and banned per that prefix,
//   e.g. 64 for /64. fail2ban has no such key, so stock configs are unaffected.
// - logpath: one pattern per line or whitespace-separated; fail2ban's ` tail`/` head` suffixes are dropped (the
//   follower always starts at the end). Globs are expanded by the daemon, not here.
// - `filter` defaults to the jail's name; `filter = name[key=value]` is handed to the filter loader with the
//   jail's own values, so `%(mode)s` & co. resolve as in fail2ban.

import { ConfigError, ConfigOrigin, ConfigValue, FilterDefinition, JailSettings } from "../types";
import { backendFor } from "../actions/backend";
import { portProblem, protocolProblem } from "../actions/ports";
import { ActionSpec, parseActionSpecs } from "../actions/spec";
import { ActionDefinition, definitionProblems } from "../actions/definition";
import { parseFilterSpec } from "../config/reader";
import { journalSpec, JournalSpec } from "../follow/journal-spec";
import { backendFor as sourceBackendFor, backendName } from "../follow/registry";
import { isHostName } from "./dns";
import { IPNetwork } from "./ipaddr";
import { parseBool, parseDuration } from "./time";

/** What settings.ts needs from the configuration reader (config/reader.ts's JailConfig satisfies it). */
export interface JailConfigSource {
    jailNames(): string[];
    get(jail: string, key: string): ConfigValue | undefined;
    keys(jail: string): string[];
}

/** Loads the filter a jail names: `spec` is the `filter` value (`sshd[mode=aggressive]`). */
export type FilterLoader = (
    spec: string,
    jailValues: Record<string, string>,
    origin?: ConfigOrigin,
) => FilterDefinition;

export interface ResolveOptions {
    /** Filter loader (the CLI passes config/reader.ts's loadFilter bound to the config dir). */
    loadFilter: FilterLoader;
    /** Resolve these jails even when not enabled (e.g. `jailwatch -d --all`). */
    includeDisabled?: boolean;
    /** Whether action.d/NAME.conf exists (for -t's "unknown action"); unchecked when absent. */
    actionExists?: (name: string) => boolean;
    /** Loads an action.d action for a jail (config/action-reader.ts's loadAction bound to the config dir). */
    loadAction?: (name: string, args: Record<string, string>, jail: string, origin?: ConfigOrigin) => ActionDefinition;
    /** Looks up an ignoreip host name (the server passes jail/dns.ts's lookupSync); names stay unresolved without it. */
    resolveName?: (name: string) => string[];
}

/** JailSettings plus what jailwatch needs beyond the shared contract. */
export interface ResolvedJail extends JailSettings {
    /** Also never ban this host's own addresses (fail2ban's ignoreself). */
    ignoreself: boolean;
    /** The `filter` value as written (`sshd[mode=normal]`). */
    filterSpec: string;
    /** fail2ban backend as written (auto, polling, pyinotify, gamin: logpath files; systemd[...]: the journal). */
    backend: string;
    /** The journal to read (`backend = systemd[...]` with the filter's or jail's journalmatch); unset for files. */
    journal?: JournalSpec;
    /** `usedns` as written (yes, warn, no, raw). */
    usedns: string;
    /** Share failures with the peers and count theirs (`sharefailures`, default false). */
    shareFailures: boolean;
    /** action.d actions run as commands (everything but the stock ban actions), in the order written. */
    actions: ActionDefinition[];
    /** Whether a native backend (nftables*, iptables*, dummy) bans for this jail; false: only `actions` run. */
    nativeAction: boolean;
    /** Addresses of the host names in `ignoreip`, looked up when resolved with `resolveName`. */
    ignoreipResolved: string[];
}

const SECTIONS_NOT_JAILS = new Set(["default", "includes", "definition", "init"]);
const DEFAULT_FORMULA = "ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor".replace(/\s+/g, "");

/** Enabled jails with effective settings; throws the first ConfigError (use checkJails for all of them). */
export function resolveJails(config: JailConfigSource, opts: ResolveOptions): ResolvedJail[] {
    const { jails, errors } = checkJails(config, opts);
    if (errors.length > 0) throw errors[0];
    return jails;
}

/** Resolves every enabled jail, collecting errors instead of stopping at the first. */
export function checkJails(
    config: JailConfigSource,
    opts: ResolveOptions,
): { jails: ResolvedJail[]; errors: ConfigError[] } {
    const jails: ResolvedJail[] = [];
    const errors: ConfigError[] = [];
    for (const name of config.jailNames()) {
        if (SECTIONS_NOT_JAILS.has(name.toLowerCase())) continue;
        const r = new JailReader(config, name);
        const enabled = r.bool("enabled", false);
        if (r.errors.length > 0) {
            errors.push(...r.errors);
            continue;
        }
        if (!enabled && !opts.includeDisabled) continue;
        const jail = resolveOne(r, enabled, opts);
        errors.push(...r.errors);
        if (jail && r.errors.length === 0) jails.push(jail);
    }
    return { jails, errors };
}

function resolveOne(r: JailReader, enabled: boolean, opts: ResolveOptions): ResolvedJail | undefined {
    const maxretry = r.value(
        "maxretry",
        "5",
        v => {
            const n = Number(v);
            return Number.isInteger(n) && n >= 1 ? n : undefined;
        },
        "an integer >= 1",
    );
    const findtime = r.value(
        "findtime",
        "600",
        v => {
            const n = parseDuration(v);
            return n !== undefined && n > 0 ? n : undefined;
        },
        "a positive time (600, 10m, 1h30m)",
    );
    const bantime = r.value(
        "bantime",
        "600",
        v => {
            const n = parseDuration(v);
            return n !== undefined && n !== 0 ? n : undefined;
        },
        "a time (600, 10m, 12h; negative = permanent)",
    );
    const increment = r.bool("bantime.increment", false);
    const factor = r.value("bantime.factor", "1", parseFactor, "a positive number or quotient (2, 2.0 / 2.885385)");
    const multipliers = r.value(
        "bantime.multipliers",
        "",
        v => {
            const parts = v.trim() === "" ? [] : v.trim().split(/\s+/);
            const nums = parts.map(Number);
            return nums.every(n => Number.isInteger(n) && n > 0) ? nums : undefined;
        },
        "space-separated positive integers (1 2 4 8 16)",
    );
    const maxtime = r.value(
        "bantime.maxtime",
        "",
        v => (v.trim() === "" ? 0 : positive(parseDuration(v))),
        "a positive time (1w, 5d)",
    );
    const rndtime = r.value(
        "bantime.rndtime",
        "",
        v => (v.trim() === "" ? 0 : nonNegative(parseDuration(v))),
        "a time >= 0",
    );
    const overalljails = r.bool("bantime.overalljails", false);
    r.value(
        "bantime.formula",
        "",
        v => {
            const norm = v.replace(/\s+/g, "");
            return norm === "" || norm === DEFAULT_FORMULA ? true : undefined;
        },
        "fail2ban's default formula (custom formulas are not evaluated; use bantime.multipliers)",
    );
    const ignoreip = r.value(
        "ignoreip",
        "",
        v => {
            const out: string[] = [];
            for (const item of v.split(/[\s,]+/)) {
                if (item === "") continue;
                const net = IPNetwork.parse(item);
                if (net) out.push(net.text);
                else if (isHostName(item)) out.push(item);
                else return undefined;
            }
            return out;
        },
        "addresses, CIDRs or host names (127.0.0.1/8 ::1 192.0.2.0/24 gw.example.org)",
    );
    // Host names in ignoreip are looked up now (start and reload), as fail2ban does; -t does not look them up.
    const ignoreipResolved = opts.resolveName
        ? ignoreip.filter(x => !IPNetwork.parse(x)).flatMap(n => opts.resolveName!(n))
        : [];
    const ignoreself = r.bool("ignoreself", true);
    const shareFailures = r.bool("sharefailures", false);
    const ipv6Prefix = r.value(
        "ipv6prefix",
        "128",
        v => {
            const n = Number(v);
            return Number.isInteger(n) && n >= 1 && n <= 128 ? n : undefined;
        },
        "a prefix length 1..128 (64 bans IPv6 /64 networks)",
    );
    const logpath = r.value(
        "logpath",
        "",
        v => {
            const out: string[] = [];
            for (const line of v.split("\n")) {
                const t = line.trim().replace(/\s+(tail|head)$/i, "");
                if (t !== "") out.push(...t.split(/\s+/));
            }
            return out;
        },
        "file paths or globs",
    );
    let port = r.string("port", "0:65535");
    let protocol = r.string("protocol", "tcp");
    let banaction = r.string("banaction", "nftables");
    // `action` is what fail2ban runs (banaction only through it): honour it, never ignore what it asks for.
    const { native: chosen, generic, plain } = chooseAction(r, banaction, opts);
    if (chosen) {
        banaction = chosen.name;
        port = chosen.args.port ?? port;
        protocol = chosen.args.protocol ?? protocol;
    }
    r.check(chosen?.key ?? "port", portProblem(port));
    r.check(chosen?.key ?? "protocol", protocolProblem(protocol));
    if (
        (chosen || plain) &&
        backendFor(banaction) === "iptables-ipset" &&
        protocol.split(/[\s,]+/).filter(x => x).length > 1
    ) {
        r.check(
            chosen?.key ?? "protocol",
            `iptables-ipset: one protocol per jail (${protocol}); use nftables or one jail per protocol`,
        );
    }
    const backend = r.string("backend", "auto");
    // A backend we do not know must not quietly become "follow the files".
    r.check("backend", backendProblem(backend));
    let backendArgs: Record<string, string> = {};
    if (backendName(backend) === "systemd") {
        try {
            backendArgs = parseFilterSpec(backend).args;
        } catch {
            r.check(
                "backend",
                `cannot read the options of backend ${JSON.stringify(backend)}: expected systemd[key=value, ...]`,
            );
        }
    }
    const usedns = r.value(
        "usedns",
        "warn",
        v => (/^(yes|warn|no|raw)$/i.test(v.trim()) ? v.trim().toLowerCase() : undefined),
        "yes, warn, no or raw",
    );
    const filterSpec = r.string("filter", r.name).trim();

    let filter: FilterDefinition | undefined;
    if (r.errors.length === 0) {
        try {
            filter = opts.loadFilter(filterSpec || r.name, r.all(), r.origin("filter"));
        } catch (e) {
            // Point at the jail's `filter` line (what the operator wrote); the message names the filter file.
            const msg = e instanceof Error ? e.message : String(e);
            r.errors.push(new ConfigError(r.origin("filter") ?? { key: "filter" }, `jail [${r.name}]: ${msg}`));
        }
    }
    if (r.errors.length > 0 || !filter) return undefined;
    let journal: JournalSpec | undefined;
    if (backendName(backend) === "systemd") {
        try {
            journal = journalSpec(backendArgs, filter.options.journalmatch);
        } catch (e) {
            const msg = (e as Error).message;
            r.check(/^journalmatch/.test(msg) && r.origin("journalmatch") ? "journalmatch" : "backend", msg);
            return undefined;
        }
    }
    return {
        name: r.name,
        enabled,
        filter,
        logpath,
        maxretry,
        findtime,
        bantime,
        banIncrement: { enabled: increment, factor, multipliers, maxtime, overalljails, rndtime },
        ignoreip,
        port,
        protocol,
        banaction,
        ipv6Prefix,
        origins: r.origins,
        ignoreself,
        filterSpec,
        backend,
        journal,
        usedns,
        shareFailures,
        actions: generic,
        nativeAction: !!chosen || !!plain,
        ignoreipResolved,
    };
}

/**
 * What a jail's `action` (or, without one, its `banaction`) runs: the stock ban actions (nftables*, iptables*,
 * dummy) on the native backends (one per jail: restore and bans are batched there), every other action.d action
 * through its commands (actions/generic.ts). An action that cannot run is an error naming the line.
 */
function chooseAction(
    r: JailReader,
    banaction: string,
    opts: ResolveOptions,
): { native?: ActionSpec & { key: string }; generic: ActionDefinition[]; plain?: boolean } {
    const generic: ActionDefinition[] = [];
    let text: string | undefined;
    try {
        text = r.string("action", "");
    } catch (e) {
        r.check("action", e instanceof Error ? e.message : String(e));
        return { generic };
    }
    // No `action`: the banaction alone, with the jail's own port and protocol.
    if (text === "" && backendFor(banaction)) return { generic, plain: true };
    const key = text === "" ? "banaction" : "action";
    let specs: ActionSpec[];
    try {
        specs = text === "" ? [{ name: banaction, args: {} }] : parseActionSpecs(text);
    } catch (e) {
        r.check("action", (e as Error).message);
        return { generic };
    }
    let native: ActionSpec | undefined;
    for (const a of specs) {
        // Named by the line the operator wrote: `banaction = ufw` reaches here through the stock `action`.
        const at = a.name === banaction ? "banaction" : key;
        if (backendFor(a.name)) {
            if (!native) native = { name: a.name, args: { ...a.args } };
            else if ((a.args.port ?? "") !== (native.args.port ?? "")) {
                r.check(
                    "action",
                    `ban actions ${native.name} and ${a.name} with different ports in one jail are not supported (use one jail per port list)`,
                );
            } else if ((a.args.protocol ?? "") !== (native.args.protocol ?? "")) {
                // The stock tcp + udp pair (e.g. [named-refused]): one rule matching both protocols.
                native.args.protocol = [
                    ...new Set(`${native.args.protocol ?? ""},${a.args.protocol ?? ""}`.split(/[\s,]+/).filter(x => x)),
                ].join(",");
            }
        } else if (opts.actionExists && !opts.actionExists(a.name)) {
            r.check(at, `unknown action ${JSON.stringify(a.name)}: no action.d/${a.name}.conf`);
        } else if (!opts.loadAction) {
            r.check(at, `action ${JSON.stringify(a.name)} (action.d/${a.name}.conf) cannot run: no action loader`);
        } else {
            try {
                const def = opts.loadAction(a.name, a.args, r.name, r.origin(at));
                const problems = definitionProblems(def);
                for (const p of problems) r.errors.push(new ConfigError(p.origin, `${p.message} in jail [${r.name}]`));
                if (!problems.length) generic.push(def);
            } catch (e) {
                if (e instanceof ConfigError) r.errors.push(e);
                else r.check(at, (e as Error).message);
            }
        }
    }
    if (specs.length === 0) r.check("action", "no action given");
    return { native: native ? { ...native, key: "action" } : undefined, generic };
}

/** Why a `backend` value cannot run (by -t and the server alike), or undefined. */
export function backendProblem(value: string): string | undefined {
    if (sourceBackendFor(value)) return undefined;
    return `unknown backend ${JSON.stringify(backendName(value))}: jailwatch reads auto, polling, pyinotify, gamin (logpath files) and systemd (the journal)`;
}

/** The same words for -t and the server (a unit that runs -t before starting must never loop on this). */
export function unsupportedBanaction(name: string): string {
    return `unsupported banaction ${JSON.stringify(name)} (jailwatch runs nftables*, iptables*, dummy)`;
}

function positive(n: number | undefined): number | undefined {
    return n !== undefined && n > 0 ? n : undefined;
}
function nonNegative(n: number | undefined): number | undefined {
    return n !== undefined && n >= 0 ? n : undefined;
}
function parseFactor(v: string): number | undefined {
    const m = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*(?:\/\s*(\d+(?:\.\d*)?|\.\d+)\s*)?$/.exec(v);
    if (!m) return undefined;
    const n = m[2] === undefined ? Number(m[1]) : Number(m[1]) / Number(m[2]);
    return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** Reads one jail's values, recording origins and collecting errors (so -t can report them all). */
class JailReader {
    readonly errors: ConfigError[] = [];
    readonly origins: Record<string, ConfigOrigin> = {};

    constructor(
        private readonly config: JailConfigSource,
        readonly name: string,
    ) {}

    origin(key: string): ConfigOrigin | undefined {
        return this.config.get(this.name, key)?.origin;
    }

    /**
     * Every value of the jail that can be interpolated, for the filter's `%(name)s` references. A value that
     * cannot (e.g. jail.conf's `fail2ban_agent`, which refers to fail2ban's own version) is left out: it only
     * matters if the filter uses it, and then the filter loader reports it.
     */
    all(): Record<string, string> {
        const out: Record<string, string> = {};
        for (const k of this.config.keys(this.name)) {
            try {
                const v = this.config.get(this.name, k);
                if (v) out[k] = v.value;
            } catch {
                // see above
            }
        }
        return out;
    }

    string(key: string, dflt: string): string {
        const v = this.config.get(this.name, key);
        if (!v) return dflt;
        this.origins[key] = v.origin;
        return v.value.trim();
    }

    /** Records `problem` (if any) against `key`'s origin. */
    check(key: string, problem: string | undefined): void {
        if (problem === undefined) return;
        this.errors.push(new ConfigError(this.origin(key) ?? { key }, `${problem} in jail [${this.name}]`));
    }

    bool(key: string, dflt: boolean): boolean {
        return this.value(key, String(dflt), parseBool, "true or false (yes/no, on/off, 1/0)");
    }

    value<T>(key: string, dflt: string, parse: (v: string) => T | undefined, expected: string): T {
        const v = this.config.get(this.name, key);
        const text = v ? v.value : dflt;
        if (v) this.origins[key] = v.origin;
        const out = parse(text);
        if (out !== undefined) return out;
        const origin = v?.origin ?? { key };
        const shown = text.length > 60 ? `${text.slice(0, 57)}...` : text;
        const err = new ConfigError(
            origin,
            `invalid value ${JSON.stringify(shown)} in jail [${this.name}]: expected ${expected}`,
        );
        this.errors.push(err);
        // A placeholder keeps the remaining checks going; the jail is dropped because errors is non-empty.
        return parse(dflt) as T;
    }
}
