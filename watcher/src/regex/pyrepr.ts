// Python's repr() of the few value kinds fail2ban-regex prints in its verbose report.

/** repr() of a str: single quotes unless the text holds a ' and no ", escapes as Python writes them. */
export function pyStrRepr(s: string): string {
    const q = s.includes("'") && !s.includes('"') ? '"' : "'";
    let out = q;
    for (const ch of s) {
        const c = ch.codePointAt(0)!;
        if (ch === "\\") out += "\\\\";
        else if (ch === q) out += `\\${q}`;
        else if (ch === "\n") out += "\\n";
        else if (ch === "\r") out += "\\r";
        else if (ch === "\t") out += "\\t";
        else if (c < 0x20 || (c >= 0x7f && c <= 0xa0) || c === 0xad) out += `\\x${c.toString(16).padStart(2, "0")}`;
        else out += ch;
    }
    return out + q;
}

/** repr() of a dict of str (None where a value is missing), keys in the order given. */
export function pyDictOfStr(entries: Array<[string, string | undefined]>): string {
    return `{${entries.map(([k, v]) => `${pyStrRepr(k)}: ${v === undefined ? "None" : pyStrRepr(v)}`).join(", ")}}`;
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(t)) in the C locale. */
export function localTimeString(t: number): string {
    const d = new Date(Math.floor(t) * 1000);
    const two = (n: number) => String(n).padStart(2, "0");
    return (
        `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${two(d.getDate())} ` +
        `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${d.getFullYear()}`
    );
}
