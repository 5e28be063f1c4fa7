// Where a log that jailwatch has never read starts: like fail2ban, the lines already in it that are within the
// jails' findtime are read, the rest is not. The first line dated `since` or later is found by bisecting the file
// on the dates of its lines (a log is in date order; a few lines out of order only shift the start a little), so
// a 1 GB log costs a few dozen reads, not a full scan. A log without any date we can read starts at its end,
// as before: its lines would all count as "now".

import * as fs from "fs";

const WINDOW = 64 * 1024;
/** Below this span, scan line by line instead of bisecting. */
const LINEAR = 16 * 1024;

export type DateOf = (line: string) => number | undefined;

interface Line {
    start: number;
    end: number;
    time: number | undefined;
}

/** Complete lines starting in [from, from + WINDOW) (the first one at or after a line start when from > 0). */
function linesFrom(fd: number, from: number, size: number, dateOf: DateOf): Line[] {
    const buf = Buffer.allocUnsafe(Math.min(WINDOW, size - from));
    const n = fs.readSync(fd, buf, 0, buf.length, from);
    const out: Line[] = [];
    let i = 0;
    if (from > 0) {
        // `from` may be inside a line: it begins after the previous byte's line end.
        const prev = Buffer.alloc(1);
        fs.readSync(fd, prev, 0, 1, from - 1);
        if (prev[0] !== 10) {
            const nl = buf.indexOf(10, 0);
            if (nl < 0 || nl >= n) return out;
            i = nl + 1;
        }
    }
    while (i < n) {
        const nl = buf.indexOf(10, i);
        if (nl < 0 || nl >= n) break;
        out.push({ start: from + i, end: from + nl + 1, time: dateOf(buf.toString("utf8", i, nl)) });
        i = nl + 1;
    }
    return out;
}

/** Offset of the first line dated `since` or later; `size` when there is none or no line carries a date. */
export function seekSince(fd: number, size: number, since: number, dateOf: DateOf): number {
    if (size === 0) return 0;
    // No date near the end: nothing to go by (an undated log), keep the old start at the end.
    const tail = linesFrom(fd, Math.max(0, size - WINDOW), size, dateOf).filter(l => l.time !== undefined);
    if (tail.length === 0) return size;
    if (tail[tail.length - 1].time! < since) return size;
    let lo = 0;
    let hi = size;
    while (hi - lo > LINEAR) {
        const mid = Math.floor((lo + hi) / 2);
        const dated = linesFrom(fd, mid, size, dateOf).find(l => l.time !== undefined);
        if (!dated || dated.start >= hi) hi = mid;
        else if (dated.time! < since) lo = dated.end;
        else hi = mid;
    }
    for (let pos = lo; pos < size;) {
        const lines = linesFrom(fd, pos, size, dateOf);
        if (lines.length === 0) return size;
        for (const l of lines) if (l.time !== undefined && l.time >= since) return l.start;
        pos = lines[lines.length - 1].end;
    }
    return size;
}
