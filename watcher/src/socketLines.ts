// Newline-framed text over a stream socket, shared by the control socket and the peer link.
import * as net from "net";

/**
 * Cuts a stream of text into lines. Each chunk is searched once, from where the last search stopped, and kept as a
 * piece until its line ends: a long line costs linear time, not a rescan of everything buffered per chunk (which made
 * a 100 MB line without a newline cost a minute and a gigabyte).
 */
export class LineFramer {
    private pieces: string[] = [];
    private held = 0;
    /** Characters searched for a newline so far (each once). */
    scanned = 0;
    /** Set once a line (finished or not) passed the limit; nothing more is returned after that. */
    overflowed = false;

    constructor(private readonly maxChars: number) {}

    /** Complete lines in `chunk` before any over-long one (then `overflowed` is set). */
    push(chunk: string): string[] {
        const out: string[] = [];
        if (this.overflowed) return out;
        let from = 0;
        for (;;) {
            const nl = chunk.indexOf("\n", from);
            this.scanned += (nl < 0 ? chunk.length : nl + 1) - from;
            if (nl < 0) break;
            const len = this.held + nl - from;
            if (len > this.maxChars) return this.overflow(out);
            this.pieces.push(chunk.slice(from, nl));
            out.push(this.pieces.length === 1 ? this.pieces[0] : this.pieces.join(""));
            this.pieces = [];
            this.held = 0;
            from = nl + 1;
        }
        if (from < chunk.length) {
            this.held += chunk.length - from;
            if (this.held > this.maxChars) return this.overflow(out);
            this.pieces.push(from === 0 ? chunk : chunk.slice(from));
        }
        return out;
    }

    private overflow(out: string[]): string[] {
        this.overflowed = true;
        this.pieces = [];
        this.held = 0;
        return out;
    }
}

/**
 * Calls `onLine` for every newline-terminated line the socket sends (UTF-8, without the newline), in order.
 * `onLine` returning false stops reading (the caller answers and closes). A line, or an unterminated rest, longer than
 * `maxChars` calls `onOverflow` once instead, so a peer cannot make us buffer without bound.
 */
export function readSocketLines(
    sock: net.Socket,
    maxChars: number,
    onLine: (line: string) => boolean | void,
    onOverflow: () => void,
): void {
    const framer = new LineFramer(maxChars);
    let done = false;
    sock.setEncoding("utf8");
    sock.on("error", () => undefined);
    sock.on("data", (d: string) => {
        if (done) return;
        for (const line of framer.push(d)) {
            if (onLine(line) === false) {
                done = true;
                return;
            }
        }
        if (framer.overflowed) {
            done = true;
            onOverflow();
        }
    });
}
