// Host names in a jail: `usedns` (a `<HOST>` match that is a name is looked up with the system resolver, as
// fail2ban does) and `ignoreip` entries that are names (looked up at start and reload). Lookups go through
// getaddrinfo (/etc/hosts, then DNS, as nsswitch says); results are cached for a while so an attacker's name
// repeated on every line costs one lookup, and the cache is bounded.

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

/** Synchronous lookup for `ignoreip` names at start and reload (getent: the same resolver, bounded to 5 s). */
export function lookupSync(name: string): string[] {
    const r = spawnSync("getent", ["ahosts", name], { encoding: "utf8", timeout: 5000 });
    if (r.status !== 0 || !r.stdout) return [];
    return [
        ...new Set(
            r.stdout
                .split("\n")
                .map(l => l.split(/\s+/)[0])
                .filter(x => x),
        ),
    ];
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
