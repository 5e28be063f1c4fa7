// The firewall queue: bans and unbans decided anywhere (a log line, the control socket, a peer, an expiry) wait
// here until the current turn of the event loop ends, then go to each backend as one batch. Batches of one backend
// run one after another (a later unban must not overtake the ban it lifts); different backends run side by side.
// A failed batch is kept and retried (every RETRY_MS), so a firewall hiccup delays bans instead of losing them.

import type { BackendName } from "./backend";
import type { ActionEntry, BanAction } from "./types";

export const RETRY_MS = 10_000;

export type QueueKind = "ban" | "unban";

export interface FirewallQueueHooks {
    /** The backend of that name, if the server has set it up (entries for a missing one are dropped). */
    action(backend: BackendName): BanAction | undefined;
    /** Whether this jail also runs action.d commands: its entries then go to the `generic` backend too. */
    alsoGeneric(jail: string): boolean;
    /** Called once per failed batch (the server counts firewall errors for `status` and the metrics). */
    onError(): void;
    /** A ban entry as it should be retried now (its timeout shrank meanwhile), or undefined once it is moot. */
    refresh(e: ActionEntry, now: number): ActionEntry | undefined;
    debug(msg: string): void;
    error(msg: string): void;
}

export class FirewallQueue {
    private pending: Record<QueueKind, Map<BackendName, ActionEntry[]>> = { ban: new Map(), unban: new Map() };
    private failed: Array<{ backend: BackendName; kind: QueueKind; entries: ActionEntry[] }> = [];
    private flushScheduled = false;
    private chain = new Map<BackendName, Promise<void>>();
    private lastRetry = 0;

    constructor(private readonly hooks: FirewallQueueHooks) {}

    /** Queues one entry for the next batch of `backend` (and of `generic`, for a jail with action.d commands). */
    add(kind: QueueKind, backend: BackendName, e: ActionEntry): void {
        if (backend !== "generic" && this.hooks.alsoGeneric(e.jail)) this.add(kind, "generic", e);
        const map = this.pending[kind];
        const l = map.get(backend);
        if (l) l.push(e);
        else map.set(backend, [e]);
        if (!this.flushScheduled) {
            this.flushScheduled = true;
            setImmediate(() => this.flush());
        }
    }

    /** Hands queued bans/unbans to the backends, one batch per backend, bans before unbans. */
    flush(): void {
        this.flushScheduled = false;
        for (const kind of ["ban", "unban"] as const) {
            const map = this.pending[kind];
            for (const [backend, entries] of map) {
                map.delete(backend);
                this.run(backend, kind, entries);
            }
        }
    }

    /** Forgets what is queued and not yet handed over (`unban --all` empties the sets anyway). */
    drop(): void {
        this.pending.ban.clear();
        this.pending.unban.clear();
    }

    /** Waits for every batch already handed to a backend. */
    async idle(): Promise<void> {
        await Promise.all(this.chain.values());
    }

    /** Flushes, then waits until the firewall has done it all (control answers, tests, benchmarks). */
    async settle(): Promise<void> {
        this.flush();
        await this.idle();
    }

    /** A batch that failed outside the queue (a start-up restore): retried with the others. */
    addFailed(backend: BackendName, kind: QueueKind, entries: ActionEntry[]): void {
        this.failed.push({ backend, kind, entries });
    }

    /** Runs failed batches again when RETRY_MS have passed since the last try (`ms`: wall clock, `now`: epoch s). */
    retry(now: number, ms: number): void {
        if (this.failed.length === 0 || ms - this.lastRetry < RETRY_MS) return;
        this.lastRetry = ms;
        const failed = this.failed;
        this.failed = [];
        for (const f of failed) {
            // Time has passed since the first attempt: re-compute the timeouts, drop bans that ended meanwhile.
            const entries =
                f.kind === "ban"
                    ? f.entries.map(e => this.hooks.refresh(e, now)).filter((e): e is ActionEntry => !!e)
                    : f.entries;
            this.run(f.backend, f.kind, entries);
        }
    }

    private run(backend: BackendName, kind: QueueKind, entries: ActionEntry[]): void {
        const action = this.hooks.action(backend);
        if (!action) return;
        const prev = this.chain.get(backend) ?? Promise.resolve();
        const next = prev.then(async () => {
            try {
                await (kind === "ban" ? action.ban(entries) : action.unban(entries));
                // Benchmarks time "line written -> address in the set" from this line.
                this.hooks.debug(
                    `${backend}: ${kind} done: ${entries
                        .slice(0, 20)
                        .map(e => e.ip)
                        .join(" ")}${entries.length > 20 ? ` (+${entries.length - 20})` : ""}`,
                );
            } catch (e) {
                this.hooks.onError();
                this.hooks.error(
                    `${backend} ${kind} of ${entries.length} address(es) failed, will retry: ${(e as Error).message}`,
                );
                this.failed.push({ backend, kind, entries });
            }
        });
        this.chain.set(backend, next);
    }
}
