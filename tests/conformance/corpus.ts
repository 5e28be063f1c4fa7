// Runs jailwatch's filters against fail2ban's own sample logs and checks every `# failJSON:` expectation,
// reading the annotations the way fail2ban's tests/samplestestcase.py does:
//   - `# failJSON: {...}` describes the next line: "match" (default false), "host" (compared with the failure id),
//     "time" (local time in the tests' zone), any other key (user, users, attempts, custom F-tags) compared with
//     the captured value; "desc" is a comment; "constraint" is a condition on `name`/`opts`, the line is skipped
//     for option sets where it is false.
//   - `# filterOptions: {...}` or `[{...}, ...]` starts a block checked with each option set (e.g. mode=aggressive);
//     `test.condition` disables the block for other filters; other `test.*` keys are not filter options.
//   - `# fileOptions: {...}` are merged into every later option set; `# addFILE: "name"` appends another log.
//   - filters are cached per option set for the whole run (so multi-line state carries over, as in fail2ban).
//   - "now" is 2005-08-14 10:00:00 UTC, the zone is CET/CEST (fail2ban sets TZ=CET-01CEST-02,M3.5.0,M10.5.0).
//   - logtype "journal" lines have no date: they get "now" as their time, like fail2ban's journal backend.

import * as fs from "fs";
import * as path from "path";
import { loadFilter } from "../../watcher/src/config/reader";
import { compileFilter, CompiledFilter } from "../../watcher/src/filter/filter";
import type { LineResult } from "../../watcher/src/types";

export const CONFIG_DIR = "/etc/fail2ban";
export const LOGS_DIR = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs";
export const TEST_NOW = 1124013600;

/** Epoch seconds for local wall-clock time in CET/CEST (EU rules: last Sunday of March/October, 01:00 UTC). */
export function cetLocalTime(y: number, mo: number, d: number, h: number, mi: number, s: number): number {
    const wall = Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
    const lastSunday = (month: number) => {
        const last = new Date(Date.UTC(y, month, 0));
        return Date.UTC(y, month - 1, last.getUTCDate() - last.getUTCDay(), 1, 0, 0) / 1000;
    };
    const dstStart = lastSunday(3);
    const dstEnd = lastSunday(10);
    const asDst = wall - 7200;
    if (asDst >= dstStart && asDst < dstEnd) return asDst;
    return wall - 3600;
}

export interface Expectation {
    /** Stable id: filter, option set, log file and line number. */
    id: string;
    filter: string;
    options: string;
    file: string;
    line: number;
    text: string;
    want: Record<string, unknown>;
}

export interface Outcome extends Expectation {
    ok: boolean;
    reason?: string;
    got?: LineResult;
}

export interface FilterReport {
    filter: string;
    outcomes: Outcome[];
    /** Set when the filter could not be loaded or compiled at all. */
    error?: string;
    /** Lines without annotation that matched although they should not. */
    strayMatches: string[];
}

type Opts = Record<string, string>;

function evalCondition(expr: string, name: string, opts: Opts): boolean {
    // The corpus uses only comparisons of `name` or `opts.get('key')` with a string literal.
    const m = /^\s*(name|opts\.get\('([^']+)'\))\s*(==|!=)\s*'([^']*)'\s*$/.exec(expr);
    if (!m) throw new Error(`unsupported condition ${JSON.stringify(expr)}`);
    const left = m[1] === "name" ? name : opts[m[2]];
    return m[3] === "==" ? left === m[4] : left !== m[4];
}

function optsKey(opts: Opts): string {
    const keys = Object.keys(opts)
        .filter(k => !k.startsWith("test."))
        .sort();
    return keys.length ? JSON.stringify(Object.fromEntries(keys.map(k => [k, opts[k]]))) : "";
}

function canonicalIPv6(s: string): string | undefined {
    if (!/^[0-9a-fA-F:]+$/.test(s) || !s.includes(":")) return undefined;
    const halves = s.split("::");
    if (halves.length > 2) return undefined;
    const head = halves[0] ? halves[0].split(":") : [];
    const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
    const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
    const parts = [...head, ...Array(Math.max(fill, 0)).fill("0"), ...tail].map(p => parseInt(p, 16));
    if (parts.length !== 8 || parts.some(p => isNaN(p))) return undefined;
    // RFC 5952: the longest run (>1) of zero groups becomes "::".
    let best = -1,
        bestLen = 1;
    for (let i = 0; i < 8;) {
        if (parts[i] !== 0) {
            i++;
            continue;
        }
        let j = i;
        while (j < 8 && parts[j] === 0) j++;
        if (j - i > bestLen) {
            best = i;
            bestLen = j - i;
        }
        i = j;
    }
    const hex = parts.map(p => p.toString(16));
    if (best < 0) return hex.join(":");
    return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

function sameHost(got: string | undefined, want: unknown): boolean {
    if (got === want) return true;
    if (typeof want !== "string" || got === undefined) return false;
    const a = canonicalIPv6(got),
        b = canonicalIPv6(want);
    return a !== undefined && a === b;
}

/** The failure id fail2ban compares "host" with: F-ID when it differs from the address, else the address. */
function failureId(r: LineResult): string | undefined {
    const g = r.groups ?? {};
    const ip = g.ip4 ?? g.ip6 ?? g.dns;
    if (r.fid !== undefined && r.fid !== ip) return r.fid;
    return ip ?? r.fid;
}

function jsonLocalTime(t: string): number {
    const m = /^(\d{4})-(\d{1,2})-(\d{1,2})T(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?$/.exec(t);
    if (!m) throw new Error(`bad time ${t}`);
    const base = cetLocalTime(+m[1], +m[2], +m[3], +m[4], +m[5], +m[6]);
    return base + (m[7] ? Number("0." + m[7]) : 0);
}

function check(want: Record<string, unknown>, r: LineResult | undefined): string | undefined {
    const matched = r !== undefined;
    const wantMatch = want.match === true;
    if (!matched) return wantMatch ? "not matched, should match" : undefined;
    if (!wantMatch) return `matched (host ${failureId(r!)}), should not`;
    for (const [k, v] of Object.entries(want)) {
        if (k === "time" || k === "match" || k === "desc" || k === "constraint") continue;
        let got: unknown;
        if (k === "host") got = r!.groups?.host ?? failureId(r!);
        else if (k === "attempts") got = r!.attempts;
        else if (k === "users") got = r!.users;
        else got = r!.groups?.[k];
        if (v === null) {
            // `"key": null` in the corpus means the group must not have captured anything.
            if (got !== undefined) return `${k} ${JSON.stringify(got)}, want none`;
            continue;
        }
        if (k === "host") {
            if (!sameHost(got as string | undefined, v))
                return `host ${JSON.stringify(got)}, want ${JSON.stringify(v)}`;
        } else if (Array.isArray(v)) {
            const a = [...((got as string[] | undefined) ?? [])].sort();
            const b = [...v].map(String).sort();
            if (JSON.stringify(a) !== JSON.stringify(b))
                return `${k} ${JSON.stringify(got)}, want ${JSON.stringify(v)}`;
        } else if (String(got) !== String(v)) {
            return `${k} ${JSON.stringify(got)}, want ${JSON.stringify(v)}`;
        }
    }
    if (typeof want.time === "string") {
        const expect = jsonLocalTime(want.time);
        if (r!.time === undefined || Math.abs(r!.time - expect) > 1e-6) {
            const show = r!.time === undefined ? "none" : new Date(r!.time * 1000).toISOString();
            return `time ${show}, want ${new Date(expect * 1000).toISOString()} (${want.time} local)`;
        }
    }
    return undefined;
}

interface FilterState {
    filter: CompiledFilter;
    opts: Opts;
}

/** Runs one stock filter over its sample log(s). */
export function runFilter(name: string, configDir = CONFIG_DIR, logsDir = LOGS_DIR): FilterReport {
    const report: FilterReport = { filter: name, outcomes: [], strayMatches: [] };
    const cache = new Map<string, FilterState>();
    const getFilter = (opts: Opts): FilterState => {
        const key = opts["test.filter-name"] ?? optsKey(opts);
        let st = cache.get(key);
        if (!st) {
            const args = Object.entries(opts).filter(([k]) => !k.startsWith("test."));
            const spec = args.length ? `${name}[${args.map(([k, v]) => `${k}="${v}"`).join(", ")}]` : name;
            st = { filter: compileFilter(loadFilter(configDir, spec), { localTime: cetLocalTime }), opts };
            cache.set(key, st);
        }
        return st;
    };
    const files = [name];
    let commonOpts: Opts = {};
    let tests: FilterState[] | undefined;
    try {
        for (let fi = 0; fi < files.length; fi++) {
            const file = files[fi];
            const p = path.join(logsDir, file);
            if (!fs.existsSync(p)) throw new Error(`no sample log ${p}`);
            const lines = fs
                .readFileSync(p, "utf8")
                .split("\n")
                .map(l => l.replace(/\r$/, ""));
            if (lines[lines.length - 1] === "") lines.pop();
            let ignoreBlock = false;
            for (let i = 0; i < lines.length; i++) {
                let line = lines[i];
                let lineNo = i + 1;
                let want: Record<string, unknown> = {};
                let annotated = false;
                const jm = /^#+ ?(failJSON|(?:file|filter)Options|addFILE):(.+)$/.exec(line);
                if (jm) {
                    const data = JSON.parse(jm[2]);
                    if (jm[1] === "fileOptions") {
                        commonOpts = data;
                        continue;
                    }
                    if (jm[1] === "filterOptions") {
                        tests = [];
                        ignoreBlock = false;
                        for (const one of Array.isArray(data) ? data : [data]) {
                            const opts: Opts = { ...commonOpts, ...one };
                            if (opts["test.condition"])
                                ignoreBlock = !evalCondition(opts["test.condition"], name, opts);
                            if (!ignoreBlock) tests.push(getFilter(opts));
                        }
                        continue;
                    }
                    if (jm[1] === "addFILE") {
                        files.push(data);
                        continue;
                    }
                    want = data;
                    annotated = true;
                    i++;
                    if (i >= lines.length) break;
                    line = lines[i];
                    lineNo = i + 1;
                } else if (ignoreBlock || line.startsWith("#") || line.trim() === "") {
                    continue;
                }
                if (ignoreBlock) continue;
                if (!tests) tests = [getFilter({})];
                line = line.replace(/[\r\n]+$/, "");
                for (const st of tests) {
                    if (typeof want.constraint === "string" && !evalCondition(want.constraint, name, st.opts)) continue;
                    let text = line;
                    let r: LineResult;
                    if (st.opts.logtype === "journal") {
                        if (st.opts["test.prefix-line"]) text = st.opts["test.prefix-line"] + text;
                        r = st.filter.processLineAt(text, TEST_NOW);
                    } else {
                        r = st.filter.processLine(text, TEST_NOW);
                    }
                    const hit = r.kind === "matched" && !r.noFail && r.host !== undefined ? r : undefined;
                    if (!annotated) {
                        if (hit) report.strayMatches.push(`${file}:${lineNo}`);
                        continue;
                    }
                    const optsName = optsKey(st.opts);
                    const exp: Expectation = {
                        id: `${name}${optsName ? " " + optsName : ""} ${file}:${lineNo}`,
                        filter: name,
                        options: optsName,
                        file,
                        line: lineNo,
                        text: line,
                        want,
                    };
                    const reason = check(want, hit);
                    report.outcomes.push({ ...exp, ok: reason === undefined, reason, got: r });
                }
            }
        }
    } catch (e) {
        report.error = (e as Error).message;
    }
    return report;
}

/** The stock filters that have a sample log (fail2ban's own test skips *common.conf). */
export function stockFilters(configDir = CONFIG_DIR): string[] {
    return fs
        .readdirSync(path.join(configDir, "filter.d"))
        .filter(f => f.endsWith(".conf") && !f.endsWith("common.conf"))
        .map(f => f.slice(0, -5))
        .sort();
}

/** jailwatch's own filters (watcher/config) and their annotated samples (tests/conformance/logs). */
export const OWN_CONFIG_DIR = path.join(__dirname, "..", "..", "watcher", "config");
export const OWN_LOGS_DIR = path.join(__dirname, "logs");

export function runAll(configDir = CONFIG_DIR, logsDir = LOGS_DIR): FilterReport[] {
    const own = fs.existsSync(OWN_LOGS_DIR) ? fs.readdirSync(OWN_LOGS_DIR).sort() : [];
    return [
        ...stockFilters(configDir).map(f => runFilter(f, configDir, logsDir)),
        ...own.map(f => runFilter(f, OWN_CONFIG_DIR, OWN_LOGS_DIR)),
    ];
}
