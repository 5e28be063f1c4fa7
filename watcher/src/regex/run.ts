// The work behind `jailwatch regex`: feed lines to a compiled filter and keep fail2ban-regex's statistics.
// Hot path: no per-line allocation beyond the line slice itself and what the filter does; lines are kept only
// when they will be printed (at most maxlines + 1 of each kind unless --print-all-*).

import { expandTagsForDisplay } from "../filter/tags";
import type { Filter, LineResult } from "../types";
import type { PrintOptions, RegexStats } from "./report";
import { DateOrder } from "./dateorder";
import { HostIds, hostMode } from "./hostids";
import { VerboseCollector } from "./verbose";

/** What a run keeps for the report (the listing thresholds and switches), plus how it counts lines. */
export interface RunOptions extends PrintOptions {
    /** `-r`: a host name matched by <HOST> counts as it is (as with usedns = raw), not as its addresses. */
    rawHosts?: boolean;
    /** The filter's effective usedns (yes, warn, no, raw): what a host name from <HOST> counts as (hostids.ts). */
    usedns?: string;
    /** `-o ip`: called with each matched (not ignored) line's address instead of collecting statistics. */
    onMatchOut?: (r: LineResult, line: string) => void;
    /** `-v`: also collect what the verbose report lists (see verbose.ts). */
    verbose?: boolean;
}

/** Copies a line out of its chunk so a kept line does not pin the whole decoded chunk in memory. */
function detach(s: string): string {
    return Buffer.from(s, "utf8").toString("utf8");
}

export class RegexRun {
    readonly stats: RegexStats;
    /** fail2ban's date template order, replayed (the report lists templates in it). */
    private readonly dateOrder: DateOrder;
    private lastDate: string | undefined;
    /** Lines after the first that the last template dated in a row, and where its match began on the last one. */
    private sameDate = 0;
    private sameDateDistance = 0;
    private readonly keepMissed: boolean;
    private readonly keepIgnored: boolean;
    private readonly limit: number;
    /** One "now" for the whole run (fills in year-less dates), instead of a clock read per line. */
    private readonly now = Date.now() / 1000;
    /** Multi-line filters (maxlines > 1): the last lines, and whether each still counts as missed. */
    private readonly window: Array<{ line: string; missed: boolean }> = [];
    private readonly maxlines: number;
    private readonly verbose?: VerboseCollector;
    private readonly hostIds: HostIds;

    constructor(
        private readonly filter: Filter,
        private readonly opts: RunOptions,
    ) {
        const def = filter.definition;
        this.stats = {
            failregex: def.failregex.slice(),
            failHits: def.failregex.map(() => 0),
            ignoreregex: def.ignoreregex.slice(),
            ignoreHits: def.ignoreregex.map(() => 0),
            // Shown as fail2ban-regex shows it: with the tags expanded.
            prefregex:
                def.prefregex === undefined
                    ? undefined
                    : expandTagsForDisplay(def.prefregex, def.options.usedns ?? "warn"),
            prefHits: 0,
            dateHits: [],
            tested: 0,
            matched: 0,
            ignored: 0,
            missed: 0,
            matchedLines: [],
            ignoredLines: [],
            missedLines: [],
            seconds: 0,
        };
        this.keepMissed = !opts.printNoMissed;
        this.keepIgnored = !opts.printNoIgnored;
        this.limit = opts.maxlines + 1;
        this.maxlines = def.maxlines ?? 1;
        this.dateOrder = new DateOrder(filter.dateTemplateList ?? []);
        this.hostIds = new HostIds(hostMode(!!opts.rawHosts, opts.usedns ?? def.options.usedns ?? "warn"));
        if (opts.verbose) this.verbose = new VerboseCollector(filter, opts.maxlines, this.hostIds);
    }

    /** One counted line (already stripped of "\r\n"; empty and "#" lines never get here). */
    line(line: string): void {
        let r = this.filter.processLine(line, this.now);
        const st = this.stats;
        if (st.prefregex !== undefined) {
            // fail2ban-regex counts lines the prefregex matched; the filter says so in `prefMatched`.
            if (r.prefMatched) st.prefHits++;
        }
        if (r.kind === "matched" && this.hostIds.mode !== "raw") r = this.withoutUnresolved(r);
        const out = this.opts.onMatchOut;
        if (out) {
            if (r.kind === "matched" && !r.noFail) {
                // fail2ban-regex prints one row per address a host name has, each with that address as its id.
                const ips = this.hostIds.of(r);
                if (ips === undefined) out(r, line);
                else for (const ip of ips) out({ ...r, host: ip, fid: undefined }, line);
            }
            return;
        }
        const dt = r.dateTemplate;
        if (dt !== undefined) {
            if (dt !== this.lastDate) {
                this.dateOrder.repeat(this.sameDate, this.sameDateDistance);
                this.sameDate = 0;
                this.dateOrder.hit(dt, this.filter.lastDateDistance ?? 0);
                this.lastDate = dt;
            } else {
                this.sameDate++;
                this.sameDateDistance = this.filter.lastDateDistance ?? 0;
            }
        }
        // `--no-check-all` (the filter stops at the first match): as fail2ban-regex counts then, a line whose first
        // match is an <F-NOFAIL> hit is missed and that regex's hit not counted; a pending multi-line match stays.
        const unfailed = r.kind === "matched" && !this.filter.checkAll && r.noFail === true && !r.pending;
        if (r.kind === "matched" && r.failregexIndex !== undefined && !unfailed) {
            // A hit per address of a host name, as fail2ban-regex counts them.
            st.failHits[r.failregexIndex] += this.hostIds.of(r)?.length ?? 1;
            const also = r.alsoHits;
            if (also) for (const h of also) st.failHits[h.failregexIndex!] += this.hostIds.of(h)?.length ?? 1;
            if (this.verbose) this.verbose.hits(r);
        }
        // As fail2ban-regex: an <F-NOFAIL> hit (any of them, when every failregex is tried) makes the line ignored;
        // a multi-line match still waiting for its address is a matched line.
        const kind = unfailed ? "missed" : r.kind;
        if (kind === "ignored" || (kind === "matched" && ((r.noFail && !r.pending) || r.anyNoFail))) {
            if (r.ignoreregexIndex !== undefined) st.ignoreHits[r.ignoreregexIndex]++;
            st.ignored++;
            if (this.keepIgnored && (this.opts.printAllIgnored || st.ignored <= this.limit))
                st.ignoredLines.push(detach(line));
        } else if (kind === "matched") {
            if (this.maxlines > 1 && (r.attempts ?? 1) > 1) this.reclaim(r.attempts! - 1, skippedLines(r));
            st.matched++;
            if (this.opts.printAllMatched) st.matchedLines.push(detach(line));
        } else {
            st.missed++;
            if (this.keepMissed && (this.opts.printAllMissed || st.missed <= this.limit))
                st.missedLines.push(detach(line));
        }
        st.tested++;
        if (this.maxlines > 1) {
            this.window.push({ line, missed: kind === "missed" });
            if (this.window.length > this.maxlines) this.window.shift();
        }
    }

    /**
     * A multi-line match took in `n` earlier lines, counted as missed when they came: fail2ban-regex then moves
     * them to matched (and out of the missed listing), and so do we.
     */
    private reclaim(n: number, skipped: string[]): void {
        const st = this.stats;
        const taken: string[] = [];
        for (let k = this.window.length - 1; k >= 0 && n > 0; k--) {
            const w = this.window[k];
            // Lines a <SKIPLINES> jumped over stay in the filter's buffer: they are not part of the failure.
            const sk = skipped.findIndex(t => isLineWithoutDate(w.line, t));
            if (sk >= 0) {
                skipped.splice(sk, 1);
                continue;
            }
            n--;
            if (!w.missed) continue;
            w.missed = false;
            st.missed--;
            st.matched++;
            const at = st.missedLines.indexOf(w.line);
            if (at >= 0) st.missedLines.splice(at, 1);
            taken.push(w.line);
        }
        if (this.opts.printAllMatched)
            for (let i = taken.length - 1; i >= 0; i--) st.matchedLines.push(detach(taken[i]));
    }

    /**
     * A matched line without the hits whose host name has no address (fail2ban-regex gets no failure from them):
     * missed when none is left. Lines whose <HOST> is an address come back as they are, looked up nowhere.
     */
    private withoutUnresolved(r: LineResult): LineResult {
        const gone = (h: LineResult) => this.hostIds.of(h)?.length === 0;
        const also = r.alsoHits;
        if (!also) return gone(r) ? { kind: "missed", time: r.time, dateTemplate: r.dateTemplate } : r;
        const kept = [r, ...also].filter(h => !gone(h));
        if (kept.length === also.length + 1) return r;
        if (kept.length === 0) return { kind: "missed", time: r.time, dateTemplate: r.dateTemplate };
        const [first, ...rest] = kept;
        const line: LineResult = { ...first, dateTemplate: r.dateTemplate, prefMatched: r.prefMatched };
        delete line.alsoMatched;
        delete line.alsoHits;
        delete line.anyNoFail;
        if (rest.length) {
            line.alsoMatched = rest.map(h => h.failregexIndex!);
            line.alsoHits = rest;
        }
        if (kept.some(h => h.noFail && !h.pending)) line.anyNoFail = true;
        return line;
    }

    finish(seconds: number): RegexStats {
        this.stats.seconds = seconds;
        this.dateOrder.repeat(this.sameDate, this.sameDateDistance);
        this.sameDate = 0;
        this.stats.dateHits = this.dateOrder.list();
        if (this.verbose) this.stats.verbose = this.verbose.finish();
        return this.stats;
    }
}

/** Lines a <SKIPLINES> tag matched (as the filter saw them: date text removed). */
function skippedLines(r: LineResult): string[] {
    const out: string[] = [];
    if (!r.groups) return out;
    for (const [name, text] of Object.entries(r.groups)) {
        if (!name.startsWith("skiplines")) continue;
        for (const l of text.split("\n")) if (l !== "") out.push(l);
    }
    return out;
}

/** True if `stripped` is `line` with at most one stretch (its date) cut out. */
function isLineWithoutDate(line: string, stripped: string): boolean {
    if (stripped.length > line.length) return false;
    let p = 0;
    while (p < stripped.length && line.charCodeAt(p) === stripped.charCodeAt(p)) p++;
    return line.endsWith(stripped.slice(p));
}
