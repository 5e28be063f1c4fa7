// Host names, looked up with the system resolver (getaddrinfo: /etc/hosts, then DNS, as nsswitch says), as
// fail2ban does. The server: a jail's `usedns` (a `<HOST>` match that is a name) and `ignoreip` entries that
// are names (looked up at start and reload); results are cached for a while so an attacker's name repeated on
// every line costs one lookup, and the cache is bounded. `jailwatch regex` resolves the names it counts with
// lookupSync, as fail2ban-regex does with the same DNSUtils.dnsToIp.

import { spawnSync } from "child_process";
import * as dns from "dns";

const TTL_S = 300;
const MAX_NAMES = 10_000;

export type LookupAll = (name: string) => Promise<string[]>;

export const systemLookup: LookupAll = async name => {
    try {
        return [...new Set((await dns.promises.lookup(name, { all: true })).map(a => a.address))];
    } catch {
        return [];
    }
};

/** Cached asynchronous lookups (the log path never waits on DNS: the failure is counted when the answer comes). */
export class HostResolver {
    private readonly cache = new Map<string, { ips: string[]; until: number } | Promise<string[]>>();

    constructor(
        private readonly lookup: LookupAll = systemLookup,
        private readonly now: () => number = () => Date.now() / 1000,
    ) {}

    resolve(name: string): Promise<string[]> {
        const key = name.toLowerCase();
        const hit = this.cache.get(key);
        if (hit instanceof Promise) return hit;
        if (hit && hit.until > this.now()) return Promise.resolve(hit.ips);
        if (this.cache.size >= MAX_NAMES) this.cache.delete(this.cache.keys().next().value as string);
        const p = this.lookup(name).then(ips => {
            this.cache.set(key, { ips, until: this.now() + TTL_S });
            return ips;
        });
        this.cache.set(key, p);
        return p;
    }
}

/**
 * Synchronous lookup, as fail2ban's DNSUtils.dnsToIp: getaddrinfo once for IPv4 and once for IPv6, without
 * AI_ADDRCONFIG (getent's -A; else a host without a routable IPv6 address, or a namespace with only loopback,
 * would drop names' addresses fail2ban gets). IPv4 addresses first; each getent is bounded to 5 s.
 */
export function lookupSync(name: string): string[] {
    const ips = new Set<string>();
    for (const db of ["ahostsv4", "ahostsv6"]) {
        for (const ip of getent(db, name)) {
            // ahostsv6 asks for AI_V4MAPPED: a name without IPv6 addresses comes back as mapped IPv4 ones, which
            // fail2ban's AF_INET6 lookup (no such flag) does not get.
            if (db === "ahostsv6" && /^::ffff:\d/i.test(ip)) continue;
            ips.add(ip);
        }
    }
    return [...ips];
}

let noAddrconfig = ["-A"];

function getent(db: string, name: string): string[] {
    let r = spawnSync("getent", [...noAddrconfig, db, name], { encoding: "utf8", timeout: 5000 });
    if (r.status === 64 && noAddrconfig.length) {
        // getent before glibc 2.35 has no -A (its usage error, EX_USAGE): its lookups keep AI_ADDRCONFIG.
        noAddrconfig = [];
        r = spawnSync("getent", [db, name], { encoding: "utf8", timeout: 5000 });
    }
    if (r.status !== 0 || !r.stdout) return [];
    return r.stdout
        .split("\n")
        .map(l => l.split(/\s+/)[0])
        .filter(x => x);
}

/** Whether `text` is written like a host name (RFC 1123 labels), as opposed to a typo in an address. */
export function isHostName(text: string): boolean {
    return (
        text.length <= 253 &&
        /^(?=.*[A-Za-z])[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/.test(
            text,
        )
    );
}
