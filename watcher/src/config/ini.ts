// Reader for one fail2ban-style ini file (Python configparser dialect as fail2ban uses it).
//
// What the dialect means here:
//   - `[section]` headers; `key = value` or `key: value`; keys are case-insensitive (stored lower-case).
//   - A line starting with whitespace continues the previous value (several failregex lines). Blank lines inside
//     a value are kept, trailing ones dropped; full-line comments (`#` or `;` after optional indent) are skipped,
//     also in the middle of a multi-line value.
//   - Inline comments: ` ;` (a `;` after whitespace) ends the value everywhere, as in fail2ban.
//     ` #` (a `#` after whitespace) also ends the value, but only when `hashComments` says so for that key.
//     fail2ban itself does not strip ` #`: `maxretry = 20 # twenty` then breaks its server, and
//     `bantime = 43200 # In secs.` only works by accident. We strip it for plain settings, but never inside
//     regex-like values (failregex & co., and everything in filter.d), where `#` is a legitimate character
//     (e.g. `webmasters\.htm#07` in apache-badbots). The caller decides per file and key (see layout.ts).
//   - A key repeated within one section of one file is an error (configparser's strict mode).

import { ConfigError, ConfigOrigin } from "../types";

/** One `key = value` as written, before interpolation. */
export interface IniEntry {
    /** Raw value: continuation lines joined with "\n", comments removed, not interpolated. */
    raw: string;
    origin: ConfigOrigin;
}

export interface IniSection {
    name: string;
    /** Line of the `[name]` header. */
    line: number;
    entries: Map<string, IniEntry>;
}

export interface IniFile {
    file: string;
    /** Sections in file order; a header seen twice in one file is merged (fail2ban rejects it; we report it). */
    sections: IniSection[];
}

export interface IniOptions {
    /** Whether ` #...` ends the value of `key` in `section`. Default: never. */
    hashComments?: (section: string, key: string) => boolean;
}

const SECTION_RE = /^\[([^\]]+)\]\s*(?:[;#].*)?$/;
const OPTION_RE = /^([^=:\s][^=:]*?)\s*[=:](.*)$/;

function stripInline(value: string, hash: boolean): string {
    // A comment marker counts only after whitespace, so `a;b` or `htm#07` stay intact.
    for (let i = 1; i < value.length; i++) {
        const c = value.charCodeAt(i);
        if (c !== 59 /* ; */ && !(hash && c === 35 /* # */)) continue;
        const p = value.charCodeAt(i - 1);
        if (p === 32 || p === 9) return value.slice(0, i);
    }
    return value;
}

export function parseIni(text: string, file: string, opts: IniOptions = {}): IniFile {
    const hashFor = opts.hashComments ?? (() => false);
    const lines = text.split(/\r?\n/);
    const result: IniFile = { file, sections: [] };
    const byName = new Map<string, IniSection>();
    let section: IniSection | undefined;
    let cur: { key: string; entry: IniEntry; parts: string[]; hash: boolean } | undefined;

    const finish = () => {
        if (!cur) return;
        const parts = cur.parts;
        while (parts.length > 1 && parts[parts.length - 1] === "") parts.pop();
        cur.entry.raw = parts.join("\n").trim();
        cur = undefined;
    };

    for (let i = 0; i < lines.length; i++) {
        const lineNo = i + 1;
        const line = lines[i];
        const trimmed = line.trim();
        const isComment = trimmed.startsWith("#") || trimmed.startsWith(";");
        const indented = /^[ \t]/.test(line);

        if (trimmed === "") {
            if (cur) cur.parts.push("");
            continue;
        }
        if (isComment) continue;
        if (indented && cur) {
            cur.parts.push(stripInline(trimmed, cur.hash).trim());
            continue;
        }
        finish();
        const sm = SECTION_RE.exec(trimmed);
        if (sm && !indented) {
            const name = sm[1].trim();
            const existing = byName.get(name);
            if (existing) {
                section = existing;
            } else {
                section = { name, line: lineNo, entries: new Map() };
                byName.set(name, section);
                result.sections.push(section);
            }
            continue;
        }
        const om = OPTION_RE.exec(trimmed);
        if (!om) {
            throw new ConfigError(
                { file, line: lineNo },
                `cannot parse line ${JSON.stringify(trimmed)}: expected "[section]" or "key = value"`,
            );
        }
        const key = om[1].trim().toLowerCase();
        if (!section) {
            throw new ConfigError({ file, line: lineNo, key }, "option outside of any [section]");
        }
        if (section.entries.has(key)) {
            const first = section.entries.get(key)!.origin.line;
            throw new ConfigError(
                { file, line: lineNo, key },
                `duplicate option in [${section.name}] (first set on line ${first})`,
            );
        }
        const hash = hashFor(section.name, key);
        const entry: IniEntry = { raw: "", origin: { file, line: lineNo, key } };
        section.entries.set(key, entry);
        cur = { key, entry, parts: [stripInline(om[2], hash).trim()], hash };
    }
    finish();
    return result;
}
