// Pure generation of `nft -f -` batches. Everything lives in our own table, so nothing of the host's ruleset is
// touched; a batch is one kernel transaction, so 100,000 restored bans are one call and apply atomically.

import { parsePorts, parseProtocols } from "./ports";
import { ActionEntry, ActionJail, isIPv6, KERNEL_MAX_TIMEOUT } from "./types";

export const NFT_FAMILY = "inet";
export const NFT_TABLE = "jailwatch";
const T = `${NFT_FAMILY} ${NFT_TABLE}`;
/** Elements per `add element` statement: keeps single statements a manageable size for nft's parser. */
const CHUNK = 20_000;

/** Set name for a jail and address family; nft identifiers allow letters, digits, `_`, `-`, `.` and `/`. */
export function nftSetName(jail: string, family: 4 | 6): string {
    const safe = jail.replace(/[^A-Za-z0-9_.-]/g, "_");
    return `${/^[A-Za-z_]/.test(safe) ? "" : "j_"}${safe}.v${family}`;
}

function portMatch(jail: ActionJail): string {
    const protos = parseProtocols(jail.protocol);
    const ports = parsePorts(jail.port).map(p => (Array.isArray(p) ? `${p[0]}-${p[1]}` : p));
    let m = "";
    if (protos.length === 1) m += ` meta l4proto ${protos[0]}`;
    else if (protos.length > 1) m += ` meta l4proto { ${protos.join(", ")} }`;
    if (ports.length > 0) {
        // `th dport` needs a transport protocol match before it.
        if (protos.length === 0) m += " meta l4proto { tcp, udp, sctp }";
        m += ` th dport { ${ports.join(", ")} }`;
    }
    return m;
}

/** The rules dropping a jail's ports for members of its two sets. */
export function nftJailRules(jail: ActionJail): string[] {
    const pm = portMatch(jail);
    return [
        `add rule ${T} input ip saddr @${nftSetName(jail.name, 4)}${pm} drop`,
        `add rule ${T} input ip6 saddr @${nftSetName(jail.name, 6)}${pm} drop`,
    ];
}

function element(e: ActionEntry, withTimeout: boolean): string {
    if (!withTimeout || e.timeout === undefined || !(e.timeout <= KERNEL_MAX_TIMEOUT)) return e.ip;
    return `${e.ip} timeout ${Math.max(1, Math.ceil(e.timeout))}s`;
}

function addElements(lines: string[], verb: "add" | "delete", set: string, items: string[]): void {
    for (let i = 0; i < items.length; i += CHUNK) {
        lines.push(`${verb} element ${T} ${set} { ${items.slice(i, i + CHUNK).join(", ")} }`);
    }
}

/** Entries grouped by set; a repeated address keeps its last entry (duplicates would fail the batch). */
function bySet(entries: ActionEntry[]): Map<string, ActionEntry[]> {
    const names = new Map<string, string>();
    const m = new Map<string, Map<string, ActionEntry>>();
    for (const e of entries) {
        const fam = isIPv6(e.ip) ? 6 : 4;
        const nk = `${fam}${e.jail}`;
        let s = names.get(nk);
        if (s === undefined) names.set(nk, (s = nftSetName(e.jail, fam)));
        let l = m.get(s);
        if (!l) m.set(s, (l = new Map()));
        l.set(e.ip, e);
    }
    return new Map([...m].map(([s, l]) => [s, [...l.values()]]));
}

/**
 * Table, chain, sets and rules for `jails`, then the restored bans. Sets are created with `add` (kept if they exist,
 * so bans the kernel held while we were down survive); our chain is flushed and refilled so rules match the config.
 */
export function nftStartBatch(jails: ActionJail[], restore: ActionEntry[], replace: boolean): string {
    const lines = [
        `add table ${T}`,
        `add chain ${T} input { type filter hook input priority filter - 1; policy accept; }`,
    ];
    for (const j of jails) {
        lines.push(`add set ${T} ${nftSetName(j.name, 4)} { type ipv4_addr; flags timeout; }`);
        // Interval flag: IPv6 bans may be whole prefixes (e.g. a /64).
        lines.push(`add set ${T} ${nftSetName(j.name, 6)} { type ipv6_addr; flags interval, timeout; }`);
    }
    lines.push(`flush chain ${T} input`);
    for (const j of jails) lines.push(...nftJailRules(j));
    if (replace)
        for (const j of jails)
            lines.push(`flush set ${T} ${nftSetName(j.name, 4)}`, `flush set ${T} ${nftSetName(j.name, 6)}`);
    // Restored entries come from the ban manager, one per address: group them without the dedupe bySet does
    // (this is the 100,000-ban path at start).
    const sets = new Map<string, string[]>();
    for (const j of jails) {
        sets.set(`4${j.name}`, []);
        sets.set(`6${j.name}`, []);
    }
    for (const e of restore) sets.get(`${isIPv6(e.ip) ? 6 : 4}${e.jail}`)?.push(element(e, true));
    for (const [key, items] of sets)
        if (items.length) addElements(lines, "add", nftSetName(key.slice(1), key[0] === "6" ? 6 : 4), items);
    return lines.join("\n") + "\n";
}

/**
 * Bans (or re-bans with a new timeout). `add` alone would keep an existing element's old timeout and `delete` of an
 * absent element fails the whole batch, so each set gets add (no-op if present), delete, add-with-timeout.
 */
export function nftBanBatch(entries: ActionEntry[]): string {
    const lines: string[] = [];
    for (const [set, es] of bySet(entries)) {
        const plain = es.map(e => e.ip);
        addElements(lines, "add", set, plain);
        addElements(lines, "delete", set, plain);
        addElements(
            lines,
            "add",
            set,
            es.map(e => element(e, true)),
        );
    }
    return lines.join("\n") + "\n";
}

/** Unbans; add-then-delete so an element the kernel already expired does not fail the batch. */
export function nftUnbanBatch(entries: ActionEntry[]): string {
    const lines: string[] = [];
    for (const [set, es] of bySet(entries)) {
        const plain = es.map(e => e.ip);
        addElements(lines, "add", set, plain);
        addElements(lines, "delete", set, plain);
    }
    return lines.join("\n") + "\n";
}

export function nftFlushSetsBatch(jails: ActionJail[]): string {
    return (
        jails
            .flatMap(j => [`flush set ${T} ${nftSetName(j.name, 4)}`, `flush set ${T} ${nftSetName(j.name, 6)}`])
            .join("\n") + "\n"
    );
}

/** Deletes our table; `add` first so the delete cannot fail when the table is already gone. */
export function nftRemoveBatch(): string {
    return `add table ${T}\ndelete table ${T}\n`;
}
