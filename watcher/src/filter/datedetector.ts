// Date detection as fail2ban's datedetector does it, with its state kept between lines: the template that found the
// last date is tried first, at the place it matched (a sticky regex, no scan), and a line with exactly the last date
// text between the same delimiters is recognised without any regex at all. Only when that fails are the templates
// searched in order, a hit farther into the line than before held in reserve (it may be a date inside the message).
// CompiledFilter asks it for each line's date span and time, then runs its regexes on the rest.

import { dateOf, DateTemplate, LocalTime } from "./dates";

/** A date older than this (seconds before "now") is not reused for a line without one. */
const RECENT_DATE_S = 60;

export class DateDetector {
    /** Where the last detected date text starts and ends in its line ([ds, de); -1 when none was found). */
    ds = -1;
    de = -1;
    /** The time of the last detected date (undefined when its text did not convert). */
    time: number | undefined;
    /** The name of the template that found the last date. */
    template: string | undefined;
    /**
     * False when the last date was the previous line's date text again: its time is used as it is, never replaced
     * by the last good date (see timeFor).
     */
    private fallback = true;
    private lastIdx = -1;
    private lastPos = 1;
    private lastBefore = -1;
    private lastAfter = -1;
    private readonly distance: number[];
    private lastDate?: number;
    // last converted date text
    private convTemplate?: DateTemplate;
    private convText = "";
    private convTime?: number;

    constructor(
        private readonly templates: DateTemplate[],
        private readonly local: LocalTime,
        private readonly tzOffset?: number,
    ) {
        this.distance = templates.map(() => Infinity);
    }

    /** Names of the date templates in search order (for diagnostics). */
    get templateNames(): string[] {
        return this.templates.map(t => t.name);
    }

    /** The templates, in search order (fail2ban-regex -v lists them all). */
    get templateList(): readonly DateTemplate[] {
        return this.templates;
    }

    /** Where the last date's template match began: fail2ban's "distance" (0 for line-start templates). */
    get lastDistance(): number {
        const t = this.lastIdx >= 0 ? this.templates[this.lastIdx] : undefined;
        return t === undefined || t.anchored ? 0 : Math.max(0, this.ds);
    }

    /**
     * Finds the date of `line`: true when a template matched (ds/de, time and template are then set; ds === de
     * for a template that matched no text), false when none did (time is then the last date if recent).
     */
    detect(line: string, now: number): boolean {
        const same = this.sameDateAsLast(line);
        if (same >= 0) {
            // Exactly the last converted date text, between the same closing delimiters: no regex needed.
            const t = this.convTemplate!;
            this.ds = same;
            this.de = same + this.convText.length;
            this.lastPos = same;
            this.distance[this.lastIdx] = same;
            this.time = this.convTime;
            if (this.time !== undefined) this.lastDate = this.time;
            this.template = t.name;
            this.fallback = false;
            return true;
        }
        this.fallback = true;
        const hit = this.matchTime(line);
        if (!hit) {
            this.template = undefined;
            this.time = undefined;
            return false;
        }
        const t = this.templates[hit.i];
        this.template = t.name;
        if (this.de > this.ds) {
            // Many lines share one timestamp: convert each distinct date text once (only for dates that
            // carry their year, whose value does not depend on "now").
            const len = this.de - this.ds;
            if (t === this.convTemplate && len === this.convText.length && line.startsWith(this.convText, this.ds)) {
                this.time = this.convTime;
            } else {
                this.time = dateOf(t, hit.m, now, this.local, this.tzOffset);
                if (t.g.Y || t.g.y) {
                    this.convTemplate = t;
                    this.convText = line.slice(this.ds, this.de);
                    this.convTime = this.time;
                } else this.convTemplate = undefined;
            }
            if (this.time !== undefined) this.lastDate = this.time;
        } else {
            // The template matched nothing: the date is optional here; use the last one if recent, else now.
            this.time = this.lastDate !== undefined && this.lastDate > now - RECENT_DATE_S ? this.lastDate : now;
        }
        return true;
    }

    /**
     * The time to give the line's failure: the detected one, else (unless the date text was the previous line's
     * again) the last date if recent.
     */
    timeFor(now: number): number | undefined {
        if (this.time !== undefined || !this.fallback) return this.time;
        return this.lastDate !== undefined && this.lastDate > now - RECENT_DATE_S ? this.lastDate : undefined;
    }

    /** A line whose time is known without detection (journal entries): the date later lines without one reuse. */
    setLastDate(time: number): void {
        this.lastDate = time;
    }

    /** Finds the date: sets ds/de and returns the winning template's index and match, or null. */
    private matchTime(line: string): { i: number; m: RegExpExecArray } | null {
        const T = this.templates;
        const last = this.lastIdx;
        let reserve: { i: number; m: RegExpExecArray } | null = null;
        if (last >= 0) {
            const t = T[last];
            if (!t.anchored && !t.needIndices) {
                // Fast path: the same template at the same place, or right after the same boundary character
                // (the date moves when the address before it is longer); checked with a sticky regex, no scan.
                const m = this.stickyAt(t, line, this.lastPos) ?? this.stickyAfterBoundary(t, line);
                if (m) return this.accept(last, m, line);
            }
            const m = t.search.exec(line);
            if (m) {
                if (t.anchored || T.length === 1) return this.accept(last, m, line);
                this.span(t, m);
                if (m.index === this.lastPos) return this.accept(last, m, line);
                reserve = { i: last, m };
            }
        }
        for (let i = 0; i < T.length; i++) {
            if (i === last) continue;
            const t = T[i];
            const m = t.search.exec(line);
            if (!m) continue;
            if (i + 1 >= T.length || t.anchored) return this.accept(i, m, line);
            const d = m.index;
            if (d > this.distance[i] || d > this.lastPos) {
                if (!reserve || d < reserve.m.index) reserve = { i, m };
                continue;
            }
            return this.accept(i, m, line);
        }
        if (reserve) return this.accept(reserve.i, reserve.m, line);
        this.ds = this.de = -1;
        return null;
    }

    /**
     * Where the last converted date text appears again at the same spot (right after the same opening
     * character, before the same closing one), or -1. Only for closing characters no date template can
     * continue with (`]`, `"`), so the regex could not have matched more text there.
     */
    private sameDateAsLast(line: string): number {
        const t = this.convTemplate;
        if (t === undefined || !t.closedBy.includes(this.lastAfter) || this.templates[this.lastIdx] !== t) return -1;
        const text = this.convText;
        let at = this.lastPos;
        if (!(line.startsWith(text, at) && line.charCodeAt(at - 1) === this.lastBefore)) {
            if (this.lastBefore !== this.lastBefore) return -1;
            at = line.indexOf(String.fromCharCode(this.lastBefore)) + 1;
            if (at <= 0 || !line.startsWith(text, at)) return -1;
        }
        if (line.charCodeAt(at + text.length) !== this.lastAfter) return -1;
        // The template's left boundary: a non-word character before (or line start) - the opening char is one.
        return at;
    }

    private stickyAt(t: DateTemplate, line: string, pos: number): RegExpExecArray | null {
        if (pos < 0 || pos >= line.length) return null;
        t.sticky.lastIndex = pos;
        return t.sticky.exec(line);
    }

    private stickyAfterBoundary(t: DateTemplate, line: string): RegExpExecArray | null {
        const before = this.lastBefore;
        if (before < 0 || before !== before) return null;
        const ch = String.fromCharCode(before);
        let from = 0;
        for (let tries = 0; tries < 4; tries++) {
            const at = line.indexOf(ch, from);
            if (at < 0) return null;
            from = at + 1;
            if (at + 1 === this.lastPos) continue;
            const m = this.stickyAt(t, line, at + 1);
            if (m) {
                this.span(t, m);
                if (
                    line.charCodeAt(this.de) === this.lastAfter ||
                    (this.de === line.length && this.lastAfter !== this.lastAfter)
                )
                    return m;
            }
        }
        return null;
    }

    private span(t: DateTemplate, m: RegExpExecArray): void {
        if (t.needIndices) {
            const ix = (m as RegExpExecArray & { indices?: Array<[number, number] | undefined> }).indices?.[t.span];
            if (ix) {
                this.ds = ix[0];
                this.de = ix[1];
            } else {
                this.ds = this.de = m.index;
            }
        } else {
            this.de = m.index + m[0].length;
            this.ds = this.de - (m[t.span]?.length ?? 0);
        }
    }

    private accept(i: number, m: RegExpExecArray, line: string): { i: number; m: RegExpExecArray } {
        this.span(this.templates[i], m);
        this.lastIdx = i;
        this.lastPos = m.index;
        this.distance[i] = m.index;
        this.lastBefore = line.charCodeAt(this.ds - 1);
        this.lastAfter = line.charCodeAt(this.de);
        return { i, m };
    }
}
