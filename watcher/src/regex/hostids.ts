// The ids a `<HOST>` hit counts under in `jailwatch regex` when it matched a host name, decided as fail2ban-regex
// does (Filter.findFailure, DNSUtils.textToIp): with -r or usedns = raw the name itself; else text that is an
// address is that address; else with usedns yes/warn every address the system resolver gives the name (a hit
// and a failure per address, none when it has none: the line is then missed), with no the hit is dropped.
// Lookups only ever happen for hits whose <HOST> is a name, once per name for the run.

import { lookupSync } from "../jail/dns";
import { IPAddr } from "../jail/ipaddr";
import type { LineResult } from "../types";

export type HostMode = "raw" | "resolve" | "addresses";

export function hostMode(rawHosts: boolean, usedns: string): HostMode {
    // As fail2ban's setUseDns: any case, and an unknown value is "no".
    const v = usedns.toLowerCase();
    if (rawHosts || v === "raw") return "raw";
    return v === "yes" || v === "warn" ? "resolve" : "addresses";
}

export class HostIds {
    private readonly known = new Map<string, string[]>();

    constructor(
        readonly mode: HostMode,
        private readonly lookup: (name: string) => string[] = lookupSync,
    ) {}

    /**
     * A hit's addresses when its host is a name to turn into addresses (an F-ID beside it is then dropped, as
     * fail2ban drops it); undefined for every other hit, which counts once under its own id.
     */
    of(h: LineResult): string[] | undefined {
        const g = h.groups;
        if (this.mode === "raw" || !g || g.dns === undefined || g.ip4 !== undefined || g.ip6 !== undefined)
            return undefined;
        let ips = this.known.get(g.dns);
        if (ips === undefined) {
            const plain = plainAddress(g.dns);
            ips = plain !== undefined ? [plain] : this.mode === "resolve" ? this.lookup(g.dns) : [];
            this.known.set(g.dns, ips);
        }
        return ips;
    }
}

/** `text` if it is an address as fail2ban's searchIP and inet_pton read one (no leading zeros), canonical. */
function plainAddress(text: string): string | undefined {
    const v4 = /^(?:\d{1,3}\.){3}\d{1,3}$/.test(text);
    if (v4 ? /(?:^|\.)0\d/.test(text) : !text.includes(":")) return undefined;
    return IPAddr.parse(text)?.text;
}
