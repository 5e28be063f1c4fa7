// The running server: config -> jails; followers feed lines to the jails following each file; bans go to the
// firewall backends in batches (actions/queue.ts) and into the state dir (state/debounce.ts); the control socket
// and peers act on the same jails through the narrow interfaces of server/interfaces.ts.
// Everything time-related takes `now` from one injectable clock.

import * as os from "os";
import { backendFor, BackendName, createAction } from "../actions";
import type { Exec } from "../actions/exec";
import { FirewallQueue } from "../actions/queue";
import { ActionEntry, ActionJail, BanAction, KERNEL_MAX_TIMEOUT, secondsLeft } from "../actions/types";
import { actionExists, loadFilter, readJailConfig } from "../config/reader";
import { loadAction } from "../config/action-reader";
import { ControlResponse } from "../control/protocol";
import { compileFilter } from "../filter/filter";
import { jailBudget, lineGuard, reportTimedOut } from "../filter/guard";
import { createSource, sourceKeys } from "../follow/registry";
import { isJournalPosition, LineSource, SourceOptions, SourcePosition } from "../follow/source";
import { BanHistory, IPAddr, Jail, resolveJails } from "../jail";
import { IPNetwork } from "../jail/ipaddr";
import { HostResolver, lookupSync } from "../jail/dns";
import { ResolvedJail, unsupportedBanaction } from "../jail/settings";
import { DebouncedSave } from "../state/debounce";
import { bansSnapshot, historyRecords, toBan } from "../state/snapshot";
import { BansState, StateStore } from "../state/store";
import { Metrics, MetricsServer, renderMetrics } from "../metrics";
import type { Ban } from "../types";
import { handleControl } from "./commands";
import type { BanOutcome, BanSource, ControlTarget, PeerHooks, PeerTarget, RuntimeJail } from "./interfaces";
import type { Logger } from "./log";
import type { ServerOptions } from "./options";

export type { BanSource, PeerHooks, RuntimeJail } from "./interfaces";

export interface ServerDeps {
    /** Runs firewall tools; tests and benchmarks inject their own. */
    exec?: Exec;
    /** Replaces backend creation entirely (tests). */
    createAction?: (name: BackendName) => BanAction;
    /** Epoch seconds. */
    now?: () => number;
    peers?: PeerHooks;
    /** The host's addresses right now (ignoreself); read again before each ban, since addresses come and go. */
    selfAddresses?: () => string[];
    /** How the process stops on the control command `stop` (the CLI's signal path); default: it does not. */
    requestStop?: () => void;
}

const POSITION_SAVE_MS = 2000;
// With 100,000 bans a save is a few MB: at most about once a second. A crash loses at most that second of the
// state file; the kernel keeps those bans anyway (start merges into the sets, it never flushes them).
const BAN_SAVE_DEBOUNCE_MS = 1000;
const TICK_MS = 1000;

export class JailwatchServer implements ControlTarget, PeerTarget {
    jails = new Map<string, RuntimeJail>();
    readonly actions = new Map<BackendName, BanAction>();
    readonly history = new BanHistory();
    readonly store: StateStore;
    /** Problems worth showing to the operator (corrupt state, firewall failures). */
    readonly problems: string[] = [];
    firewallErrors = 0;
    /** Why the last state save failed (read-only or full disk...), until a save succeeds again. */
    stateProblem: string | undefined;
    /** Bans an operator lifted, by jail and key, with the end the lifted ban had: a peer must not hand them back. */
    private lifted = new Map<string, Ban>();
    /** Set by `stop --unban`: remove our firewall state on the way out. */
    unbanOnStop = false;
    private followers = new Map<string, LineSource>();
    /** usedns lookups, cached across jails. */
    private readonly hosts = new HostResolver();
    private byFile = new Map<string, RuntimeJail[]>();
    private positions: Record<string, SourcePosition> = {};
    /** Bans and unbans on their way to the backends (batched, chained per backend, retried: actions/queue.ts). */
    private readonly firewall: FirewallQueue;
    /** The bans file, saved at most once per BAN_SAVE_DEBOUNCE_MS (state/debounce.ts). */
    private readonly bansSave: DebouncedSave;
    private tickTimer: NodeJS.Timeout | undefined;
    private lastPositionSave = 0;
    private running = false;
    readonly now: () => number;
    /** Counters for the metrics endpoint (and status); the endpoint itself only when `opts.metrics` asks. */
    readonly metrics = new Metrics();
    metricsServer: MetricsServer | undefined;

    constructor(
        readonly opts: ServerOptions,
        readonly log: Logger,
        private readonly deps: ServerDeps = {},
    ) {
        this.store = new StateStore(opts.stateDir);
        this.now = deps.now ?? (() => Date.now() / 1000);
        this.firewall = new FirewallQueue({
            action: backend => this.actions.get(backend),
            alsoGeneric: jail => !!this.jails.get(jail)?.settings.actions.length,
            onError: () => this.firewallErrors++,
            refresh: (e, now) => this.refreshTimeout(e, now),
            debug: m => this.log.debug(m),
            error: m => this.log.error(m),
        });
        this.bansSave = new DebouncedSave(
            { write: () => this.writeBans(), active: () => this.running },
            BAN_SAVE_DEBOUNCE_MS,
        );
    }

    /** Reads config and state, installs the firewall state, starts following logs. Throws on config errors. */
    async start(): Promise<void> {
        const jails = this.loadJails();
        this.store.ensureDir();
        const bansLoad = this.store.loadBans();
        if (bansLoad.error) this.reportCorrupt(bansLoad.error, bansLoad.keptAs);
        const posLoad = this.store.loadPositions();
        if (posLoad.error) this.reportCorrupt(posLoad.error, posLoad.keptAs);
        this.positions = posLoad.value.positions;
        const now = this.now();
        const restored = this.validRows(bansLoad.value.bans.map(toBan), jails);
        for (const b of bansLoad.value.lifted ?? [])
            if (b.end === null || b.end > now) this.lifted.set(`${b.jail}\u0000${b.ip}`, toBan(b));
        // The firewall restore starts first and runs in nft while we build the jails (100,000 bans: both take a while).
        // Merge, never replace: the kernel may hold bans the state file missed (a crash just after a ban, a corrupt
        // file), and whatever we unbanned was already removed from the kernel at the time.
        const known = new Set(jails.map(s => s.name));
        const firewall = this.startActions(
            this.actionJailList(jails),
            restored.filter(b => known.has(b.jail) && b.end > now),
            false,
        );
        this.history.restore(historyRecords(bansLoad.value));
        // A ban too long for a kernel timeout was installed without one: if it ended while we were down, lift it now.
        for (const b of restored) {
            if (known.has(b.jail) && b.end <= now && b.end - b.start > KERNEL_MAX_TIMEOUT) {
                const s = jails.find(j => j.name === b.jail)!;
                this.firewall.add("unban", this.backendOf(s), { jail: b.jail, ip: b.ip });
            }
        }
        this.install(jails, restored, now);
        await firewall;
        this.startFollowers();
        this.running = true;
        this.tickTimer = setInterval(() => this.tick(), TICK_MS);
        await this.deps.peers?.start(this);
        await this.startMetrics();
        await this.settle(); // bans taken over from peers are in the firewall before we call ourselves started
        const total = [...this.jails.values()].reduce((n, j) => n + j.jail.bans.activeBans().length, 0);
        this.log.info(
            `started: ${this.jails.size} jail(s) [${[...this.jails.keys()].join(", ")}], ${total} ban(s) in force`,
        );
    }

    /** Stops following and saves state. Bans stay in the firewall (their timeouts run on) unless `unban`. */
    async stop(opts: { unban?: boolean } = {}): Promise<void> {
        if (!this.running) return;
        this.running = false;
        if (this.tickTimer) clearInterval(this.tickTimer);
        await this.metricsServer?.stop();
        await this.deps.peers?.stop();
        this.stopFollowers();
        await this.firewall.settle();
        if (opts.unban) {
            for (const [name, action] of this.actions) await action.remove(this.actionJails(name));
        }
        for (const action of this.actions.values()) await action.shutdown?.();
        for (const action of this.actions.values()) action.close?.();
        this.saveBansNow();
        this.savePositionsNow();
        this.log.info(`stopped${opts.unban ? " and removed all bans" : "; bans stay in force until they expire"}`);
    }

    /** Re-reads the configuration (of every jail, or of `only`); on error the running jails stay as they are. */
    async reload(only?: string): Promise<void> {
        let jails = this.loadJails();
        if (only !== undefined) {
            // `reload JAIL`: only that jail is re-read; the others keep their running settings.
            const fresh = jails.find(s => s.name === only);
            if (!fresh) throw new Error(`Failed during configuration: No section: '${only}'`);
            const running = [...this.jails.values()].map(r => r.settings);
            jails = running.some(s => s.name === only)
                ? running.map(s => (s.name === only ? fresh : s))
                : [...running, fresh];
        }
        const now = this.now();
        const carried = [...this.jails.values()].flatMap(r => r.jail.bans.activeBans());
        this.stopFollowers();
        this.install(jails, carried, now);
        await this.startActions(
            this.actionJailList([...this.jails.values()].map(r => r.settings)),
            this.activeBans(),
            true,
        );
        this.startFollowers();
        this.saveBansNow();
        this.log.info(`reloaded: ${this.jails.size} jail(s) [${[...this.jails.keys()].join(", ")}]`);
    }

    /** Runs one control command; errors (a bad config on reload, say) become error answers. */
    async handle(argv: string[]): Promise<ControlResponse> {
        try {
            return await handleControl(this, argv);
        } catch (e) {
            this.log.error(`${argv.join(" ")}: ${(e as Error).message}`);
            return { ok: false, error: (e as Error).message };
        }
    }

    /** Installs a ban decided elsewhere (control socket or a peer). Returns false if ignored or already banned. */
    banAddress(jailName: string, ip: string, source: BanSource, until?: number): BanOutcome {
        const rj = this.jails.get(jailName);
        if (!rj) return { ok: false, reason: `no jail ${jailName}` };
        const addr = banTarget(rj, ip);
        if (typeof addr === "string") return { ok: false, reason: addr };
        if (rj.jail.bans.isIgnored(addr))
            return { ok: false, reason: `${ip} is in ignoreip of ${jailName}; not banned` };
        if (rj.settings.ignoreself && this.isSelf(addr))
            return { ok: false, reason: `${ip} is this host's own address (ignoreself); not banned` };
        const now = this.now();
        let ban: Ban | undefined;
        if (source === "peer" && until !== undefined) {
            // A peer already decided the length; install it as is (no history here: the offender is the peer's).
            const key = rj.jail.bans.keyOf(addr);
            if (rj.jail.bans.isBanned(key, now) || until <= now) return { ok: false, reason: "already banned" };
            const gone = this.lifted.get(`${jailName}\u0000${key}`);
            if (gone && until <= gone.end + 1) return { ok: false, reason: `${key} was unbanned here; not taken back` };
            ban = { jail: jailName, ip: key, start: now, end: until, banCount: 0 };
            rj.jail.bans.restore([ban], now);
        } else {
            ban = rj.jail.bans.ban(addr, now, now);
        }
        if (!ban) return { ok: false, reason: `${ip} is already banned in ${jailName}` };
        this.onBan(rj, ban, source);
        return { ok: true, ban };
    }

    /** Lifts the ban of `ip` in one jail (an operator's unban: remembered, and sent to peers). */
    unbanAddress(jailName: string, ip: string, source: "control" | "peer" = "control", peerEnd?: number): boolean {
        const rj = this.jails.get(jailName);
        const addr = IPAddr.parse(ip.replace(/\/\d{1,3}$/, ""));
        if (!rj || !addr) return false;
        const key = rj.jail.bans.keyOf(addr);
        const current = rj.jail.bans.get(key) ?? rj.jail.bans.get(ip);
        // A peer's unban lifts the ban it saw, not a newer one decided here since.
        if (source === "peer" && current && peerEnd !== undefined && current.end > peerEnd + 1) return false;
        const b = current ? rj.jail.bans.unban(current.ip) : undefined;
        // Also when we did not know the ban: the kernel may still hold it (e.g. from before a crash).
        this.firewall.add("unban", rj.backend, { jail: jailName, ip: b?.ip ?? key });
        const end = b?.end ?? peerEnd;
        if (end !== undefined)
            this.lifted.set(`${jailName}\u0000${b?.ip ?? key}`, {
                jail: jailName,
                ip: b?.ip ?? key,
                start: b?.start ?? this.now(),
                end,
                banCount: 0,
            });
        if (source === "control" && b) this.deps.peers?.broadcastUnban?.(jailName, b.ip, b.end);
        this.bansSave.mark();
        if (!b) return false;
        this.log.info(`[${jailName}] Unban ${b.ip}${source === "peer" ? " (from peer)" : ""}`);
        return true;
    }

    /** A peer's operator lifted this ban. */
    unbanFromPeer(jailName: string, ip: string, end: number): boolean {
        return this.unbanAddress(jailName, ip, "peer", end);
    }

    /** Bans lifted by an operator that have not reached their end yet (sent to syncing peers). */
    liftedBans(): Ban[] {
        const now = this.now();
        for (const [k, b] of this.lifted) if (b.end <= now) this.lifted.delete(k);
        return [...this.lifted.values()];
    }

    /** `stop [--unban]` from the control socket: answered first, then the process stops the way the CLI set up. */
    requestStop(unban: boolean): void {
        this.unbanOnStop = unban;
        const stop = this.deps.requestStop;
        if (stop) setImmediate(stop);
    }

    /** Lifts every ban in every jail; returns how many. */
    async unbanAll(): Promise<number> {
        let n = 0;
        for (const rj of this.jails.values()) {
            for (const b of rj.jail.bans.activeBans()) {
                rj.jail.bans.unban(b.ip);
                n++;
            }
        }
        this.firewall.drop();
        await this.firewall.idle();
        for (const [name, action] of this.actions) await action.unbanAll(this.actionJails(name));
        this.bansSave.mark();
        this.log.info(`unbanned all (${n})`);
        return n;
    }

    /** Every active ban (what a restarted peer asks for). */
    activeBans(): Ban[] {
        return [...this.jails.values()].flatMap(r => r.jail.bans.activeBans());
    }

    /** Waits until queued firewall work is done (tests, benchmarks). */
    async settle(): Promise<void> {
        await this.firewall.settle();
    }

    // ---- internals ----

    private loadJails(): ResolvedJail[] {
        const dir = this.opts.configDir;
        const config = readJailConfig(dir);
        return resolveJails(config, {
            loadFilter: (spec, values) => loadFilter(dir, spec, values),
            actionExists: name => actionExists(dir, name),
            loadAction: (name, args, jail, origin) => loadAction(dir, name, args, jail, origin),
            resolveName: lookupSync,
        });
    }

    private install(settings: ResolvedJail[], bans: Ban[], now: number): void {
        const self = this.deps.selfAddresses ? this.deps.selfAddresses() : selfAddresses();
        const jails = new Map<string, RuntimeJail>();
        for (const s of settings) {
            const backend = this.backendOf(s);
            const jail = new Jail(s, {
                filter: compileFilter(s.filter),
                history: this.history,
                selfAddresses: s.ignoreself ? self : [],
                isSelf: s.ignoreself ? ip => this.isSelf(ip) : undefined,
                dns: {
                    resolve: n => this.hosts.resolve(n),
                    warn: m => this.log.warn(m),
                    onBan: b => this.jails.get(s.name) && this.onBan(this.jails.get(s.name)!, b, "log"),
                    now: this.now,
                },
            });
            jail.bans.restore(
                bans.filter(b => b.jail === s.name),
                now,
            );
            const prev = this.jails.get(s.name);
            if (prev) jail.carryOver(prev.jail);
            const sources = sourceKeys(s);
            const files = s.journal ? [] : sources;
            jails.set(s.name, { settings: s, jail, files, sources, backend, nextExpiry: jail.bans.nextExpiry() });
        }
        this.jails = jails;
        this.byFile = new Map();
        for (const rj of jails.values()) {
            for (const f of rj.sources) {
                const l = this.byFile.get(f) ?? [];
                l.push(rj);
                this.byFile.set(f, l);
            }
        }
    }

    private actionJails(backend: BackendName): ActionJail[] {
        return this.actionJailList([...this.jails.values()].map(r => r.settings))
            .filter(j => j.backend === backend)
            .map(({ name, port, protocol, actions }) => ({ name, port, protocol, actions }));
    }

    /** Each jail once per backend it uses: its native one, and `generic` when it also runs action.d commands. */
    private actionJailList(jails: ResolvedJail[]): Array<ActionJail & { backend: BackendName }> {
        const out: Array<ActionJail & { backend: BackendName }> = [];
        for (const s of jails) {
            const backend = this.backendOf(s);
            out.push({ name: s.name, port: s.port, protocol: s.protocol, actions: s.actions, backend });
            if (backend !== "generic" && s.actions.length)
                out.push({ name: s.name, port: s.port, protocol: s.protocol, actions: s.actions, backend: "generic" });
        }
        return out;
    }

    private backendOf(s: ResolvedJail): BackendName {
        if (!this.opts.banaction && !s.nativeAction) return "generic";
        const name = this.opts.banaction ?? s.banaction;
        const backend = backendFor(name);
        if (!backend) throw new Error(`jail ${s.name}: ${unsupportedBanaction(name)}`);
        return backend;
    }

    /** Sets up every backend for its jails and installs `bans` (all backends in parallel). */
    private async startActions(
        jails: Array<ActionJail & { backend: BackendName }>,
        bans: Ban[],
        replace: boolean,
    ): Promise<void> {
        const now = this.now();
        const uses = new Set(jails.map(j => `${j.backend}\u0000${j.name}`));
        const work: Promise<void>[] = [];
        for (const backend of new Set(jails.map(j => j.backend))) {
            let action = this.actions.get(backend);
            if (!action) {
                action = this.deps.createAction
                    ? this.deps.createAction(backend)
                    : createAction(backend, this.log, this.deps.exec);
                this.actions.set(backend, action);
            }
            const entries: ActionEntry[] = [];
            for (const b of bans)
                if (uses.has(`${backend}\u0000${b.jail}`))
                    entries.push({
                        jail: b.jail,
                        ip: b.ip,
                        timeout: secondsLeft(b.end, now),
                        start: b.start,
                        banCount: b.banCount,
                    });
            const ajails = jails
                .filter(j => j.backend === backend)
                .map(({ name, port, protocol, actions }) => ({ name, port, protocol, actions }));
            const t0 = Date.now();
            const a = action;
            work.push(
                a.start(ajails, entries, replace).then(
                    () => this.log.info(`${backend}: ${entries.length} ban(s) installed in ${Date.now() - t0} ms`),
                    e => this.startJailByJail(backend, a, ajails, entries, replace, e as Error),
                ),
            );
        }
        await Promise.all(work);
    }

    /**
     * The one-batch start failed: set the jails up one at a time so a jail the firewall refuses cannot take the
     * others down, then restore the bans of those that worked (failed bans are retried later).
     */
    private async startJailByJail(
        backend: BackendName,
        a: BanAction,
        jails: ActionJail[],
        entries: ActionEntry[],
        replace: boolean,
        first: Error,
    ): Promise<void> {
        this.log.error(`${backend}: cannot set up the firewall in one batch (${first.message}); trying jail by jail`);
        const good: ActionJail[] = [];
        for (const j of jails) {
            try {
                await a.start([...good, j], [], false);
                good.push(j);
            } catch (e) {
                this.firewallErrors++;
                const msg = `[${j.name}] ${backend}: cannot set up the firewall for this jail: ${(e as Error).message}`;
                this.problems.push(msg);
                this.log.error(msg);
            }
        }
        const names = new Set(good.map(j => j.name));
        const mine = entries.filter(e => names.has(e.jail));
        try {
            if (good.length) await a.start(good, mine, replace);
        } catch (e) {
            this.firewallErrors++;
            this.problems.push(`${backend}: restoring ${mine.length} ban(s) failed: ${(e as Error).message}`);
            this.firewall.addFailed(backend, "ban", mine);
        }
    }

    private startFollowers(): void {
        for (const file of this.byFile.keys()) {
            const f = createSource(file, this.byFile.get(file)![0].settings, {
                start: this.positions[file],
                onLines: (lines, _key, times) => this.onLines(file, lines, times),
                log: this.log,
                watch: !this.opts.polling,
                firstStart: this.firstStart(file),
            });
            this.followers.set(file, f);
            f.start();
        }
    }

    /** A log never read before: its lines within findtime (the longest of its jails') are read, as fail2ban does. */
    private firstStart(file: string): SourceOptions["firstStart"] {
        const jails = this.byFile.get(file) ?? [];
        if (jails.length === 0 || this.positions[file]) return undefined;
        const now = this.now();
        const dater = compileFilter(jails[0].settings.filter);
        return {
            since: now - Math.max(...jails.map(r => r.settings.findtime)),
            dateOf: line => dater.processLine(line, now).time,
        };
    }

    private stopFollowers(): void {
        for (const [file, f] of this.followers) {
            const p = f.position();
            if (p) this.positions[file] = p;
            f.stop();
        }
        this.followers.clear();
    }

    /** The hot path: one batch of lines from one file through every jail following it. */
    private onLines(file: string, lines: string[], times?: number[]): void {
        const jails = this.byFile.get(file);
        if (!jails) return;
        const now = this.now();
        for (const rj of jails) {
            const jail = rj.jail;
            const counters = this.metrics.jail(rj.settings.name);
            const share = rj.settings.shareFailures ? this.deps.peers : undefined;
            let matched = 0;
            // Matching is bounded per line, so one jail's catastrophic regex cannot stall the others; what the
            // results lead to (bans, logging, peers) runs outside the bound, never cut short (filter/guard.ts).
            const results: Array<ReturnType<Jail["processLine"]> | undefined> = new Array(lines.length);
            const abandoned = lineGuard().forEach(lines.length, jailBudget(rj.settings.name), i => {
                results[i] = times ? jail.processLineAt(lines[i], times[i], now) : jail.processLine(lines[i], now);
            });
            for (let i = 0; i < lines.length; i++) {
                const r = results[i];
                if (r === undefined) continue;
                if (r.result.kind === "matched") matched++;
                const out = r.outcome;
                if (out === undefined) continue;
                if (out.kind === "ban") this.onBan(rj, out.ban, "log");
                else if (out.kind === "failure" && share)
                    share.shareFailure?.(
                        rj.settings.name,
                        out.key,
                        r.result.time ?? now,
                        out.count,
                        rj.settings.maxretry,
                    );
            }
            counters.linesRead += lines.length;
            counters.linesMatched += matched;
            if (abandoned.length)
                reportTimedOut(
                    rj.settings.name,
                    abandoned.map(i => lines[i]),
                    counters,
                    this.problems,
                    this.log,
                );
        }
    }

    private onBan(rj: RuntimeJail, ban: Ban, source: BanSource): void {
        const now = this.now();
        if (ban.end < rj.nextExpiry) rj.nextExpiry = ban.end;
        this.firewall.add("ban", rj.backend, {
            jail: ban.jail,
            ip: ban.ip,
            timeout: secondsLeft(ban.end, now),
            start: ban.start,
            bantime: Number.isFinite(ban.end) ? Math.round(ban.end - ban.start) : -1,
            banCount: ban.banCount,
            failures: rj.settings.maxretry,
        });
        const len = Number.isFinite(ban.end) ? `${Math.round(ban.end - ban.start)}s` : "permanent";
        this.log.info(
            `[${ban.jail}] Ban ${ban.ip} (${len}${ban.banCount ? `, ban #${ban.banCount + 1}` : ""}${source === "log" ? "" : `, from ${source}`})`,
        );
        this.bansSave.mark();
        if (source !== "peer" && source !== "restore") this.deps.peers?.broadcast(ban);
    }

    private tick(): void {
        const now = this.now();
        for (const rj of this.jails.values()) {
            // Scanning 100,000 bans every second for none that ended is waste: only when the earliest is due.
            if (now < rj.nextExpiry) continue;
            const ended = rj.jail.expire(now);
            rj.nextExpiry = rj.jail.bans.nextExpiry();
            for (const b of ended) {
                this.firewall.add("unban", rj.backend, { jail: b.jail, ip: b.ip });
                this.log.info(`[${b.jail}] Unban ${b.ip} (expired)`);
                this.bansSave.mark();
            }
        }
        const ms = Date.now();
        this.firewall.retry(now, ms);
        if (ms - this.lastPositionSave >= POSITION_SAVE_MS) this.savePositionsNow();
    }

    private refreshTimeout(e: ActionEntry, now: number): ActionEntry | undefined {
        const b = this.jails
            .get(e.jail)
            ?.jail.bans.activeBans()
            .find(x => x.ip === e.ip);
        if (!b || b.end <= now) return undefined;
        return { ...e, timeout: secondsLeft(b.end, now) };
    }

    /** Saves the bans file now (stop, reload, tests); a failure is reported in `status` and the metrics. */
    saveBansNow(): void {
        this.bansSave.flush();
    }

    private writeBans(): boolean {
        try {
            this.store.saveBans(this.bansState());
            this.stateProblem = undefined;
            return true;
        } catch (e) {
            this.stateFailed(`${this.store.bansFile}: ${(e as Error).message}`);
            return false;
        }
    }

    private savePositionsNow(): void {
        this.lastPositionSave = Date.now();
        // A position may only pass lines whose bans are durable: the bans go to disk first (kill -9 between the two
        // writes then re-reads a few lines, and re-deciding a known ban is a no-op).
        if (this.bansSave.dirty) {
            this.saveBansNow();
            if (this.bansSave.dirty) return; // could not save: keep the old position, so the lines are read again
        }
        let changed = false;
        for (const [file, f] of this.followers) {
            const p = f.position();
            const old = this.positions[file];
            if (p && !samePosition(old, p)) {
                this.positions[file] = p;
                changed = true;
            }
        }
        if (!changed && this.running) return;
        try {
            this.store.savePositions({ positions: this.positions });
        } catch (e) {
            this.stateFailed(`${this.store.positionsFile}: ${(e as Error).message}`);
        }
    }

    bansState(): BansState {
        const active = [...this.jails.values()].flatMap(rj => rj.jail.bans.activeBans());
        return bansSnapshot(active, this.history.records(), this.liftedBans());
    }

    private stateFailed(msg: string): void {
        // Logged when it starts failing, and shown in `status` until a save works again.
        if (this.stateProblem === undefined) this.log.error(`cannot save state: ${msg}`);
        this.metrics.stateSaveErrors++;
        this.stateProblem = `${msg} (${this.metrics.stateSaveErrors} failed save(s) since start)`;
    }

    /** Drops persisted rows that cannot be bans (not an address, a network the jail would not ban); says so. */
    private validRows(rows: Ban[], jails: ResolvedJail[]): Ban[] {
        const byName = new Map(jails.map(j => [j.name, j]));
        const bad: string[] = [];
        const ok: Ban[] = [];
        for (const b of rows) {
            const j = byName.get(b.jail);
            if (!j) {
                ok.push(b); // a jail not configured now: kept in memory only if it comes back (install filters)
                continue;
            }
            const net = IPNetwork.parse(b.ip);
            const single = net && net.prefix === (net.family === 4 ? 32 : 128);
            const key6 = net && net.family === 6 && net.prefix === j.ipv6Prefix;
            if (!net || !(single || key6) || net.text !== b.ip || (b.end !== Infinity && !(b.end > b.start)))
                bad.push(JSON.stringify(b.ip));
            else ok.push(b);
        }
        if (bad.length) {
            const msg = `${bad.length} ban(s) in ${this.store.bansFile} dropped: not a bannable address: ${bad.slice(0, 5).join(", ")}${bad.length > 5 ? ", ..." : ""}`;
            this.problems.push(msg);
            this.log.error(msg);
        }
        return ok;
    }

    private isSelf(ip: IPAddr): boolean {
        const list = this.deps.selfAddresses ? this.deps.selfAddresses() : selfAddresses();
        for (const a of list) {
            const n = IPNetwork.parse(a);
            if (n && n.contains(ip)) return true;
        }
        return false;
    }

    /** The running readers (files and journals) by source key: counters for status and tests. */
    sources(): ReadonlyMap<string, LineSource> {
        return this.followers;
    }

    /** Lines read per followed file (status, benchmarks). */
    linesRead(): number {
        let n = 0;
        for (const f of this.followers.values()) n += f.linesRead;
        return n;
    }

    // ---- shared failures and metrics (peers/link.ts, metrics/) ----

    /** Failures a peer counted in a jail that shares failures here too; a ban they complete is ours to broadcast. */
    addPeerFailures(jailName: string, key: string, n: number, time: number): void {
        const rj = this.jails.get(jailName);
        if (!rj || !rj.settings.shareFailures) return;
        const now = this.now();
        // A peer's clock a little ahead must not make its failures outlive ours.
        const out = rj.jail.addPeerFailures(key, n, Math.min(time, now), now);
        if (out.kind === "failure" || out.kind === "ban")
            this.metrics.jail(jailName).peerFailures += Math.max(1, Math.floor(n));
        if (out.kind === "ban") this.onBan(rj, out.ban, "shared");
    }

    /** The Prometheus text of every counter (what a scrape answers). */
    metricsText(): string {
        const files: Array<{ path: string; lagBytes: number | undefined }> = [];
        for (const [file, f] of this.followers) files.push({ path: file, lagBytes: f.lagBytes() });
        return renderMetrics({
            jails: [...this.jails.values()].map(rj => ({
                name: rj.settings.name,
                counters: this.metrics.jail(rj.settings.name),
                failures: rj.jail.failedTotal,
                currentBans: rj.jail.bans.activeCount,
                totalBans: rj.jail.bans.totalBanned,
                tracked: rj.jail.failingCount,
            })),
            files,
            peers: this.deps.peers?.counters,
            firewallErrors: this.firewallErrors,
            stateSaveErrors: this.metrics.stateSaveErrors,
            stateSaveFailing: this.stateProblem !== undefined,
        });
    }

    private async startMetrics(): Promise<void> {
        if (!this.opts.metrics || this.metricsServer) return;
        const m = new MetricsServer(this.opts.metrics, () => this.metricsText(), this.log);
        await m.start();
        this.metricsServer = m;
    }

    private reportCorrupt(error: string, keptAs?: string): void {
        const msg = `state file unreadable: ${error}; kept as ${keptAs}; starting without it`;
        this.problems.push(msg);
        this.log.error(msg);
    }
}

/** This host's own addresses (fail2ban's ignoreself). */
function selfAddresses(): string[] {
    const out: string[] = [];
    for (const list of Object.values(os.networkInterfaces()))
        for (const a of list ?? []) out.push(a.address.replace(/%.*$/, ""));
    return out;
}

/**
 * What `banip`/a peer names, as the address to ban: a single address (also written `/32`, `/128`), or an IPv6
 * network of exactly the jail's ban prefix (how peers send /64 keys). Any other network is refused with a reason:
 * banning its first address alone would answer success and ban almost nothing.
 */
function banTarget(rj: RuntimeJail, text: string): IPAddr | string {
    if (text.indexOf("/") < 0) return IPAddr.parse(text) ?? `not an IP address: ${text}`;
    const net = IPNetwork.parse(text);
    if (!net) return `not an IP address: ${text}`;
    const full = net.family === 4 ? 32 : 128;
    if (net.prefix === full || (net.family === 6 && net.prefix === rj.settings.ipv6Prefix))
        return IPAddr.fromWords(net.family, net.words);
    return `${text}: banning a network is not supported (only single addresses${rj.settings.ipv6Prefix < 128 ? ` and IPv6 /${rj.settings.ipv6Prefix} prefixes` : ""}); nothing banned`;
}

function samePosition(a: SourcePosition | undefined, b: SourcePosition): boolean {
    if (!a) return false;
    if (isJournalPosition(a) || isJournalPosition(b))
        return isJournalPosition(a) && isJournalPosition(b) && a.cursor === b.cursor;
    return a.offset === b.offset && a.ino === b.ino && a.head === b.head;
}
