// Pure generation of `ipset restore` batches and the iptables rules for hosts without nftables. One ipset per jail
// and family (hash:ip for IPv4, hash:net for IPv6 prefixes), entries with timeouts; one iptables rule per set.

import * as crypto from "crypto";
import { parsePorts, parseProtocols } from "./ports";
import { ActionEntry, ActionJail, IPSET_MAX_TIMEOUT, isIPv6 } from "./types";

const MAXELEM = 1_048_576;

/** ipset names are limited to 31 characters: long jail names are cut and made unique with a short hash. */
export function ipsetName(jail: string, family: 4 | 6): string {
    const suffix = `-${family}`;
    let base = `jw-${jail.replace(/[^A-Za-z0-9_.-]/g, "_")}`;
    if (base.length + suffix.length > 31) {
        const h = crypto.createHash("sha1").update(jail).digest("hex").slice(0, 6);
        base = `${base.slice(0, 31 - suffix.length - 7)}_${h}`;
    }
    return base + suffix;
}

function entryLine(e: ActionEntry): string {
    // ipset: timeout 0 on a set with timeouts means "never expires".
    // Beyond ipset's limit: no timeout; the server lifts the ban at its end.
    const t = e.timeout === undefined || !(e.timeout <= IPSET_MAX_TIMEOUT) ? 0 : Math.max(1, Math.ceil(e.timeout));
    return `add ${ipsetName(e.jail, isIPv6(e.ip) ? 6 : 4)} ${e.ip} timeout ${t}`;
}

/** For `ipset restore -exist`: create sets (kept if present), optionally empty them, add the restored bans. */
export function ipsetStartBatch(jails: ActionJail[], restore: ActionEntry[], replace: boolean): string {
    const lines: string[] = [];
    for (const j of jails) {
        lines.push(`create ${ipsetName(j.name, 4)} hash:ip family inet timeout 0 maxelem ${MAXELEM}`);
        lines.push(`create ${ipsetName(j.name, 6)} hash:net family inet6 timeout 0 maxelem ${MAXELEM}`);
        if (replace) lines.push(`flush ${ipsetName(j.name, 4)}`, `flush ${ipsetName(j.name, 6)}`);
    }
    const known = new Set(jails.map(j => j.name));
    for (const e of restore) if (known.has(e.jail)) lines.push(entryLine(e));
    return lines.join("\n") + "\n";
}

/** With -exist, `add` of a present entry updates its timeout and `del` of an absent one is no error. */
export function ipsetBanBatch(entries: ActionEntry[]): string {
    return entries.map(entryLine).join("\n") + "\n";
}

export function ipsetUnbanBatch(entries: ActionEntry[]): string {
    return entries.map(e => `del ${ipsetName(e.jail, isIPv6(e.ip) ? 6 : 4)} ${e.ip}`).join("\n") + "\n";
}

/** The iptables/ip6tables rule (without -A/-I/-C/-D) dropping the jail's ports for members of its set. */
export function iptablesRuleArgs(jail: ActionJail, family: 4 | 6): string[] {
    const protos = parseProtocols(jail.protocol);
    const ports = parsePorts(jail.port).map(p => (Array.isArray(p) ? `${p[0]}:${p[1]}` : p));
    const args: string[] = [];
    if (protos.length > 1) throw new Error(`iptables-ipset: one protocol per jail (${jail.name} has ${jail.protocol})`);
    if (protos.length === 1) args.push("-p", protos[0]);
    if (ports.length > 0) {
        if (protos.length === 0) args.push("-p", "tcp");
        args.push("-m", "multiport", "--dports", ports.join(","));
    }
    args.push("-m", "set", "--match-set", ipsetName(jail.name, family), "src", "-j", "DROP");
    return args;
}
