// Time values as jail files write them: `600`, `10m`, `1h30m`, `1d 12h`, `2 weeks`, `1year-6mo`, `-1`.
//
// fail2ban rewrites such text into a Python expression and evaluates it. We accept the same language (numbers
// with optional units, terms joined by spaces, `+` or `-`) with a small tokenizer instead, so a typo is an error
// and never code. Units, case-insensitive, as fail2ban spells them:
//   s ss sec second(s) | m mm min minute(s) | h hh hou hour(s) | d dd da day(s) | w ww wee week(s)
//   mo mon month(s) (a year / 12) | y yy yea year(s) (365.25 days)
// Note `m` is minutes; months need `mo`.

const UNITS: Record<string, number> = {};
function unit(seconds: number, ...names: string[]): void {
    for (const n of names) UNITS[n] = seconds;
}
unit(1, "s", "ss", "sec", "second", "seconds");
unit(60, "m", "mm", "min", "minute", "minutes");
unit(3600, "h", "hh", "hou", "hour", "hours");
unit(86400, "d", "dd", "da", "day", "days");
unit(7 * 86400, "w", "ww", "wee", "week", "weeks");
unit(((365 * 3 + 366) * 86400) / 4 / 12, "mo", "mon", "month", "months");
unit(((365 * 3 + 366) * 86400) / 4, "y", "yy", "yea", "year", "years");

/** Seconds for a time value, or undefined when the text is not one. */
export function parseDuration(text: string): number | undefined {
    const s = text.trim().toLowerCase();
    if (s === "") return undefined;
    let i = 0;
    let total = 0;
    let sign = 1;
    let terms = 0;
    let pendingOp = true; // at start, a sign may appear
    while (i < s.length) {
        const c = s[i];
        if (c === " " || c === "\t") {
            i++;
            continue;
        }
        if (c === "+" || c === "-") {
            if (pendingOp && terms > 0) return undefined; // two operators in a row
            if (pendingOp && terms === 0 && sign === -1) return undefined;
            sign = c === "-" ? -1 : 1;
            pendingOp = true;
            i++;
            continue;
        }
        const num = /^(\d+(?:\.\d*)?|\.\d+)/.exec(s.slice(i));
        if (!num) return undefined;
        i += num[0].length;
        while (i < s.length && (s[i] === " " || s[i] === "\t")) i++;
        const word = /^[a-z]+/.exec(s.slice(i));
        let mult = 1;
        if (word) {
            const u = UNITS[word[0]];
            if (u === undefined) return undefined;
            mult = u;
            i += word[0].length;
        }
        total += sign * Number(num[0]) * mult;
        sign = 1;
        terms++;
        pendingOp = false;
    }
    if (terms === 0 || pendingOp) return undefined;
    return total;
}

/** fail2ban's truth values: 1, on, true, yes (case-insensitive) are true; 0, off, false, no are false. */
export function parseBool(text: string): boolean | undefined {
    const v = text.trim().toLowerCase();
    if (v === "1" || v === "on" || v === "true" || v === "yes") return true;
    if (v === "0" || v === "off" || v === "false" || v === "no") return false;
    return undefined;
}

/** Short human form for -d output and logs: 43200 -> `12h`, 5400 -> `1h30m`, -1 -> `permanent`. */
export function formatDuration(seconds: number): string {
    if (seconds < 0 || !Number.isFinite(seconds)) return "permanent";
    if (seconds === 0) return "0s";
    let s = Math.round(seconds);
    let out = "";
    for (const [name, size] of [
        ["w", 604800],
        ["d", 86400],
        ["h", 3600],
        ["m", 60],
    ] as const) {
        if (s >= size) {
            out += `${Math.floor(s / size)}${name}`;
            s %= size;
        }
    }
    if (s > 0) out += `${s}s`;
    return out;
}
