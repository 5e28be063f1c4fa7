// IPv4/IPv6 parsing, canonical text, CIDR membership and IPv6 prefix reduction.
//
// Called once per failure (not per log line), but attacks produce failures by the million, so parsing works on
// char codes without regexes or intermediate arrays. An address is held as 32-bit words: one for IPv4, four for
// IPv6 (most significant first). IPv4-mapped IPv6 (`::ffff:192.0.2.1`) is treated as the IPv4 address: that is
// the packet the firewall sees, and it keeps one address from being counted (and banned) under two names.

export type IPFamily = 4 | 6;

/** A parsed address. `text` is the canonical form (dotted quad, or RFC 5952 for IPv6). */
export class IPAddr {
    private constructor(
        readonly family: IPFamily,
        /** IPv4: [u32]; IPv6: four u32 words, most significant first. */
        readonly words: readonly number[],
        readonly text: string,
    ) {}

    /** Parses `192.0.2.1`, `2001:db8::1`, `[2001:db8::1]`, `::ffff:192.0.2.1`; undefined if not an address. */
    static parse(input: string): IPAddr | undefined {
        let s = input;
        if (s.length > 1 && s.charCodeAt(0) === 91 /* [ */ && s.charCodeAt(s.length - 1) === 93 /* ] */)
            s = s.slice(1, -1);
        if (s.indexOf(":") < 0) {
            const v4 = parseIPv4(s, 0, s.length);
            return v4 < 0 ? undefined : new IPAddr(4, [v4], formatIPv4(v4));
        }
        const groups = parseIPv6(s);
        if (!groups) return undefined;
        if (
            groups[0] === 0 &&
            groups[1] === 0 &&
            groups[2] === 0 &&
            groups[3] === 0 &&
            groups[4] === 0 &&
            groups[5] === 0xffff
        ) {
            const v4 = ((groups[6] << 16) | groups[7]) >>> 0;
            return new IPAddr(4, [v4], formatIPv4(v4));
        }
        const words = [0, 0, 0, 0];
        for (let i = 0; i < 4; i++) words[i] = ((groups[2 * i] << 16) | groups[2 * i + 1]) >>> 0;
        return new IPAddr(6, words, formatIPv6(words));
    }

    static fromWords(family: IPFamily, words: readonly number[]): IPAddr {
        return new IPAddr(family, words, family === 4 ? formatIPv4(words[0]) : formatIPv6(words));
    }

    get bits(): number {
        return this.family === 4 ? 32 : 128;
    }

    /** The network of the first `len` bits of this address. */
    network(len: number): IPNetwork {
        return IPNetwork.of(this.family, this.words, len);
    }

    toString(): string {
        return this.text;
    }
}

/** A CIDR block. A full-length block (/32, /128) prints as the bare address. */
export class IPNetwork {
    private constructor(
        readonly family: IPFamily,
        /** Words with host bits cleared. */
        readonly words: readonly number[],
        readonly prefix: number,
        readonly text: string,
    ) {}

    static of(family: IPFamily, words: readonly number[], prefix: number): IPNetwork {
        const bits = family === 4 ? 32 : 128;
        if (!(prefix >= 0 && prefix <= bits && Number.isInteger(prefix)))
            throw new RangeError(`prefix /${prefix} out of range for IPv${family}`);
        const masked = maskWords(words, prefix);
        const addr = family === 4 ? formatIPv4(masked[0]) : formatIPv6(masked);
        return new IPNetwork(family, masked, prefix, prefix === bits ? addr : `${addr}/${prefix}`);
    }

    /**
     * Parses `addr`, `addr/len` or `a.b.c.d/m.m.m.m`. Host bits are cleared, as fail2ban does (`127.0.0.1/8` is
     * `127.0.0.0/8`). Undefined if not a network.
     */
    static parse(input: string): IPNetwork | undefined {
        const slash = input.indexOf("/");
        const addr = IPAddr.parse(slash < 0 ? input : input.slice(0, slash));
        if (!addr) return undefined;
        if (slash < 0) return addr.network(addr.bits);
        const lenText = input.slice(slash + 1);
        let len: number;
        if (/^\d{1,3}$/.test(lenText)) {
            len = Number(lenText);
            // `::ffff:10.0.0.0/104` names an IPv4 block; keep the mask aligned with the IPv4 view of it.
            if (addr.family === 4 && input.indexOf(":") >= 0) len -= 96;
        } else if (addr.family === 4 && lenText.indexOf(".") > 0) {
            const mask = parseIPv4(lenText, 0, lenText.length);
            if (mask < 0) return undefined;
            len = Math.clz32(~mask);
            if (len < 32 && mask << len !== 0) return undefined; // not contiguous
        } else return undefined;
        if (len < 0 || len > addr.bits) return undefined;
        return IPNetwork.of(addr.family, addr.words, len);
    }

    contains(ip: IPAddr): boolean {
        if (ip.family !== this.family) return false;
        const w = this.words;
        let left = this.prefix;
        for (let i = 0; left > 0; i++, left -= 32) {
            if (left >= 32) {
                if (ip.words[i] !== w[i]) return false;
            } else if ((ip.words[i] & (~0 << (32 - left))) >>> 0 !== w[i]) return false;
        }
        return true;
    }

    /** True if the two blocks share at least one address (one contains the other's base). */
    overlaps(other: IPNetwork): boolean {
        if (other.family !== this.family) return false;
        const len = Math.min(this.prefix, other.prefix);
        const a = maskWords(this.words, len);
        const b = maskWords(other.words, len);
        for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
        return true;
    }

    toString(): string {
        return this.text;
    }
}

/**
 * A set of networks with a membership test costing one hash lookup per distinct prefix length in the set
 * (ignoreip lists have few of those), whatever the number of entries.
 */
export class IPSet {
    private readonly byLen4 = new Map<number, Set<number>>();
    private readonly byLen6 = new Map<number, Set<string>>();
    private readonly list: IPNetwork[] = [];

    constructor(networks: Iterable<IPNetwork> = []) {
        for (const n of networks) this.add(n);
    }

    add(net: IPNetwork): void {
        this.list.push(net);
        if (net.family === 4) {
            let set = this.byLen4.get(net.prefix);
            if (!set) this.byLen4.set(net.prefix, (set = new Set()));
            set.add(net.words[0]);
        } else {
            let set = this.byLen6.get(net.prefix);
            if (!set) this.byLen6.set(net.prefix, (set = new Set()));
            set.add(net.words.join(":"));
        }
    }

    get size(): number {
        return this.list.length;
    }

    networks(): readonly IPNetwork[] {
        return this.list;
    }

    contains(ip: IPAddr): boolean {
        if (ip.family === 4) {
            for (const [len, set] of this.byLen4)
                if (set.has(len === 0 ? 0 : (ip.words[0] & (~0 << (32 - len))) >>> 0)) return true;
            return false;
        }
        for (const [len, set] of this.byLen6) if (set.has(maskWords(ip.words, len).join(":"))) return true;
        return false;
    }

    /** True if any member shares an address with `net` (used so a prefix ban never covers an ignored address). */
    overlaps(net: IPNetwork): boolean {
        for (const n of this.list) if (n.overlaps(net)) return true;
        return false;
    }
}

/** Canonical text of an address, or undefined if `text` is not one. */
export function normalizeIP(text: string): string | undefined {
    return IPAddr.parse(text)?.text;
}

/**
 * The key an address is counted and banned under: the address itself, or for IPv6 its `/prefix6` network
 * (`2001:db8:1:2::/64`) when prefix6 < 128.
 */
export function banKey(ip: IPAddr, prefix6: number): string {
    if (ip.family === 6 && prefix6 < 128) return ip.network(prefix6).text;
    return ip.text;
}

function maskWords(words: readonly number[], prefix: number): number[] {
    const out = words.slice();
    let left = prefix;
    for (let i = 0; i < out.length; i++, left -= 32) {
        if (left >= 32) continue;
        out[i] = left <= 0 ? 0 : (out[i] & (~0 << (32 - left))) >>> 0;
    }
    return out;
}

/** Parses a dotted quad in s[from, to); returns the u32 value or -1. */
function parseIPv4(s: string, from: number, to: number): number {
    let value = 0;
    let octet = 0;
    let digits = 0;
    let dots = 0;
    for (let i = from; i < to; i++) {
        const c = s.charCodeAt(i);
        if (c >= 48 && c <= 57) {
            octet = octet * 10 + (c - 48);
            if (++digits > 3 || octet > 255) return -1;
        } else if (c === 46 /* . */) {
            if (digits === 0 || ++dots > 3) return -1;
            value = value * 256 + octet;
            octet = 0;
            digits = 0;
        } else return -1;
    }
    if (digits === 0 || dots !== 3) return -1;
    return value * 256 + octet;
}

/** Parses IPv6 text (with `::` and an optional dotted IPv4 tail) into eight 16-bit groups. */
function parseIPv6(s: string): number[] | undefined {
    const pct = s.indexOf("%"); // zone id (`fe80::1%eth0`) does not change the address
    const end = pct >= 0 ? pct : s.length;
    const head: number[] = [];
    const tail: number[] = [];
    let cur = head;
    let gap = false;
    let i = 0;
    if (end >= 2 && s.charCodeAt(0) === 58 && s.charCodeAt(1) === 58) {
        gap = true;
        cur = tail;
        i = 2;
        if (end === 2) return [0, 0, 0, 0, 0, 0, 0, 0];
    } else if (s.charCodeAt(0) === 58) return undefined;
    while (i < end) {
        let v = 0;
        let n = 0;
        const start = i;
        for (; i < end; i++) {
            const c = s.charCodeAt(i);
            let d: number;
            if (c >= 48 && c <= 57) d = c - 48;
            else if (c >= 97 && c <= 102) d = c - 87;
            else if (c >= 65 && c <= 70) d = c - 55;
            else break;
            v = v * 16 + d;
            if (++n > 4) return undefined;
        }
        if (i < end && s.charCodeAt(i) === 46 /* . */) {
            const v4 = parseIPv4(s, start, end);
            if (v4 < 0 || head.length + tail.length > 6) return undefined;
            cur.push(v4 >>> 16, v4 & 0xffff);
            i = end;
            break;
        }
        if (n === 0) return undefined;
        cur.push(v);
        if (i === end) break;
        if (s.charCodeAt(i) !== 58) return undefined;
        i++;
        if (i < end && s.charCodeAt(i) === 58) {
            if (gap) return undefined;
            gap = true;
            cur = tail;
            i++;
            if (i === end) break;
        } else if (i === end) return undefined; // trailing single colon
    }
    const total = head.length + tail.length;
    if (gap ? total > 7 : total !== 8) return undefined;
    const out = head.slice();
    for (let k = total; k < 8; k++) out.push(0);
    for (let k = 0; k < tail.length; k++) out[8 - tail.length + k] = tail[k];
    return out;
}

function formatIPv4(v: number): string {
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** RFC 5952: lower case, no leading zeros, the longest run (>= 2) of zero groups as `::`, first one on ties. */
function formatIPv6(words: readonly number[]): string {
    const g = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let i = 0; i < 4; i++) {
        g[2 * i] = words[i] >>> 16;
        g[2 * i + 1] = words[i] & 0xffff;
    }
    let bestStart = -1;
    let bestLen = 1;
    for (let i = 0; i < 8;) {
        if (g[i] !== 0) {
            i++;
            continue;
        }
        let j = i;
        while (j < 8 && g[j] === 0) j++;
        if (j - i > bestLen) {
            bestStart = i;
            bestLen = j - i;
        }
        i = j;
    }
    if (bestStart < 0) return g.map(x => x.toString(16)).join(":");
    const left = g
        .slice(0, bestStart)
        .map(x => x.toString(16))
        .join(":");
    const right = g
        .slice(bestStart + bestLen)
        .map(x => x.toString(16))
        .join(":");
    return `${left}::${right}`;
}
