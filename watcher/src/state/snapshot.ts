// Between the running server's bans (Infinity for "never ends") and the bans file's (null, as JSON has no
// Infinity): the snapshot the debounced save writes, and the records a start reads back.

import type { BanRecord } from "../jail";
import type { Ban } from "../types";
import type { BansState, PersistedBan } from "./store";

/** The bans file's content for these active bans, offender records and operator-lifted bans. */
export function bansSnapshot(active: Iterable<Ban>, history: Iterable<BanRecord>, lifted: Iterable<Ban>): BansState {
    const bans: PersistedBan[] = [];
    for (const b of active)
        bans.push({
            jail: b.jail,
            ip: b.ip,
            start: b.start,
            end: Number.isFinite(b.end) ? b.end : null,
            banCount: b.banCount,
        });
    const records: BansState["history"] = {};
    for (const r of history) {
        (records[r.jail] ??= {})[r.ip] = {
            count: r.count,
            lastStart: r.lastStart,
            lastEnd: Number.isFinite(r.lastEnd) ? r.lastEnd : null,
        };
    }
    const gone: PersistedBan[] = [];
    for (const b of lifted)
        gone.push({ jail: b.jail, ip: b.ip, start: b.start, end: Number.isFinite(b.end) ? b.end : null, banCount: 0 });
    return { bans, history: records, lifted: gone };
}

/** A persisted ban as the server holds it. */
export function toBan(b: PersistedBan): Ban {
    return { jail: b.jail, ip: b.ip, start: b.start, end: b.end === null ? Infinity : b.end, banCount: b.banCount };
}

/** The offender records of a bans file, for BanHistory.restore. */
export function historyRecords(s: BansState): BanRecord[] {
    const out: BanRecord[] = [];
    for (const [jail, ips] of Object.entries(s.history)) {
        for (const [ip, r] of Object.entries(ips))
            out.push({
                jail,
                ip,
                count: r.count,
                lastStart: r.lastStart,
                lastEnd: r.lastEnd === null ? Infinity : r.lastEnd,
            });
    }
    return out;
}
