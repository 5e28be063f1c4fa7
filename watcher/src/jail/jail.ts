// A jail without I/O: filter result -> failure counter -> ban manager. The daemon feeds it lines (or failures)
// and the clock, and carries out the Bans it returns; nothing here touches files, sockets or the firewall.

import type { Ban, Filter, JailSettings, LineResult } from "../types";
import { BanHistory, BanManager } from "./bans";
import { FailureCounter } from "./failures";
import { IPAddr, IPSet, IPNetwork } from "./ipaddr";

export interface JailOptions {
    /** Compiled filter for `processLine`; not needed when failures are fed with `addFailure`. */
    filter?: Filter;
    /** Shared ban history (bantime.overalljails and persistence); a private one by default. */
    history?: BanHistory;
    /** Extra addresses never banned beyond settings.ignoreip, e.g. the host's own (ignoreself). */
    selfAddresses?: Iterable<string>;
    /** Random source for bantime.rndtime. */
    random?: () => number;
    /** Cap on addresses with pending failures (memory bound). */
    maxTrackedKeys?: number;
    /**
     * Asked just before a ban: is this the host's own address now? (ignoreself; addresses gained after start count
     * too, and asking only at ban time keeps the per-failure path free of system calls.)
     */
    isSelf?: (ip: IPAddr) => boolean;
    /**
     * fail2ban's `usedns` yes/warn: a `<HOST>` match that is a name is looked up, and each of its addresses gets the
     * failure when the answer arrives (`onBan` carries out a ban decided then). Without it names are not counted.
     */
    dns?: { resolve(name: string): Promise<string[]>; warn?(msg: string): void; onBan(ban: Ban): void; now(): number };
}

/** What one failure did. */
export type FailureOutcome =
    | { kind: "ban"; key: string; ban: Ban }
    | { kind: "failure"; key: string; count: number }
    /** In ignoreip (or the host's own address): never counted. */
    | { kind: "ignored"; key: string }
    /** Its key is banned already; fail2ban also drops these. */
    | { kind: "banned"; key: string }
    /** Older than findtime before `now`: stale log content, not counted. */
    | { kind: "old" }
    /** Not an IP address (and not looked up: usedns no or raw, or no resolver given). */
    | { kind: "invalid"; host: string }
    /** A host name being looked up (usedns yes/warn); its failure is counted when the answer comes. */
    | { kind: "resolving"; host: string };

export interface JailStatus {
    currentlyFailed: number;
    totalFailed: number;
    currentlyBanned: number;
    totalBanned: number;
    bannedList: string[];
}

export class Jail {
    readonly name: string;
    readonly settings: JailSettings;
    readonly bans: BanManager;
    private failures: FailureCounter;
    private readonly opts: JailOptions;
    private readonly filter?: Filter;
    private readonly isSelf?: (ip: IPAddr) => boolean;
    private readonly dns?: JailOptions["dns"];
    private totalFailed = 0;

    constructor(settings: JailSettings, opts: JailOptions = {}) {
        this.name = settings.name;
        this.settings = settings;
        this.filter = opts.filter;
        this.isSelf = opts.isSelf;
        const usedns = ((settings as { usedns?: string }).usedns ?? "warn").trim().toLowerCase();
        if (usedns === "yes" || usedns === "warn") this.dns = opts.dns;
        this.opts = opts;
        const ignore = this.ignoreSet();
        this.bans = new BanManager({
            jail: settings.name,
            bantime: settings.bantime,
            increment: settings.banIncrement,
            ignore,
            ipv6Prefix: settings.ipv6Prefix,
            history: opts.history,
            random: opts.random,
        });
        this.failures = new FailureCounter({
            maxretry: settings.maxretry,
            findtime: settings.findtime,
            maxKeys: opts.maxTrackedKeys,
        });
    }

    /**
     * Runs one log line through the filter and, if it is a failure, through the counter and ban manager.
     * `now` (epoch seconds) stands in for a line without a date and ages out old lines.
     */
    processLine(line: string, now: number): { result: LineResult; outcome?: FailureOutcome } {
        if (!this.filter) throw new Error(`jail ${this.name}: processLine needs a filter (JailOptions.filter)`);
        const result = this.filter.processLine(line, now);
        if (result.kind !== "matched" || result.noFail || result.host === undefined) return { result };
        return { result, outcome: this.addFailure(result.host, result.time ?? now, now) };
    }

    /** Like processLine for a line whose time its source gave (a journal entry's own time). */
    processLineAt(line: string, time: number, now: number): { result: LineResult; outcome?: FailureOutcome } {
        const f = this.filter;
        if (!f?.processLineAt) return this.processLine(line, now);
        const result = f.processLineAt(line, time);
        if (result.kind !== "matched" || result.noFail || result.host === undefined) return { result };
        return { result, outcome: this.addFailure(result.host, result.time ?? time, now) };
    }

    /** Counts one failure of `host` at log time `time`. */
    addFailure(host: string, time: number, now?: number): FailureOutcome {
        return this.countFailures(host, time, now, 0);
    }

    /**
     * Counts `n` failures a peer saw of `key` (an address or this jail's IPv6 prefix key), newest at log time
     * `time`, together with ours: the cluster's failures reach maxretry on whichever node counts the last one.
     * Not in totalFailed (that counts this node's log); ignoreip and bans apply as for local failures.
     */
    addPeerFailures(key: string, n: number, time: number, now: number): FailureOutcome {
        return this.countFailures(key.replace(/\/\d{1,3}$/, ""), time, now, Math.max(1, Math.floor(n)));
    }

    /** `peer` > 0: that many failures from a peer; 0: one failure from our log (weighted by the ban history). */
    private countFailures(host: string, time: number, now: number | undefined, peer: number): FailureOutcome {
        if (now !== undefined && time < now - this.settings.findtime) return { kind: "old" };
        const ip = IPAddr.parse(host);
        if (!ip) {
            if (!this.dns) return { kind: "invalid", host };
            this.resolveLater(host, time);
            return { kind: "resolving", host };
        }
        const key = this.bans.keyOf(ip);
        if (this.bans.isIgnored(ip)) return { kind: "ignored", key };
        if (this.bans.isBanned(key, time)) return { kind: "banned", key };
        if (peer === 0) this.totalFailed++;
        const count = this.failures.add(key, time, peer === 0 ? this.bans.failureWeight(key) : peer);
        if (count < this.settings.maxretry) return { kind: "failure", key, count };
        if (this.isSelf?.(ip)) {
            this.failures.reset(key);
            return { kind: "ignored", key };
        }
        const ban = this.bans.ban(ip, time, now);
        this.failures.reset(key);
        if (!ban) return { kind: "failure", key, count };
        return { kind: "ban", key, ban };
    }

    /** Failures counted from the log since start (metrics; status() copies the ban list). */
    get failedTotal(): number {
        return this.totalFailed;
    }

    /** Addresses with failures inside findtime (metrics; no copy). */
    get failingCount(): number {
        return this.failures.size;
    }

    private resolveLater(host: string, time: number): void {
        const dns = this.dns!;
        dns.resolve(host).then(
            ips => {
                if (ips.length === 0) {
                    dns.warn?.(`[${this.name}] Unable to find a corresponding IP address for ${host}`);
                    return;
                }
                const usedns = ((this.settings as { usedns?: string }).usedns ?? "").trim().toLowerCase();
                if (usedns === "warn")
                    dns.warn?.(`[${this.name}] Determined IP using DNS Lookup: ${host} = ${JSON.stringify(ips)}`);
                for (const ip of ips) {
                    if (!IPAddr.parse(ip)) continue;
                    const out = this.addFailure(ip, time, dns.now());
                    if (out.kind === "ban") dns.onBan(out.ban);
                }
            },
            () => undefined,
        );
    }

    /** Bans that have ended by `now`: the daemon unbans them. Also forgets stale failures. */
    expire(now: number): Ban[] {
        this.failures.sweep(now);
        return this.bans.expire(now);
    }

    /**
     * Changes a running jail (`set JAIL maxretry|findtime|bantime|addignoreip|delignoreip`); a reload re-reads the
     * configuration and drops such changes, as in fail2ban. A new maxretry or findtime restarts the counting of
     * pending failures (bans stay).
     */
    reconfigure(change: { maxretry?: number; findtime?: number; bantime?: number; ignoreip?: string[] }): void {
        const s = this.settings;
        if (change.bantime !== undefined) this.bans.setBantime((s.bantime = change.bantime));
        if (change.ignoreip !== undefined) {
            s.ignoreip = change.ignoreip.slice();
            this.bans.setIgnore(this.ignoreSet());
        }
        if (change.maxretry !== undefined || change.findtime !== undefined) {
            if (change.maxretry !== undefined) s.maxretry = change.maxretry;
            if (change.findtime !== undefined) s.findtime = change.findtime;
            this.failures = new FailureCounter({
                maxretry: s.maxretry,
                findtime: s.findtime,
                maxKeys: this.opts.maxTrackedKeys,
            });
        }
    }

    /**
     * A reload replaces the Jail object; fail2ban keeps its jail, so its counts run on: take over the totals, and
     * the pending failures when maxretry and findtime did not change.
     */
    carryOver(prev: Jail): void {
        this.totalFailed = prev.totalFailed;
        this.bans.carryTotal(prev.bans.totalBanned);
        if (prev.settings.maxretry === this.settings.maxretry && prev.settings.findtime === this.settings.findtime)
            this.failures = prev.failures;
    }

    private ignoreSet(): IPSet {
        const ignore = new IPSet();
        // ignoreip names were looked up when the settings were resolved (see settings.ts).
        const named = (this.settings as { ignoreipResolved?: string[] }).ignoreipResolved ?? [];
        for (const text of [...this.settings.ignoreip, ...named, ...(this.opts.selfAddresses ?? [])]) {
            const net = IPNetwork.parse(text);
            if (net) ignore.add(net); // settings.ts rejected bad entries already; self addresses are best effort
        }
        return ignore;
    }

    status(): JailStatus {
        const active = this.bans.activeBans();
        return {
            currentlyFailed: this.failures.size,
            totalFailed: this.totalFailed,
            currentlyBanned: active.length,
            totalBanned: this.bans.totalBanned,
            bannedList: active.map(b => b.ip),
        };
    }
}
