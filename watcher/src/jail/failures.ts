// Failures per key (address or IPv6 prefix) within findtime, on the log's own clock.
//
// Window: sliding. A key reaches maxretry when maxretry failures lie within the last findtime seconds
// [t - findtime, t] of the newest failure's time t (inclusive, like fail2ban's
// reset test), which is what jail.conf documents. fail2ban itself counts since
// a "last reset" that moves only when the first counted failure falls out of the window, so it can miss a burst
// straddling that reset; a sliding window catches every burst fail2ban catches, and those too.
//
// Memory: each key keeps at most maxretry timestamps (a ring). The map is in order of each key's `placed` time: a
// new key goes to the back, but a failure of a known key only updates its `last` (moving a Map key costs a delete
// and a re-insert, which dominated the daemon's CPU with many tracked addresses). `sweep` walks the front, where
// keys placed more than findtime ago sit: stale ones are dropped, ones that failed since are moved to the back
// (placed = last), and the first key placed within findtime ends the walk. So each key moves at most once per
// findtime instead of once per failure, and stale keys still go in O(stale + moved).
// A hard cap (`maxKeys`) evicts keys that have not failed since they were placed, oldest first, moving the others
// back ("second chance"), so a flood of distinct addresses cannot exhaust memory nor push out one that keeps failing.

export interface FailureCounterOptions {
    maxretry: number;
    findtime: number;
    /** Upper bound on tracked keys; the least recently failing are forgotten first. Default 1,000,000. */
    maxKeys?: number;
}

interface Entry {
    /** Ring of the most recent failure times (capacity maxretry). */
    times: Float64Array;
    /** Next write position in the ring. */
    next: number;
    /** Number of valid entries in the ring (<= capacity). */
    filled: number;
    /** Newest failure time (log clock). */
    last: number;
    /** Log time the key took its place in the map; `last > placed` means it failed again since. */
    placed: number;
}

export class FailureCounter {
    readonly maxretry: number;
    readonly findtime: number;
    readonly maxKeys: number;
    private readonly entries = new Map<string, Entry>();
    /** Newest time seen across all keys: the counter's notion of "now" for sweeping. */
    private clock = -Infinity;
    private sinceSweep = 0;

    constructor(opts: FailureCounterOptions) {
        if (!(opts.maxretry >= 1)) throw new RangeError("maxretry must be at least 1");
        this.maxretry = Math.floor(opts.maxretry);
        this.findtime = opts.findtime;
        this.maxKeys = opts.maxKeys ?? 1_000_000;
    }

    /**
     * Records `weight` failures (default 1) for `key` at log time `time`; returns how many failures of the key now
     * lie within findtime of `time` (capped at maxretry). The caller bans when the result reaches maxretry.
     */
    add(key: string, time: number, weight = 1): number {
        let e = this.entries.get(key);
        if (!e) {
            // Make room first, so the second-chance pass can never pick the key being added.
            if (this.entries.size >= this.maxKeys) this.evictOldest(this.entries.size - this.maxKeys + 1);
            e = { times: new Float64Array(this.maxretry), next: 0, filled: 0, last: time, placed: time };
            this.entries.set(key, e);
        }
        const n = Math.min(Math.max(1, Math.floor(weight)), this.maxretry);
        for (let k = 0; k < n; k++) {
            e.times[e.next] = time;
            e.next = (e.next + 1) % this.maxretry;
            if (e.filled < this.maxretry) e.filled++;
        }
        if (time > e.last) e.last = time;
        if (time > this.clock) this.clock = time;
        if (++this.sinceSweep >= 4096) this.sweep(this.clock);
        return this.countWithin(e, time);
    }

    /** Failures of `key` within findtime before `time` (the log time of interest). */
    count(key: string, time: number): number {
        const e = this.entries.get(key);
        return e ? this.countWithin(e, time) : 0;
    }

    /** Forgets the key (after a ban, so the next ban needs maxretry fresh failures). */
    reset(key: string): void {
        this.entries.delete(key);
    }

    /** Drops keys whose newest failure is older than findtime before `now`. Returns how many were dropped. */
    sweep(now: number): number {
        this.sinceSweep = 0;
        const limit = now - this.findtime;
        let dropped = 0;
        for (const [key, e] of this.entries) {
            if (e.last < limit) {
                this.entries.delete(key);
                dropped++;
            } else if (e.placed < limit) {
                this.moveToBack(key, e); // fresh; met again at the end, where placed = last ends the loop
            } else {
                break; // placed within findtime: every key behind it was placed later, so is fresh too
            }
        }
        return dropped;
    }

    get size(): number {
        return this.entries.size;
    }

    private countWithin(e: Entry, time: number): number {
        const limit = time - this.findtime;
        let c = 0;
        for (let k = 0; k < e.filled; k++) if (e.times[k] >= limit) c++;
        return c;
    }

    private evictOldest(n: number): void {
        for (const [key, e] of this.entries) {
            if (n <= 0) break;
            if (e.last > e.placed) {
                this.moveToBack(key, e);
            } else {
                this.entries.delete(key);
                n--;
            }
        }
    }

    private moveToBack(key: string, e: Entry): void {
        e.placed = e.last;
        this.entries.delete(key);
        this.entries.set(key, e);
    }
}
