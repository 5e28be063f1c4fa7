// The work behind `jailwatch regex`: feed lines to a compiled filter and keep fail2ban-regex's statistics.
// Hot path: no per-line allocation beyond the line slice itself and what the filter does; lines are kept only
// when they will be printed (at most maxlines + 1 of each kind unless --print-all-*).

import { expandTags } from "../filter/tags";
import type { Filter, LineResult } from "../types";
import type { RegexStats } from "./report";

export interface RunOptions {
    maxlines: number;
    printAllMatched: boolean;
    printAllMissed: boolean;
    printAllIgnored: boolean;
    printNoMissed: boolean;
    printNoIgnored: boolean;
    /** `-o ip`: called with each matched (not ignored) line's address instead of collecting statistics. */
    onMatchOut?: (r: LineResult, line: string) => void;
}

/** Copies a line out of its chunk so a kept line does not pin the whole decoded chunk in memory. */
function detach(s: string): string {
    return Buffer.from(s, "utf8").toString("utf8");
}

export class RegexRun {
    readonly stats: RegexStats;
    private readonly dateCounts = new Map<string, { n: number }>();
    private lastDate: string | undefined;
    private lastDateCount: { n: number } = { n: 0 };
    private readonly keepMissed: boolean;
    private readonly keepIgnored: boolean;
    private readonly limit: number;
    /** One "now" for the whole run (fills in year-less dates), instead of a clock read per line. */
    private readonly now = Date.now() / 1000;

    constructor(private readonly filter: Filter, private readonly opts: RunOptions) {
        const def = filter.definition;
        this.stats = {
            failregex: def.failregex.slice(),
            failHits: def.failregex.map(() => 0),
            ignoreregex: def.ignoreregex.slice(),
            ignoreHits: def.ignoreregex.map(() => 0),
            // Shown as fail2ban-regex shows it: with the tags expanded.
            prefregex: def.prefregex === undefined ? undefined : expandTags(def.prefregex, def.options.usedns ?? "warn"),
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
    }

    /** One counted line (already stripped of "\r\n"; empty and "#" lines never get here). */
    line(line: string): void {
        const r = this.filter.processLine(line, this.now);
        const st = this.stats;
        const out = this.opts.onMatchOut;
        if (out) {
            if (r.kind === "matched" && !r.noFail) out(r, line);
            return;
        }
        const dt = r.dateTemplate;
        if (dt !== undefined) {
            if (dt !== this.lastDate) {
                let c = this.dateCounts.get(dt);
                if (!c) this.dateCounts.set(dt, (c = { n: 0 }));
                this.lastDate = dt;
                this.lastDateCount = c;
            }
            this.lastDateCount.n++;
        }
        if (st.prefregex !== undefined) {
            // fail2ban-regex counts lines the prefregex matched. A filter that reports it sets `prefMatched`;
            // otherwise the lines that got past it to a failregex/ignoreregex hit are counted (a lower bound).
            const pm = (r as LineResult & { prefMatched?: boolean }).prefMatched;
            if (pm ?? r.kind !== "missed") st.prefHits++;
        }
        if (r.kind === "matched" && r.failregexIndex !== undefined) st.failHits[r.failregexIndex]++;
        if (r.kind === "ignored" || (r.kind === "matched" && r.noFail)) {
            if (r.ignoreregexIndex !== undefined) st.ignoreHits[r.ignoreregexIndex]++;
            st.ignored++;
            if (this.keepIgnored && (this.opts.printAllIgnored || st.ignored <= this.limit)) st.ignoredLines.push(detach(line));
        } else if (r.kind === "matched") {
            st.matched++;
            if (this.opts.printAllMatched) st.matchedLines.push(detach(line));
        } else {
            st.missed++;
            if (this.keepMissed && (this.opts.printAllMissed || st.missed <= this.limit)) st.missedLines.push(detach(line));
        }
        st.tested++;
    }

    finish(seconds: number): RegexStats {
        this.stats.seconds = seconds;
        this.stats.dateHits = [...this.dateCounts].map(([name, c]) => [name, c.n]);
        return this.stats;
    }
}
