// Failures waiting to be sent to the peers: aggregated per jail and address, so a flood costs one map update per
// log line and a few frames per interval, never a frame per line. Pure: the link decides when to take a batch.
//
// Bounds: at most `maxKeys` addresses wait at once (further new ones are dropped and counted; addresses already
// waiting keep counting), and a batch is cut into frames of at most MAX_FAILURES_PER_FRAME entries.

import { MAX_FAILURES_PER_FRAME, WireFailure } from "./message";

/** Addresses waiting to be sent at most (about 100 bytes each). */
export const MAX_PENDING_FAILURES = 20_000;

interface Pending {
    n: number;
    t: number;
}

export class FailureBatch {
    private byJail = new Map<string, Map<string, Pending>>();
    private keys = 0;
    /** Failures refused because the table was full (since creation). */
    dropped = 0;

    constructor(private readonly maxKeys = MAX_PENDING_FAILURES) {}

    get size(): number {
        return this.keys;
    }

    /**
     * Adds one failure of `ip` in `jail` at log time `t`. Returns how many failures of that address now wait, or 0
     * when the table was full: the caller sends early once that reaches a share of maxretry.
     */
    add(jail: string, ip: string, t: number): number {
        let m = this.byJail.get(jail);
        if (!m) {
            m = new Map();
            this.byJail.set(jail, m);
        }
        const p = m.get(ip);
        if (p) {
            p.n++;
            if (t > p.t) p.t = t;
            return p.n;
        }
        if (this.keys >= this.maxKeys) {
            this.dropped++;
            return 0;
        }
        m.set(ip, { n: 1, t });
        this.keys++;
        return 1;
    }

    /** Everything waiting, as frames' worth of entries; the table is empty afterwards. */
    take(perFrame = MAX_FAILURES_PER_FRAME): WireFailure[][] {
        const frames: WireFailure[][] = [];
        let cur: WireFailure[] = [];
        for (const [jail, m] of this.byJail) {
            for (const [ip, p] of m) {
                cur.push({ jail, ip, n: p.n, t: p.t });
                if (cur.length >= perFrame) {
                    frames.push(cur);
                    cur = [];
                }
            }
        }
        if (cur.length) frames.push(cur);
        this.byJail = new Map();
        this.keys = 0;
        return frames;
    }
}
