// The compiled filter: date removal, prefregex, failregex/ignoreregex, multi-line buffering and fail2ban's
// multi-line failure ids (F-MLFID), around the date its DateDetector finds (datedetector.ts). Feed it lines in log
// order.

import { ConfigError, Filter, FilterDefinition, LineResult } from "../types";
import "./backtracking"; // bounds catastrophic backtracking before any filter regex is compiled
import { DateDetector } from "./datedetector";
import { dateTemplates, DateTemplate, LocalTime, systemLocalTime, zoneOffset } from "./dates";
import { globalToLocalFlags, PyRegexError, translatePyRegex } from "./pyregex";
import { expandTags } from "./tags";

export interface CompileOptions {
    /** fail2ban's usedns: "no" makes `<HOST>` match addresses only. Default: the filter's, else "warn". */
    useDns?: string;
    /** Local wall-clock -> epoch for lines without a zone (default: this process's time zone). */
    localTime?: LocalTime;
    /**
     * fail2ban's `logtimezone` (e.g. `UTC`, `UTC+0200`, `CET`): fixed zone for lines without one. Default: the
     * definition's `options.logtimezone` (loadFilter copies the jail's), else local time.
     */
    logTimeZone?: string;
    /**
     * Try every failregex on a line, not only up to the first that matches (fail2ban-regex's default; the server,
     * like fail2ban's, stops at the first). The first match is the result; the others are in `alsoMatched`.
     */
    checkAllRegex?: boolean;
}

/** A Python-syntax regex compiled to one or more JavaScript regexes (more only for conditionals). */
class PyRe {
    readonly variants: RegExp[];
    readonly index: Array<Map<string, number>>;
    readonly names: string[];
    /** alt_xxx / alt_xxx_N groups merged into xxx when that is empty (fail2ban's F-ALT_ tags). */
    readonly alts: Array<[string, string]>;
    /** Literal text every match contains (cheap reject with indexOf), and whether matches start with it. */
    readonly required: string;
    private readonly fromRequired?: RegExp;
    /** Group names and JS indices of the single variant, as flat arrays (no Map iteration per match). */
    readonly flatNames: string[] = [];
    readonly flatIdx: number[] = [];
    readonly hostIdx: number[];
    readonly fidIdx: number;
    readonly userIdx: number;
    readonly nofailIdx: number;
    /** No F-MLFID, no F-ALT_, one variant: results can be built straight from the match. */
    readonly simple: boolean;
    constructor(
        readonly source: string,
        multiline: boolean,
        useDns: string,
        what: string,
    ) {
        const expanded = globalToLocalFlags(expandTags(source, useDns));
        let tr;
        try {
            tr = translatePyRegex(expanded, { multiline });
        } catch (e) {
            if (e instanceof PyRegexError) throw new Error(`${what} ${JSON.stringify(source)}: ${e.message}`);
            throw e;
        }
        this.variants = tr.sources.map(s => new RegExp(s, tr.flags));
        this.index = tr.groupIndex;
        this.names = tr.names;
        this.required = tr.required.length >= 3 ? tr.required : "";
        if (this.required && tr.startsWithRequired) this.fromRequired = new RegExp(tr.sources[0], tr.flags + "g");
        this.alts = [];
        for (const n of this.names) {
            const m = /^alt_(.*?)(?:_\d+)?$/.exec(n);
            if (m) this.alts.push([n, m[1] === "id" ? "fid" : m[1] === "port" ? "fport" : m[1]]);
        }
        this.alts.sort((a, b) => (a[0] < b[0] ? -1 : 1));
        for (const [n, i] of this.index[0]) {
            this.flatNames.push(n);
            this.flatIdx.push(i);
        }
        const at = (n: string) => this.index[0].get(n) ?? 0;
        this.hostIdx = ["ip4", "ip6", "dns"].map(at).filter(i => i > 0);
        this.fidIdx = at("fid");
        this.userIdx = at("user");
        this.nofailIdx = at("nofail");
        this.simple = this.variants.length === 1 && this.alts.length === 0 && !this.names.includes("mlfid");
        // Matches begin with the required literal and never look behind their start (the only lookbehind
        // allowed is IPv6's one-character `(?<=:)`, which follows a consumed `:`): such a regex gives the same
        // match on the line itself as on the line with its date cut out, when the match lies after the date.
        const lookbehinds = tr.sources[0].split("(?<=:)").join("");
        this.direct = this.simple && !multiline && !!this.fromRequired && !/\(\?<[=!]/.test(lookbehinds);
        this.requiredChars = new Set([...this.required].map(c => c.charCodeAt(0)));
    }

    readonly direct: boolean;
    private readonly requiredChars: Set<number>;

    /**
     * Runs the regex on `line` as if [ds, de) were cut out, without building that string. Returns the match,
     * null for no match, or undefined when this shortcut cannot decide (the caller then builds the cut line).
     */
    execAfterCut(line: string, ds: number, de: number): RegExpExecArray | null | undefined {
        const lit = this.required;
        const first = line.indexOf(lit);
        if (first >= 0 && first < ds) return undefined; // an earlier hit before the date
        const L = lit.length;
        // A hit formed across the cut would come first in the cut line.
        if (
            ds > 0 &&
            de < line.length &&
            this.requiredChars.has(line.charCodeAt(ds - 1)) &&
            this.requiredChars.has(line.charCodeAt(de))
        ) {
            const seam = line.slice(Math.max(0, ds - L + 1), ds) + line.slice(de, de + L - 1);
            if (seam.indexOf(lit) >= 0) return undefined;
        }
        const at = first >= de ? first : first < 0 ? -1 : line.indexOf(lit, de);
        if (at < 0) return null;
        const re = this.fromRequired!;
        re.lastIndex = at;
        return re.exec(line);
    }
    has(name: string): boolean {
        return this.names.includes(name);
    }
    /** First match (earliest start; for conditional variants the first variant among equals). */
    exec(buf: string): { m: RegExpExecArray; v: number } | null {
        const vs = this.variants;
        if (vs.length === 1) {
            let m: RegExpExecArray | null;
            if (this.required) {
                const at = buf.indexOf(this.required);
                if (at < 0) return null;
                if (this.fromRequired) {
                    this.fromRequired.lastIndex = at;
                    m = this.fromRequired.exec(buf);
                } else m = vs[0].exec(buf);
            } else m = vs[0].exec(buf);
            return m ? { m, v: 0 } : null;
        }
        let best: { m: RegExpExecArray; v: number } | null = null;
        for (let v = 0; v < vs.length; v++) {
            const m = vs[v].exec(buf);
            if (m && (!best || m.index < best.m.index)) best = { m, v };
        }
        return best;
    }
    test(buf: string): boolean {
        if (this.required && buf.indexOf(this.required) < 0) return false;
        for (const r of this.variants) if (r.test(buf)) return true;
        return false;
    }
    /** Named groups that took part, as fail2ban's groupdict (without the Nones), with F-ALT_ merged. */
    groups(r: { m: RegExpExecArray; v: number }): Record<string, string> {
        const out: Record<string, string> = {};
        for (const [name, idx] of this.index[r.v]) {
            const v = r.m[idx];
            if (v !== undefined) out[name] = v;
        }
        for (const [alt, target] of this.alts) {
            const v = out[alt];
            if (v && !out[target]) out[target] = v;
        }
        return out;
    }
    /** Every named group in Python order, undefined where it took no part (Python's groupdict, for display). */
    groupList(r: { m: RegExpExecArray; v: number }): Array<[string, string | undefined]> {
        const idx = this.index[r.v];
        const out: Array<[string, string | undefined]> = this.names.map(n => {
            const i = idx.get(n);
            return [n, i === undefined ? undefined : r.m[i]];
        });
        for (const [alt, target] of this.alts) {
            const v = out.find(e => e[0] === alt)?.[1];
            if (!v) continue;
            const t = out.find(e => e[0] === target);
            if (!t) out.push([target, v]);
            else if (!t[1]) t[1] = v;
        }
        return out;
    }
}

const FAILURE_ID_GROUPS = ["fid", "ip4", "ip6", "dns", "mlfid"];

/** What one failregex/ignoreregex is shown as by the regex tester: the configured text, tags included. */
export function failRegexDisplay(def: FilterDefinition): string[] {
    return def.failregex.slice();
}
export function ignoreRegexDisplay(def: FilterDefinition): string[] {
    return def.ignoreregex.slice();
}

interface MlfidEntry {
    fail: Record<string, unknown>;
    time: number;
}

const MLFID_MAX = 100;
const MLFID_TTL = 300;

export class CompiledFilter implements Filter {
    readonly failRegexDisplay: string[];
    private readonly fail: PyRe[];
    private readonly ignore: PyRe[];
    private readonly pref?: PyRe;
    /** The date of each line (template search and its state between lines: datedetector.ts). */
    private readonly dates: DateDetector;
    private readonly quickReject: boolean;
    /** Plain single-line filter whose failregexes can run on the line itself around the date (see PyRe.direct). */
    private readonly directMode: boolean;
    private readonly maxlines: number;
    // multi-line state
    private buffer: string[] = [];
    private readonly mlfid = new Map<string, MlfidEntry>();
    readonly checkAll: boolean;
    /** Set only by `jailwatch regex -v`: gets the prefregex's groups of every line it matched. */
    private prefWatch?: (groups: Array<[string, string | undefined]>) => void;
    private lastPref?: Array<[string, string | undefined]>;

    constructor(
        readonly definition: FilterDefinition,
        opts: CompileOptions = {},
    ) {
        const def = definition;
        const useDns = opts.useDns ?? def.options.usedns ?? "warn";
        this.checkAll = opts.checkAllRegex ?? false;
        this.maxlines = def.maxlines ?? 1;
        const multiline = this.maxlines > 1;
        const where = (key: string) => def.origins?.[key] ?? { file: `filter ${def.name}`, key };
        const compile = (src: string, what: string, ml = multiline) => {
            try {
                return new PyRe(src, ml, useDns, what);
            } catch (e) {
                throw new ConfigError(where(what), (e as Error).message);
            }
        };
        // fail2ban compiles the prefregex without MULTILINE whatever maxlines is: on a buffer of several lines its
        // ^ and $ hold only at the buffer's ends, so it matches a buffer of one line only.
        this.pref = def.prefregex !== undefined ? compile(def.prefregex, "prefregex", false) : undefined;
        this.fail = def.failregex.map(r => compile(r, "failregex"));
        this.ignore = def.ignoreregex.map(r => compile(r, "ignoreregex"));
        const prefIds = this.pref ? FAILURE_ID_GROUPS.some(g => this.pref!.has(g)) : false;
        this.fail.forEach((r, i) => {
            if (!prefIds && !FAILURE_ID_GROUPS.some(g => r.has(g))) {
                throw new ConfigError(
                    where("failregex"),
                    `no failure-id group (<HOST>, <ADDR>, <F-ID>, ...) in ${JSON.stringify(def.failregex[i])}`,
                );
            }
        });
        let templates: DateTemplate[];
        try {
            templates = dateTemplates(def.datepattern);
        } catch (e) {
            throw new ConfigError(where("datepattern"), (e as Error).message);
        }
        let tzOffset: number | undefined;
        const ltz = opts.logTimeZone ?? def.options.logtimezone;
        if (ltz !== undefined) {
            const off = zoneOffset(ltz.replace(/^(UTC|GMT)(?=[+-])/, ""));
            if (off === undefined)
                throw new ConfigError(
                    { file: `filter ${def.name}`, key: "logtimezone" },
                    `unknown or unsupported time zone ${JSON.stringify(ltz)} (use UTC, UTC+0200, CET, ...)`,
                );
            tzOffset = off;
        }
        this.dates = new DateDetector(templates, opts.localTime ?? systemLocalTime, tzOffset);
        this.failRegexDisplay = failRegexDisplay(def);
        // Multi-line buffers and prefregex change what the failregexes see; only plain single-line filters
        // whose every failregex needs some literal text can be rejected early.
        this.quickReject = !multiline && !this.pref && this.fail.length > 0 && this.fail.every(r => r.required !== "");
        this.directMode =
            !multiline &&
            !this.pref &&
            this.ignore.length === 0 &&
            this.fail.length > 0 &&
            this.fail.every(r => r.direct);
    }

    /** Names of the date templates in search order (for diagnostics). */
    get dateTemplateNames(): string[] {
        return this.dates.templateNames;
    }

    get dateTemplateList(): readonly DateTemplate[] {
        return this.dates.templateList;
    }

    /** Where the last line's date template matched (see DateDetector.lastDistance). */
    get lastDateDistance(): number {
        return this.dates.lastDistance;
    }

    watchPrefregex(cb: (groups: Array<[string, string | undefined]>) => void): void {
        this.prefWatch = cb;
    }

    processLine(line: string, now?: number): LineResult {
        if (now === undefined) now = Date.now() / 1000;
        const d = this.dates;
        let text = line;
        if (d.detect(line, now)) {
            const ds = d.ds,
                de = d.de;
            if (de > ds) {
                if (this.directMode) {
                    const r = this.findDirect(line, d.time, d.template);
                    if (r !== undefined) return r;
                }
                if (this.cannotMatch(line)) return { kind: "missed", time: d.time, dateTemplate: d.template };
                text =
                    ds === 0
                        ? line.slice(de)
                        : de === line.length
                          ? line.slice(0, ds)
                          : line.slice(0, ds) + line.slice(de);
            }
        }
        return this.findFailure(text, d.timeFor(now), d.template);
    }

    /** findFailure for directMode filters without building the cut line; undefined when it cannot decide. */
    private findDirect(
        line: string,
        time: number | undefined,
        dateTemplate: string | undefined,
    ): LineResult | undefined {
        const fails = this.fail;
        const ds = this.dates.ds,
            de = this.dates.de;
        for (let i = 0; i < fails.length; i++) {
            const m = fails[i].execAfterCut(line, ds, de);
            if (m === undefined) return undefined;
            if (m !== null) return this.simpleResult(fails[i], m, i, time, dateTemplate);
        }
        return { kind: "missed", time, dateTemplate };
    }

    /**
     * True when no failregex can match the line once its date [ds, de) is cut out, judged from the literal text
     * each failregex requires: absent from the line and not formed across the cut. Saves building the cut line.
     */
    private cannotMatch(line: string): boolean {
        if (!this.quickReject) return false;
        const fails = this.fail;
        const ds = this.dates.ds,
            de = this.dates.de;
        for (let i = 0; i < fails.length; i++) {
            const lit = fails[i].required;
            if (line.indexOf(lit) >= 0) return false;
            // Could the cut join two pieces into the literal? Look at the seam only.
            const a = Math.max(0, ds - lit.length + 1);
            const seam = line.slice(a, ds) + line.slice(de, de + lit.length - 1);
            if (seam.indexOf(lit) >= 0) return false;
        }
        return true;
    }

    /**
     * A line whose time is already known (journal entries): no date detection, nothing cut out.
     */
    processLineAt(line: string, time: number): LineResult {
        this.dates.setLastDate(time);
        return this.findFailure(line, time, undefined);
    }

    private findFailure(text: string, time: number | undefined, dateTemplate: string | undefined): LineResult {
        let buf: string;
        const multi = this.maxlines > 1;
        if (multi) {
            this.buffer.push(text);
            if (this.buffer.length > this.maxlines) this.buffer.splice(0, this.buffer.length - this.maxlines);
            buf = this.buffer.join("\n") + "\n";
        } else {
            buf = text;
        }
        if (!this.pref) return this.findAfterPref(buf, multi, undefined, time, dateTemplate);
        // Python's $ also holds before a final newline; JavaScript's only at the end: search without it.
        const pm = this.pref.exec(multi ? buf.slice(0, -1) : buf);
        if (this.prefWatch) this.notePref(buf, pm);
        if (!pm) return { kind: "missed", time, dateTemplate, prefMatched: false };
        const pre = this.pref.groups(pm);
        const content = pre.content;
        delete pre.content;
        if (content) {
            // The content alone becomes the buffer; a multi-line buffer is matched with its newline after each
            // line (as fail2ban joins it), which is also how matchedLines finds the lines a match took.
            if (multi) {
                this.buffer = [content];
                buf = content + "\n";
            } else buf = content;
        }
        // Every result past this point is a fresh object: tag it for fail2ban-regex's "Prefregex: N total".
        const res = this.findAfterPref(buf, multi, pre, time, dateTemplate);
        res.prefMatched = true;
        return res;
    }

    /** Hands the prefregex groups of a line to prefWatch, as fail2ban-regex -v records them. */
    private notePref(buf: string, pm: { m: RegExpExecArray; v: number } | null): void {
        // With fewer ignoreregexes than failregexes - 2, fail2ban tries them on the line first and, on a hit,
        // never runs its prefregex: fail2ban-regex then records the previous line's groups once more.
        const early = this.ignore.length > 0 && this.ignore.length < this.fail.length - 2;
        if (early && this.ignore.some(r => r.test(buf))) {
            if (this.lastPref) this.prefWatch!(this.lastPref);
            return;
        }
        this.lastPref = pm ? this.pref!.groupList(pm) : undefined;
        if (this.lastPref) this.prefWatch!(this.lastPref);
    }

    /** The failregex/ignoreregex stage, on the text the prefregex (if any) left, with its groups in `pre`. */
    private findAfterPref(
        buf: string,
        multi: boolean,
        pre: Record<string, string> | undefined,
        time: number | undefined,
        dateTemplate: string | undefined,
    ): LineResult {
        const fails = this.fail;
        let first: LineResult | undefined;
        for (let i = 0; i < fails.length; i++) {
            const r = fails[i].exec(buf);
            if (!r) continue;
            const lines = multi ? this.matchedLines(buf, r, fails[i]) : undefined;
            if (this.ignore.length) {
                const target = lines ? lines.matched.join("\n") + "\n" : buf;
                for (let k = 0; k < this.ignore.length; k++) {
                    if (this.ignore[k].test(target)) {
                        if (lines) this.buffer = lines.unmatched;
                        return { kind: "ignored", ignoreregexIndex: k, failregexIndex: i, time, dateTemplate };
                    }
                }
            }
            if (lines) this.buffer = lines.unmatched;
            if (!multi && !pre && fails[i].simple) {
                const res = this.simpleResult(fails[i], r.m, i, time, dateTemplate);
                if (!this.checkAll) return res;
                first = collectHit(first, res);
                continue;
            }
            let fail: Record<string, unknown> = fails[i].groups(r);
            if (pre) fail = { ...pre, ...fail };
            const matched = lines ? lines.matched : [buf];
            const mlfid = fail.mlfid as string | undefined;
            let res: LineResult;
            if (mlfid !== undefined) fail = this.mergeFailure(mlfid, fail, matched);
            else fail.matches = [...((fail.matches as string[] | undefined) ?? []), ...matched];
            const ip = (fail.ip4 ?? fail.ip6 ?? fail.dns ?? fail.fid) as string | undefined;
            if (mlfid !== undefined && fail.nofail) res = this.result(fail, i, time, dateTemplate, true);
            else if (ip === undefined) {
                // Multi-line failure still waiting for its address (e.g. sshd's connection id before "from <HOST>"):
                // no failure yet, yet a match (fail2ban-regex counts the line as matched).
                fail.mlfpending = 1;
                res = this.result(fail, i, time, dateTemplate, true);
                res.pending = true;
            } else res = this.result(fail, i, time, dateTemplate, !!fail.nofail);
            if (!this.checkAll) return res;
            first = collectHit(first, res);
        }
        return first ?? { kind: "missed", time, dateTemplate };
    }

    /** The common case (one line, no prefregex, no multi-line id): straight from the match. */
    private simpleResult(
        re: PyRe,
        m: RegExpExecArray,
        i: number,
        time: number | undefined,
        dateTemplate: string | undefined,
    ): LineResult {
        const groups: Record<string, string> = {};
        const names = re.flatNames,
            idx = re.flatIdx;
        for (let k = 0; k < names.length; k++) {
            const v = m[idx[k]];
            if (v !== undefined) groups[names[k]] = v;
        }
        let host: string | undefined;
        for (let k = 0; k < re.hostIdx.length && host === undefined; k++) host = m[re.hostIdx[k]];
        const fid = re.fidIdx ? m[re.fidIdx] : undefined;
        const res: LineResult = {
            kind: "matched",
            failregexIndex: i,
            time,
            dateTemplate,
            groups,
            host: host ?? fid,
            attempts: 1,
        };
        if (fid !== undefined) res.fid = fid;
        if (re.userIdx && m[re.userIdx] !== undefined) res.user = m[re.userIdx];
        if (res.host === undefined || (re.nofailIdx && m[re.nofailIdx])) res.noFail = true;
        return res;
    }

    private result(
        fail: Record<string, unknown>,
        i: number,
        time: number | undefined,
        dateTemplate: string | undefined,
        noFail: boolean,
    ): LineResult {
        const host = (fail.ip4 ?? fail.ip6 ?? fail.dns ?? fail.fid) as string | undefined;
        const groups: Record<string, string> = {};
        for (const [k, v] of Object.entries(fail)) if (typeof v === "string") groups[k] = v;
        const res: LineResult = { kind: "matched", failregexIndex: i, time, dateTemplate, groups };
        if (host !== undefined) res.host = host;
        if (fail.fid !== undefined) res.fid = fail.fid as string;
        if (fail.user !== undefined) res.user = fail.user as string;
        if (fail.users instanceof Set) res.users = [...(fail.users as Set<string>)];
        if (Array.isArray(fail.matches)) res.attempts = (fail.matches as string[]).length;
        if (noFail) res.noFail = true;
        return res;
    }

    /** Lines of the buffer the match touched, and the rest (fail2ban keeps the rest for later matches). */
    private matchedLines(
        buf: string,
        r: { m: RegExpExecArray; v: number },
        re: PyRe,
    ): { matched: string[]; unmatched: string[] } {
        const m = r.m;
        const lines = this.buffer;
        const start = m.index;
        const end = m.index + m[0].length;
        const lineStart = buf.lastIndexOf("\n", start) + 1; // start of the first matched line
        let lineEnd = buf.indexOf("\n", Math.max(end - 1, 0));
        lineEnd = lineEnd < 0 ? buf.length : lineEnd + 1;
        const count = (upto: number) => {
            let n = 0;
            for (let p = buf.indexOf("\n"); p >= 0 && p < upto; p = buf.indexOf("\n", p + 1)) n++;
            return n;
        };
        const l1 = count(lineStart);
        const l2 = count(lineEnd);
        let matched = lines.slice(l1, l2);
        const unmatched = lines.slice(0, l1);
        // Lines swallowed by <SKIPLINES> do not belong to the failure.
        const skipped: string[] = [];
        for (const [name, idx] of re.index[r.v]) {
            if (!name.startsWith("skiplines") || m[idx] === undefined) continue;
            skipped.push(...m[idx].split("\n").filter(s => s !== ""));
        }
        if (skipped.length) {
            const rest: string[] = [];
            for (const l of matched) {
                const at = skipped.indexOf(l);
                if (at >= 0) {
                    skipped.splice(at, 1);
                    unmatched.push(l);
                } else rest.push(l);
            }
            matched = rest;
        }
        unmatched.push(...lines.slice(l2));
        return { matched, unmatched };
    }

    /** fail2ban's merge of failures sharing a multi-line failure id (connection id and the like). */
    private mergeFailure(mlfid: string, fail: Record<string, unknown>, matched: string[]): Record<string, unknown> {
        let cached = this.mlfid.get(mlfid);
        // Like fail2ban's cache: an id is forgotten 5 minutes (wall clock) after it was first seen.
        const wall = Date.now() / 1000;
        if (cached && wall > cached.time + MLFID_TTL) {
            this.mlfid.delete(mlfid);
            cached = undefined;
        }
        let users: Set<string> | undefined;
        let fl = 0;
        if (fail.mlfgained) {
            fl |= 8 | 1;
            if (!fail.nofail) fail.nofail = fail.mlfgained;
        } else if (fail.nofail) fl |= 1;
        if (pop(fail, "mlfforget")) fl |= 2;
        if (cached) {
            const g = cached.fail;
            users = addUser(g, fail.user as string | undefined);
            if (pop(g, "nofail")) fl |= 4;
            if (pop(g, "mlfgained")) fl |= 4;
            if (fl & 8) delete g.mlfpending;
            if ((fl & 4) === 0 && !g.mlfpending) delete g.matches;
            for (const [k, v] of Object.entries(fail)) if (v !== undefined && v !== null) g[k] = v;
            fail = g;
            if (fl & 2) this.mlfid.delete(mlfid);
        } else if (!(fl & 2)) {
            users = addUser(fail, fail.user as string | undefined);
            if (this.mlfid.size >= MLFID_MAX) this.mlfid.delete(this.mlfid.keys().next().value as string);
            this.mlfid.set(mlfid, { fail, time: wall });
        }
        if (pop(fail, "mlfpending") || (users && users.size > 1)) {
            delete fail.nofail;
            delete fail.mlfgained;
            fl &= ~(8 | 1);
        }
        if ((fl & 1) === 0) {
            const m = [
                ...((pop(fail, "nofail-matches") as string[] | undefined) ?? []),
                ...((fail.matches as string[] | undefined) ?? []),
            ];
            if ((fl & 8) === 0) m.push(...matched);
            fail.matches = m;
        } else if ((fl & 3) === 1) {
            fail["nofail-matches"] = [...((fail["nofail-matches"] as string[] | undefined) ?? []), ...matched];
        }
        return fail;
    }
}

function pop(o: Record<string, unknown>, k: string): unknown {
    const v = o[k];
    delete o[k];
    return v;
}

function addUser(fail: Record<string, unknown>, user: string | undefined): Set<string> | undefined {
    let users = fail.users as Set<string> | undefined;
    if (user) {
        if (!users) fail.users = users = new Set();
        users.add(user);
    }
    return users;
}

/** Compiles a filter definition; throws ConfigError (naming the filter and key) for a regex JS cannot express. */
/** checkAllRegex: the first match is the line's result; later ones are noted on it (fail2ban-regex's counts). */
function collectHit(first: LineResult | undefined, res: LineResult): LineResult {
    if (!first) first = res;
    else {
        (first.alsoMatched ??= []).push(res.failregexIndex!);
        (first.alsoHits ??= []).push(res);
        if (res.noFail && !res.pending) first.anyNoFail = true;
    }
    if (first.noFail && !first.pending) first.anyNoFail = true;
    return first;
}

export function compileFilter(def: FilterDefinition, opts?: CompileOptions): CompiledFilter {
    return new CompiledFilter(def, opts);
}
