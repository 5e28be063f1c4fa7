// Streams a log file as lines without holding it: reads large chunks, decodes each chunk once, and hands out
// slices of the decoded text. Line rules are fail2ban-regex's: split on "\n", trailing "\r"/"\n" removed, empty
// lines and lines starting with "#" skipped (not counted), and a last line without "\n" is not complete yet: skipped.

import * as buffer from "buffer";
import * as fs from "fs";

// An all-ASCII chunk decodes as latin1: a plain byte copy into a one-byte string, several times faster than
// UTF-8 decoding, same text. Chunks with other bytes take the UTF-8 path (invalid bytes become U+FFFD).
const isAscii: (b: Uint8Array) => boolean = (buffer as unknown as { isAscii?: (b: Uint8Array) => boolean }).isAscii ?? (() => false);

export interface LineStreamOptions {
    /** Bytes per read; the buffer grows only for a single line longer than this. Default 4 MiB. */
    chunkSize?: number;
    /** Called after each chunk with bytes consumed so far. */
    onProgress?: (bytes: number) => void;
}

/** Calls `onLine` for every counted line of the file at `path`, in order. */
export function forEachLine(path: string, onLine: (line: string) => void, opts: LineStreamOptions = {}): void {
    const fd = fs.openSync(path, "r");
    try {
        let buf = Buffer.allocUnsafe(opts.chunkSize ?? 4 * 1024 * 1024);
        let filled = 0; // bytes in buf (a partial line carried over from the previous read sits at the front)
        let consumed = 0;
        for (;;) {
            if (filled === buf.length) {
                // One line longer than the buffer: grow, it has to be handed out whole.
                const bigger = Buffer.allocUnsafe(buf.length * 2);
                buf.copy(bigger, 0, 0, filled);
                buf = bigger;
            }
            const n = fs.readSync(fd, buf, filled, buf.length - filled, null);
            const eof = n === 0;
            filled += n;
            // At EOF an unterminated last line is left out, as fail2ban-regex does (it may still be being written).
            const end = eof ? 0 : buf.lastIndexOf(10, filled - 1) + 1;
            if (end <= 0) {
                if (eof) break;
                continue; // no complete line yet
            }
            emitLines(buf.toString(isAscii(buf.subarray(0, end)) ? "latin1" : "utf8", 0, end), onLine);
            consumed += end;
            buf.copy(buf, 0, end, filled);
            filled -= end;
            opts.onProgress?.(consumed);
            if (eof) break;
        }
    } finally {
        fs.closeSync(fd);
    }
}

/** Splits decoded text into counted lines (same rules as forEachLine). */
export function emitLines(text: string, onLine: (line: string) => void): void {
    const len = text.length;
    let pos = 0;
    while (pos < len) {
        let nl = text.indexOf("\n", pos);
        if (nl < 0) nl = len;
        let end = nl;
        while (end > pos && text.charCodeAt(end - 1) === 13) end--;
        // Skip empty and comment lines, like fail2ban-regex.
        if (end > pos && text.charCodeAt(pos) !== 35) onLine(text.slice(pos, end));
        pos = nl + 1;
    }
}
