// fail2ban-regex's `-o OUT`: what to print for each matched line instead of the report.
//   id, fid    the failure id (F-ID, else the address)
//   ip         the address (`ip` of the failure, else its id)
//   msg        the matched line
//   row        `[id,\ttime,\t{groups}],`: the failure as a Python row, every named group of the regex in order
//              (None when it took no part), the prefregex's first (but `content`)
//   <tags>     a template: <ip>, <fid>, <time>, <msg>, <matches> and <F-NAME> replaced, other tags kept as they are
//   NAME       any other word: that group's value, `None` when the failure has none (fail2ban prints it so)

import { expandTags } from "../filter/tags";
import type { FilterDefinition, LineResult } from "../types";

export type OutFormatter = (r: LineResult, line: string) => string;

/** Python's repr of a str. */
function pyStr(s: string): string {
    if (s.includes("'") && !s.includes('"')) return `"${s.replace(/\\/g, "\\\\")}"`;
    return `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\n/g, "\\n").replace(/\t/g, "\\t")}'`;
}

/** Python's repr of a float (always with a fraction part). */
function pyFloat(n: number): string {
    const s = String(n);
    return /[.e]/.test(s) ? s : `${s}.0`;
}

/** Named groups of a Python regex, in order of appearance, once each. */
function groupNames(pyRegex: string): string[] {
    const out: string[] = [];
    for (const m of pyRegex.matchAll(/\(\?P<(\w+)>/g)) if (!out.includes(m[1])) out.push(m[1]);
    return out;
}

function idOf(r: LineResult): string {
    return r.fid ?? r.host ?? "";
}

export function outFormatter(fmt: string, def: FilterDefinition, usedns: string): OutFormatter {
    if (fmt === "id" || fmt === "fid") return r => idOf(r);
    if (fmt === "ip") return r => r.groups?.ip ?? r.host ?? idOf(r);
    if (fmt === "msg") return (_r, line) => line;
    if (fmt === "row") {
        const pref =
            def.prefregex === undefined
                ? []
                : groupNames(expandTags(def.prefregex, usedns)).filter(g => g !== "content");
        const perRegex = def.failregex.map(re => [
            ...pref,
            ...groupNames(expandTags(re, usedns)).filter(g => !pref.includes(g)),
        ]);
        const mlf = pref.includes("mlfid") || perRegex.some(g => g.includes("mlfid"));
        return r => {
            const g = r.groups ?? {};
            const names = (r.failregexIndex !== undefined ? perRegex[r.failregexIndex] : undefined) ?? Object.keys(g);
            const items = names
                .filter(n => !n.startsWith("mlf") || n === "mlfid")
                .map(n => `${pyStr(n)}: ${g[n] === undefined ? "None" : pyStr(g[n])}`);
            // With an F-ID, fail2ban also records the address under `ip`.
            if (r.fid !== undefined && r.host !== undefined && r.host !== r.fid) items.push(`'ip': ${pyStr(r.host)}`);
            if (mlf && g.user !== undefined) items.push(`'users': {${(r.users ?? [g.user]).map(pyStr).join(", ")}}`);
            return `[${pyStr(idOf(r))},\t${r.time === undefined ? "None" : pyFloat(r.time)},\t{${items.join(", ")}}],`;
        };
    }
    if (fmt.includes("<")) {
        return (r, line) =>
            fmt.replace(/<([^<>\s]+)>/g, (whole, tag: string) => {
                if (tag === "ip") return r.groups?.ip ?? r.host ?? idOf(r);
                if (tag === "fid") return idOf(r);
                if (tag === "msg" || tag === "matches") return line;
                if (tag === "time") return pyFloat(r.time ?? Date.now() / 1000);
                if (/^F-\w+$/i.test(tag)) return r.groups?.[tag.slice(2).toLowerCase()] ?? whole;
                return whole;
            });
    }
    return r => {
        const v = r.groups?.[fmt];
        return v === undefined ? "None" : v;
    };
}
