// fail2ban's regex tags (`<HOST>`, `<F-USER>...</F-USER>`, ...) expanded to Python-syntax regex groups.
//
// Group names follow fail2ban so F-tags land under the same keys: `ip4`, `ip6`, `dns`, `cidr`, `fid` (for F-ID),
// `fport` (F-PORT), and any other `<F-NAME>` becomes group `name` (lower-case): user, mlfid, nofail, content, ...

/** Dotted IPv4. */
const IPV4 = String.raw`(?:\d{1,3}\.){3}\d{1,3}`;
/**
 * IPv6 in any of its textual forms (full, compressed, with `::`). fail2ban ends it with `(?<=:):`; every repeated
 * item ends in `:`, so that lookbehind always holds and a plain `:` is the same pattern, one without lookaround
 * (which lets V8 fall back to its linear-time engine on a catastrophic failregex, see backtracking.ts).
 */
const IPV6 = String.raw`(?:[0-9a-fA-F]{1,4}::?|::){1,7}(?:[0-9a-fA-F]{1,4}|:)`;

const G_IP4 = String.raw`(?:::f{4,6}:)?(?P<ip4>${IPV4})`;
const G_IP6 = `(?P<ip6>${IPV6})`;
const G_DNS = String.raw`(?P<dns>[\w\-.^_]*\w)`;
const G_ADDR = String.raw`\[?(?:${G_IP4}|${G_IP6})\]?`;
const G_CIDR = String.raw`(?P<cidr>\d+)`;
const G_SUBNET = String.raw`\[?(?:${G_IP4}|${G_IP6})(?:/${G_CIDR})?\]?`;

const STATIC: Record<string, string> = {
    IP4: G_IP4,
    "F-IP4/": G_IP4,
    IP6: G_IP6,
    "F-IP6/": G_IP6,
    ADDR: G_ADDR,
    "F-ADDR/": G_ADDR,
    CIDR: G_CIDR,
    "F-CIDR/": G_CIDR,
    SUBNET: G_SUBNET,
    "F-SUBNET/": G_SUBNET,
    DNS: G_DNS,
    "F-DNS/": G_DNS,
    "F-ID/": String.raw`(?P<fid>\S+)`,
    "F-PORT/": String.raw`(?P<fport>\w+)`,
};

/** F-tag name -> regex group name. */
export function fTagGroup(tag: string): string {
    const t = tag.toLowerCase();
    return t === "id" ? "fid" : t === "port" ? "fport" : t;
}

const FTAG_RE = /<\/?[\w-]+\/?>/g;
const FCUST_RE = /^(\/?)F-([A-Z0-9_-]+)$/;

/**
 * Expands tags in a failregex/ignoreregex/prefregex. `useDns` "no" (or a value fail2ban does not know) makes `<HOST>` accept addresses only.
 * Unknown tags stay as written (they are plain text to the regex).
 */
export function expandTags(regex: string, useDns = "warn"): string {
    // As fail2ban's setUseDns: any case, and a value it does not know is its safe "no" (addresses only).
    const namesAllowed = ["yes", "warn", "raw"].includes(useDns.trim().toLowerCase());
    const open = new Set<string>();
    let skip = 0;
    return regex.replace(FTAG_RE, tag => {
        const tn = tag.slice(1, -1);
        if (tn === "HOST") return namesAllowed ? `(?:${G_ADDR}|${G_DNS})` : G_ADDR;
        if (tn === "SKIPLINES") return String.raw`\n(?P<skiplines${skip++}>(?:(?:.*\n)*?))`;
        const st = STATIC[tn];
        if (st !== undefined) return st;
        const m = FCUST_RE.exec(tn);
        if (!m) return tag;
        if (m[1]) return open.has(m[2]) ? ")" : tag;
        open.add(m[2]);
        return `(?P<${fTagGroup(m[2])}>`;
    });
}

/** The regex as fail2ban-regex prints it: the configured text, tags and all (it is already that). */
export function displayRegex(regex: string): string {
    return regex;
}

/** fail2ban's own spelling of the IPv6 part (see IPV6 for why jailwatch matches with another). */
const IPV6_F2B = String.raw`(?:[0-9a-fA-F]{1,4}::?|::){1,7}(?:[0-9a-fA-F]{1,4}|(?<=:):)`;

/** A regex with its tags expanded as fail2ban-regex prints it (never compiled: see IPV6). */
export function expandTagsForDisplay(regex: string, useDns = "warn"): string {
    return expandTags(regex, useDns).split(IPV6).join(IPV6_F2B);
}
