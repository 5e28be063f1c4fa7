// Ban manager: decides bans, their length (with bantime.increment for repeat offenders) and when they end.
//
// Semantics follow fail2ban's jail and observer (learned from their docs and behaviour, not their code):
// - bantime < 0 is permanent (end = Infinity); increment never shortens or lengthens a permanent ban.
// - With bantime.increment, an address banned N times before gets
//     multipliers given:  bantime * factor * multipliers[min(N, len - 1)]
//     otherwise:          max(bantime, bantime * 2^min(N, 20) * factor)
//   then capped at bantime.maxtime (if > 0), then up to bantime.rndtime random seconds added. A first ban
//   (N = 0) is plain bantime, as in fail2ban.
// - With increment, a known offender's failures weigh more (fail2ban's observer): after N bans one failure
//   counts as 2^(N-1) + 1 (2, 3, 5, 9, ... capped at maxretry), so a repeat offender is banned sooner.
// - bantime.overalljails: previous bans are counted over every jail sharing the same BanHistory.
// - ignoreip is never banned. An IPv6 prefix ban (ipv6Prefix < 128) that would cover an ignored address falls
//   back to banning the single address.

import type { Ban, JailSettings } from "../types";
import { banKey, IPAddr, IPSet } from "./ipaddr";

export type BanIncrement = JailSettings["banIncrement"];

/** One key's ban record, as the daemon persists it. */
export interface BanRecord {
    jail: string;
    ip: string;
    /** How many times it was banned in this jail. */
    count: number;
    /** Start and end (epoch seconds, Infinity for permanent) of its latest ban. */
    lastStart: number;
    lastEnd: number;
}

/**
 * Past bans per jail and key, shared by the jails of one daemon (needed for bantime.overalljails). The daemon
 * restores it from its state at start and saves `records()`; it only grows by one record per banned key.
 */
export class BanHistory {
    private readonly byJail = new Map<string, BanRecord>();
    private readonly overall = new Map<string, number>();

    /** Previous bans of `ip` in `jail`, or in every jail when `overall`. */
    count(jail: string, ip: string, overall = false): number {
        if (overall) return this.overall.get(ip) ?? 0;
        return this.byJail.get(`${jail}\u0000${ip}`)?.count ?? 0;
    }

    record(ban: Ban): void {
        const k = `${ban.jail}\u0000${ban.ip}`;
        const r = this.byJail.get(k);
        if (r) {
            r.count++;
            r.lastStart = ban.start;
            r.lastEnd = ban.end;
        } else this.byJail.set(k, { jail: ban.jail, ip: ban.ip, count: 1, lastStart: ban.start, lastEnd: ban.end });
        this.overall.set(ban.ip, (this.overall.get(ban.ip) ?? 0) + 1);
    }

    records(): BanRecord[] {
        return [...this.byJail.values()].map(r => ({ ...r }));
    }

    restore(records: Iterable<BanRecord>): void {
        for (const r of records) {
            const k = `${r.jail}\u0000${r.ip}`;
            const prev = this.byJail.get(k)?.count ?? 0;
            this.byJail.set(k, { ...r });
            this.overall.set(r.ip, (this.overall.get(r.ip) ?? 0) - prev + r.count);
        }
    }

    /** Forgets records whose latest ban ended before `before` (epoch seconds). Returns how many were dropped. */
    prune(before: number): number {
        let n = 0;
        for (const [k, r] of this.byJail) {
            if (r.lastEnd < before) {
                this.byJail.delete(k);
                const left = (this.overall.get(r.ip) ?? 0) - r.count;
                if (left > 0) this.overall.set(r.ip, left);
                else this.overall.delete(r.ip);
                n++;
            }
        }
        return n;
    }
}

/** Ban length in seconds (Infinity for permanent) for a key banned `previous` times before. */
export function banDuration(
    bantime: number,
    inc: BanIncrement,
    previous: number,
    random: () => number = Math.random,
): number {
    if (bantime < 0) return Infinity;
    if (!inc.enabled || previous <= 0) return bantime;
    let t: number;
    if (inc.multipliers.length > 0) {
        t = bantime * inc.factor * inc.multipliers[Math.min(previous, inc.multipliers.length - 1)];
    } else {
        t = Math.max(bantime, bantime * 2 ** Math.min(previous, 20) * inc.factor);
    }
    if (inc.maxtime > 0) t = Math.min(t, inc.maxtime);
    if (inc.rndtime > 0) t += random() * inc.rndtime;
    return t;
}

/** How many failures one failure of a key banned `previous` times counts as (capped by the caller at maxretry). */
export function failureWeight(inc: BanIncrement, previous: number): number {
    if (!inc.enabled || previous <= 0) return 1;
    return 2 ** Math.min(previous - 1, 20) + 1;
}

export interface BanManagerOptions {
    jail: string;
    /** Seconds; < 0 = permanent. */
    bantime: number;
    increment: BanIncrement;
    /** Addresses never banned. */
    ignore?: IPSet;
    /** IPv6 addresses are banned by this prefix (128 = single address). */
    ipv6Prefix?: number;
    /** Shared with the daemon's other jails; a private one by default. */
    history?: BanHistory;
    /** Source of randomness for bantime.rndtime (tests pass a fixed one). */
    random?: () => number;
}

export class BanManager {
    readonly jail: string;
    readonly history: BanHistory;
    private readonly opts: BanManagerOptions;
    private ignore: IPSet;
    private readonly prefix6: number;
    private readonly active = new Map<string, Ban>();
    private total = 0;

    constructor(opts: BanManagerOptions) {
        this.opts = opts;
        this.jail = opts.jail;
        this.ignore = opts.ignore ?? new IPSet();
        this.prefix6 = opts.ipv6Prefix ?? 128;
        this.history = opts.history ?? new BanHistory();
    }

    /** A running jail's new bantime (`set JAIL bantime`): for bans decided from now on. */
    setBantime(seconds: number): void {
        this.opts.bantime = seconds;
    }

    /** Bans counted before a reload (status's "Total banned" counts from the server's start). */
    carryTotal(n: number): void {
        this.total = n;
    }

    /** A running jail's new ignore list (`set JAIL addignoreip|delignoreip`). */
    setIgnore(ignore: IPSet): void {
        this.ignore = ignore;
    }

    /** True if the address is in ignoreip. */
    isIgnored(ip: IPAddr): boolean {
        return this.ignore.contains(ip);
    }

    /** The key failures and bans of `ip` are recorded under: the address, or its IPv6 prefix when that is safe. */
    keyOf(ip: IPAddr): string {
        if (ip.family === 6 && this.prefix6 < 128) {
            const net = ip.network(this.prefix6);
            if (!this.ignore.overlaps(net)) return net.text;
        }
        return banKey(ip, 128);
    }

    /** Weight of one failure of `key` (see failureWeight). */
    failureWeight(key: string): number {
        const inc = this.opts.increment;
        if (!inc.enabled) return 1;
        return failureWeight(inc, this.history.count(this.jail, key, inc.overalljails));
    }

    /**
     * Bans `ip` (under its key) from log time `time`. Undefined when the address is ignored or already banned.
     * `now` (epoch seconds), when given, drops a ban that would already have ended, as fail2ban does when it
     * reads old log lines.
     */
    ban(ip: IPAddr, time: number, now?: number): Ban | undefined {
        if (this.ignore.contains(ip)) return undefined;
        const key = this.keyOf(ip);
        const current = this.active.get(key);
        if (current && current.end > time) return undefined;
        const inc = this.opts.increment;
        const previous = this.history.count(this.jail, key, inc.overalljails);
        const end = time + banDuration(this.opts.bantime, inc, previous, this.opts.random);
        if (now !== undefined && end <= now) return undefined;
        const ban: Ban = { jail: this.jail, ip: key, start: time, end, banCount: previous };
        this.active.set(key, ban);
        this.history.record(ban);
        this.total++;
        return ban;
    }

    /** The active ban of `key`, if any. */
    get(key: string): Ban | undefined {
        return this.active.get(key);
    }

    isBanned(key: string, now: number): boolean {
        const b = this.active.get(key);
        return b !== undefined && b.end > now;
    }

    /** Removes and returns the bans that have ended by `now` (the unbans to carry out). */
    expire(now: number): Ban[] {
        const out: Ban[] = [];
        for (const [k, b] of this.active) {
            if (b.end <= now) {
                this.active.delete(k);
                out.push(b);
            }
        }
        return out;
    }

    /** Earliest end among active bans (Infinity if none or all permanent): when to call `expire` next. */
    nextExpiry(): number {
        let min = Infinity;
        for (const b of this.active.values()) if (b.end < min) min = b.end;
        return min;
    }

    /** Lifts a ban early (e.g. `jailwatch client unban`). Returns it if it was active. */
    unban(key: string): Ban | undefined {
        const b = this.active.get(key);
        if (b) this.active.delete(key);
        return b;
    }

    /** Re-installs bans from saved state (restart). Ended ones are skipped; history is the caller's to restore. */
    restore(bans: Iterable<Ban>, now: number): Ban[] {
        const kept: Ban[] = [];
        for (const b of bans) {
            if (b.jail !== this.jail || b.end <= now) continue;
            this.active.set(b.ip, b);
            kept.push(b);
        }
        return kept;
    }

    activeBans(): Ban[] {
        return [...this.active.values()];
    }

    /** Bans held (ended ones go at the next expire); no copy, for metrics. */
    get activeCount(): number {
        return this.active.size;
    }

    get totalBanned(): number {
        return this.total;
    }
}
