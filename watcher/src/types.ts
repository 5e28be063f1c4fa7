// Contracts between jailwatch's pipeline stages. Pure data: no I/O, no Pulumi.
//
//   config (ini reader) -> filter (date detection, regex) -> jail (failure counter, ban manager) -> actions
//
// Each stage owns its folder under watcher/src; these types are what crosses between them.

/** Where a configuration value came from, so errors can name the file, the line and the key. */
export interface ConfigOrigin {
    file: string;
    line: number;
    key: string;
}

/** Raised for any malformed configuration: the message always names file, line and key. */
export class ConfigError extends Error {
    constructor(
        readonly origin: Partial<ConfigOrigin>,
        message: string,
    ) {
        super(
            `${origin.file ?? "<config>"}${origin.line ? `:${origin.line}` : ""}${origin.key ? `: ${origin.key}` : ""}: ${message}`,
        );
        this.name = "ConfigError";
    }
}

/** A configuration value after comment stripping and `%(name)s` interpolation. */
export interface ConfigValue {
    value: string;
    origin: ConfigOrigin;
}

/** A filter as read from filter.d (plus `filter = name[key=value]` arguments and jail-level overrides). */
export interface FilterDefinition {
    /** Filter name, e.g. `sshd` or `nginx-wp-xmlrpc`. */
    name: string;
    /** One entry per failregex line, fail2ban (Python) syntax with tags such as `<HOST>`, already interpolated. */
    failregex: string[];
    ignoreregex: string[];
    prefregex?: string;
    /** Raw `datepattern` value (may hold several lines, `{^LN-BEG}` and the like), if any. */
    datepattern?: string;
    /** How many lines one match may span (fail2ban's `maxlines`), default 1. */
    maxlines?: number;
    /** Every other [Definition]/[Init] option, e.g. `mode`, `journalmatch`. */
    options: Record<string, string>;
    /** Where failregex, ignoreregex, prefregex, datepattern and maxlines were set (for error messages). */
    origins?: Record<string, ConfigOrigin>;
}

/** What the filter made of one log line. */
export interface LineResult {
    kind: "matched" | "ignored" | "missed";
    /** Address (or host name for `<HOST>` with DNS) that failed, when matched. */
    host?: string;
    /** `<F-ID>` / `<F-USER>` and other captured F-tags, when present. */
    fid?: string;
    user?: string;
    /** Seconds since the epoch from the line's own timestamp; undefined if no date was found. */
    time?: number;
    /** Index into FilterDefinition.failregex of the regex that matched. */
    failregexIndex?: number;
    /** Index into FilterDefinition.ignoreregex when kind is "ignored". */
    ignoreregexIndex?: number;
    /** Set by `<F-NOFAIL>` matches: a hit that must not count as a failure. */
    noFail?: boolean;
    /** A multi-line (F-MLFID) match still waiting for its address: noFail for now, yet a matching line. */
    pending?: boolean;
    /** With checkAllRegex: the other failregexes that matched the line too. */
    alsoMatched?: number[];
    /** The results of those other failregexes, in the same order (their ids and times may differ). */
    alsoHits?: LineResult[];
    /** With checkAllRegex: one of the matches was an `<F-NOFAIL>` hit (fail2ban-regex then counts the line ignored). */
    anyNoFail?: boolean;
    /** Name of the date template that matched, for fail2ban-regex's "Date template hits". */
    dateTemplate?: string;
    /** Every named group that took part (ip4, ip6, dns, fid, user, mlfid, custom `<F-NAME>` tags ...). */
    groups?: Record<string, string>;
    /** Users seen for one multi-line failure id (F-MLFID), when more than none. */
    users?: string[];
    /** Lines that make up this failure (more than 1 when F-MLFID merged several lines). */
    attempts?: number;
    /** Whether the filter's prefregex matched the line; set only by filters that have a prefregex. */
    prefMatched?: boolean;
}

/** A compiled filter: feed it lines in log order. */
export interface Filter {
    readonly definition: FilterDefinition;
    /** Every failregex is tried on a line (CompileOptions.checkAllRegex), not only up to the first match. */
    readonly checkAll: boolean;
    /** `now` (epoch seconds) fills in a missing year/date, as fail2ban does. */
    processLine(line: string, now?: number): LineResult;
    /** The date templates in search order (jailwatch regex lists them). */
    readonly dateTemplateList?: ReadonlyArray<{ readonly name: string; readonly weight?: number }>;
    /** Where the last line's date template matched, as fail2ban measures it (its template reordering uses it). */
    readonly lastDateDistance?: number;
    /** A line whose time is known from its source (a journal entry): no date is looked for in the text. */
    processLineAt?(line: string, time: number): LineResult;
}

/** A jail's effective settings (what `jailwatch -d` prints). Durations are seconds; bantime < 0 is permanent. */
export interface JailSettings {
    name: string;
    enabled: boolean;
    filter: FilterDefinition;
    logpath: string[];
    maxretry: number;
    findtime: number;
    bantime: number;
    banIncrement: {
        enabled: boolean;
        factor: number;
        /** Explicit multipliers (`bantime.multipliers`), empty when the formula is used. */
        multipliers: number[];
        /** Upper bound in seconds; 0 = none. */
        maxtime: number;
        /** Whether the increment counts bans of the address in every jail (`bantime.overalljails`). */
        overalljails: boolean;
        /** Random jitter in seconds added to ban times (`bantime.rndtime`); 0 = none. */
        rndtime: number;
    };
    /** Addresses and CIDRs never banned. */
    ignoreip: string[];
    port: string;
    protocol: string;
    banaction: string;
    /** IPv6 addresses are banned by this prefix length (128 = single address). */
    ipv6Prefix: number;
    /** Where each setting came from, keyed by setting name. */
    origins: Record<string, ConfigOrigin>;
}

/** A ban decided by the jail logic; actions turn it into firewall state. */
export interface Ban {
    jail: string;
    /** Address or prefix (`2001:db8::/64`) to ban. */
    ip: string;
    /** Epoch seconds the ban started and ends; end = Infinity for permanent bans. */
    start: number;
    end: number;
    /** How many times this address has been banned before (drives bantime.increment). */
    banCount: number;
}
