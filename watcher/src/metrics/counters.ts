// The daemon's counters: plain numbers in fixed-shape objects, bumped on the hot path (no allocation, no label
// lookups per line); render.ts turns them into Prometheus text only when someone scrapes.

/** Per jail; keyed by jail name in Metrics so the counts survive a reload (Prometheus counters never go back). */
export class JailCounters {
    /** Lines the jail's filter looked at. */
    linesRead = 0;
    /** Lines its failregex matched (ignoreregex and noFail lines excluded). */
    linesMatched = 0;
    /** Lines abandoned because matching them ran out of the per-line budget (filter/guard.ts). */
    linesTimedOut = 0;
    /** Failures peers reported for this jail and we counted (shared failures). */
    peerFailures = 0;
}

/** Peer frame types we count; anything else is "other". */
export const PEER_TYPES = ["ban", "unban", "sync-request", "sync", "failures", "other"] as const;
export type PeerType = (typeof PEER_TYPES)[number];

/** Why a peer frame was refused (the `reason` label). */
export const REJECT_REASONS = [
    "not_json",
    "no_mac",
    "bad_mac",
    "stale",
    "replay",
    "malformed",
    "before_start",
    "too_large",
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

function zeros<K extends string>(keys: readonly K[]): Record<K, number> {
    const o = {} as Record<K, number>;
    for (const k of keys) o[k] = 0;
    return o;
}

export class PeerCounters {
    /** Frames sent, by type (one per peer each). */
    readonly sent = zeros(PEER_TYPES);
    /** Authentic frames received, by type. */
    readonly received = zeros(PEER_TYPES);
    readonly rejected = zeros(REJECT_REASONS);
    /** Frames that could not be delivered (peer down, timeout). */
    sendErrors = 0;
    /** Address entries carried by the failure frames we sent. */
    failuresSent = 0;
    /** Failure entries dropped before sending because the pending table was full (memory bound). */
    failuresDropped = 0;

    static typeOf(t: unknown): PeerType {
        return (PEER_TYPES as readonly unknown[]).includes(t) && t !== "other" ? (t as PeerType) : "other";
    }
}

export class Metrics {
    private readonly jails = new Map<string, JailCounters>();
    /** State saves (bans or positions) that failed: a read-only or full state directory. */
    stateSaveErrors = 0;

    /** The counters of one jail (created on first use; look it up once per batch, not per line). */
    jail(name: string): JailCounters {
        let c = this.jails.get(name);
        if (!c) {
            c = new JailCounters();
            this.jails.set(name, c);
        }
        return c;
    }
}
