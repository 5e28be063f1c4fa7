// Splits a byte stream into complete lines. A trailing partial line is held back (its bytes are not counted as
// consumed) so that a saved offset always points at the start of a line: a restart then neither loses nor
// re-reads half a line.
//
// A line longer than the limit is dropped and counted, not delivered: holding a 100 MB line in memory and running
// every regex over it would block the daemon for many seconds (and no log format we read has such lines). Its
// bytes are skipped without being kept, so memory stays at the limit however long the line gets.

const NL = 0x0a;
/** Default line limit (bytes): far above nginx/syslog/journal line sizes. */
export const MAX_LINE_BYTES = 64 * 1024;

export class LineSplitter {
    private carry: Buffer | undefined;
    /** Bytes of an over-long line skipped so far (its start is not kept). */
    private skipping = 0;
    /** Over-long lines dropped since start. */
    dropped = 0;

    constructor(private readonly maxLineBytes = MAX_LINE_BYTES) {}

    /** Bytes read but not consumed yet (a partial line, kept or skipped): the next read starts after them. */
    get pending(): number {
        return (this.carry ? this.carry.length : 0) + this.skipping;
    }

    /** Bytes held in memory for the partial line. */
    get held(): number {
        return this.carry ? this.carry.length : 0;
    }

    /**
     * Feeds a chunk and returns the complete lines in it (without "\n", a trailing "\r" removed) and how many bytes
     * those lines took, counting bytes carried over (or skipped) from earlier chunks.
     */
    push(chunk: Buffer): { lines: string[]; consumed: number } {
        let start = 0;
        let consumed = 0;
        if (this.skipping > 0) {
            const nl = chunk.indexOf(NL);
            if (nl < 0) {
                this.skipping += chunk.length;
                return { lines: [], consumed: 0 };
            }
            consumed = this.skipping + nl + 1;
            this.skipping = 0;
            start = nl + 1;
        }
        const last = chunk.lastIndexOf(NL);
        if (last < start) {
            this.hold(chunk.subarray(start));
            return { lines: [], consumed };
        }
        let text: string;
        consumed += last + 1 - start;
        if (this.carry) {
            consumed += this.carry.length;
            // Decode together: the carry may end inside a multi-byte character.
            text = Buffer.concat([this.carry, chunk.subarray(start, last)]).toString("utf8");
        } else {
            text = chunk.toString("utf8", start, last);
        }
        this.carry = undefined;
        if (last + 1 < chunk.length) this.hold(chunk.subarray(last + 1));
        const lines = text.split("\n");
        let out = 0;
        for (let i = 0; i < lines.length; i++) {
            let l = lines[i];
            // Lines are checked by characters here (cheap); one over the limit is dropped like a skipped one.
            if (l.length > this.maxLineBytes) {
                this.dropped++;
                continue;
            }
            if (l.length > 0 && l.charCodeAt(l.length - 1) === 13) l = l.slice(0, -1);
            lines[out++] = l;
        }
        lines.length = out;
        return { lines, consumed };
    }

    private hold(rest: Buffer): void {
        if (rest.length === 0) return;
        const total = (this.carry ? this.carry.length : 0) + rest.length;
        if (total > this.maxLineBytes) {
            // Too long already: forget what we kept and skip the rest of this line.
            this.carry = undefined;
            this.skipping = total;
            this.dropped++;
            return;
        }
        this.carry = this.carry ? Buffer.concat([this.carry, rest]) : Buffer.from(rest);
    }

    /** Forgets a held-back partial line (after truncation or a switch to another file). */
    reset(): void {
        this.carry = undefined;
        this.skipping = 0;
    }
}
