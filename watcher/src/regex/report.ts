// fail2ban-regex's output, reproduced line for line: the "Running tests" header with its "Use ..." lines, and
// the Results section (regex hits, date template hits, line counts, matched/ignored/missed listings).

import type { VerboseData } from "./verbose";

/** fail2ban-regex truncates long values in "Use" lines to 53 characters. */
export function shortstr(s: string, l = 53): string {
    return s.length > l ? `${s.slice(0, l - 3)}...` : s;
}

/** Python's "%11s": right-aligned in 11 columns. */
function pad11(s: string): string {
    return s.length >= 11 ? s : " ".repeat(11 - s.length) + s;
}

export const RUNNING_TESTS = ["", "Running tests", "=============", ""];

export function useFilterFile(kind: "failregex" | "ignoreregex", name: string, basedir: string): string {
    return `Use ${pad11(kind)} filter file : ${name}, basedir: ${basedir}`;
}
export function useFile(kind: "failregex" | "ignoreregex", file: string): string {
    return `Use ${pad11(kind)} file : ${file}`;
}
export function useLine(kind: "failregex" | "ignoreregex", regex: string): string {
    return `Use ${pad11(kind)} line : ${shortstr(regex)}`;
}
export function useFilterOptions(args: Record<string, string>): string {
    return `Use   filter options : ${pyDictRepr(args)}`;
}
export function useLogFile(file: string, encoding: string): string[] {
    return [`Use         log file : ${file}`, `Use         encoding : ${encoding}`];
}
export function useSingleLine(line: string): string {
    return `Use      single line : ${shortstr(line.replace(/\n/g, "\\n"))}`;
}
export function useMultiLine(lines: string[]): string[] {
    const out = [`Use      multi line : ${lines.length} line(s)`];
    for (let i = 0; i < lines.length; i++) {
        if (i >= 5) {
            out.push("| ...");
            break;
        }
        out.push(
            `| ${String(i + 1)
                .slice(0, 2)
                .padStart(2)}: ${shortstr(lines[i])}`,
        );
    }
    out.push("`-");
    return out;
}
export function useMaxLines(n: number): string {
    return `Use         maxlines : ${n}`;
}
export function useDatePattern(pattern: string, name: string): string {
    return `Use      datepattern : ${pattern} : ${name}`;
}

/** Python repr of a str -> str dict, as fail2ban prints filter options. */
export function pyDictRepr(d: Record<string, string>): string {
    const repr = (s: string) =>
        s.includes("'") && !s.includes('"') ? `"${s}"` : `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
    return `{${Object.entries(d)
        .map(([k, v]) => `${repr(k)}: ${repr(v)}`)
        .join(", ")}}`;
}

/** fail2ban's list printer: optional "|- header", then "|  item" lines, then "`-". Nothing for an empty list. */
export function pprintList(items: string[], header?: string): string[] {
    if (items.length === 0) return [];
    const out: string[] = [];
    if (header) out.push(`|- ${header}`);
    for (const x of items) out.push(`|  ${x}`);
    out.push("`-");
    return out;
}

/** Appends without spreading: lists of hits or lines can be longer than the call stack allows arguments. */
function append(out: string[], items: readonly string[]): void {
    for (const x of items) out.push(x);
}

/** Everything the Results section shows. */
export interface RegexStats {
    failregex: string[];
    failHits: number[];
    ignoreregex: string[];
    ignoreHits: number[];
    prefregex?: string;
    prefHits: number;
    /** Every date template with its hits, in display order. */
    dateHits: Array<[string, number]>;
    tested: number;
    matched: number;
    ignored: number;
    missed: number;
    matchedLines: string[];
    ignoredLines: string[];
    missedLines: string[];
    seconds: number;
    /** Only with -v. */
    verbose?: VerboseData;
}

export interface PrintOptions {
    /** Threshold for listing lines (fail2ban-regex's maxlines, 20 unless -L). */
    maxlines: number;
    printAllMatched: boolean;
    printAllMissed: boolean;
    printAllIgnored: boolean;
    printNoMissed: boolean;
    printNoIgnored: boolean;
}

function rstrip(s: string): string {
    return s.replace(/\s+$/, "");
}

export function resultsSection(st: RegexStats, po: PrintOptions): string[] {
    const out: string[] = ["", "Results", "======="];
    const v = st.verbose;
    if (st.prefregex !== undefined) {
        out.push("", `Prefregex: ${st.prefHits} total`);
        append(out, pprintList([st.prefregex, ...(v?.prefGroups.map(g => `    ${g}`) ?? [])]));
    }
    // -v lists every regex, hit or not, each followed by its hits.
    const regexes = (title: string, list: string[], hits: number[], hitLines?: string[][]) => {
        let total = 0;
        const items: string[] = [];
        list.forEach((re, i) => {
            total += hits[i];
            if (hits[i] || v) items.push(`${String(i + 1).padStart(2)}) [${hits[i]}] ${re}`);
            if (hitLines) append(items, hitLines[i]);
        });
        out.push("", `${title}: ${total} total`);
        append(out, pprintList(items, " #) [# of hits] regular expression"));
    };
    regexes("Failregex", st.failregex, st.failHits, v?.failHitLines);
    regexes("Ignoreregex", st.ignoreregex, st.ignoreHits);
    out.push("", "Date template hits:");
    // In fail2ban's search order as DateOrder replays it; -v shows the templates that found nothing too.
    const dates = v ? st.dateHits : st.dateHits.filter(([, n]) => n > 0);
    append(
        out,
        pprintList(
            dates.map(([name, n]) => `[${n}] ${name}`),
            "[# of hits] date format",
        ),
    );
    out.push("", `Lines: ${st.tested} lines, ${st.ignored} ignored, ${st.matched} matched, ${st.missed} missed`);
    out.push(`[processed in ${st.seconds.toFixed(2)} sec]`);
    out.push("");
    const listing = (kind: "matched" | "ignored" | "missed", count: number, lines: string[], all: boolean) => {
        if (!count) return;
        const header = `${kind[0].toUpperCase()}${kind.slice(1)} line(s):`;
        if (count < po.maxlines || all) append(out, pprintList(lines.map(rstrip), header));
        else out.push(`${header} too many to print.  Use --print-all-${kind} to print all ${count} lines`);
    };
    if (po.printAllMatched) listing("matched", st.matched, st.matchedLines, true);
    if (!po.printNoIgnored) listing("ignored", st.ignored, st.ignoredLines, po.printAllIgnored);
    if (!po.printNoMissed) listing("missed", st.missed, st.missedLines, po.printAllMissed);
    return out;
}
