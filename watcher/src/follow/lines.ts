// Splits a byte stream into complete lines. A trailing partial line is held back (its bytes are not counted as
// consumed) so that a saved offset always points at the start of a line: a restart then neither loses nor
// re-reads half a line.

const NL = 0x0a;

export class LineSplitter {
    private carry: Buffer | undefined;

    /** Bytes held back because no newline followed them yet. */
    get pending(): number {
        return this.carry ? this.carry.length : 0;
    }

    /**
     * Feeds a chunk and returns the complete lines in it (without "\n", a trailing "\r" removed) and how many bytes
     * those lines took, counting bytes carried over from earlier chunks.
     */
    push(chunk: Buffer): { lines: string[]; consumed: number } {
        const last = chunk.lastIndexOf(NL);
        if (last < 0) {
            this.carry = this.carry ? Buffer.concat([this.carry, chunk]) : Buffer.from(chunk);
            return { lines: [], consumed: 0 };
        }
        let text: string;
        let consumed = last + 1;
        if (this.carry) {
            consumed += this.carry.length;
            // Decode together: the carry may end inside a multi-byte character.
            text = Buffer.concat([this.carry, chunk.subarray(0, last)]).toString("utf8");
        } else {
            text = chunk.toString("utf8", 0, last);
        }
        this.carry = last + 1 < chunk.length ? Buffer.from(chunk.subarray(last + 1)) : undefined;
        const lines = text.split("\n");
        for (let i = 0; i < lines.length; i++) {
            const l = lines[i];
            if (l.length > 0 && l.charCodeAt(l.length - 1) === 13) lines[i] = l.slice(0, -1);
        }
        return { lines, consumed };
    }

    /** Forgets a held-back partial line (after truncation or a switch to another file). */
    reset(): void {
        this.carry = undefined;
    }
}
