// One journal entry (a line of `journalctl --output=json`) turned into the text the filter sees, the way fail2ban's
// systemd backend builds it: `HOST IDENT[PID]: MESSAGE`, the kernel's monotonic time after `kernel:`, newlines in
// the message shown as `\n`, and the entry's own time (_SOURCE_REALTIME_TIMESTAMP, else __REALTIME_TIMESTAMP)
// instead of a date found in the text. Pure: no I/O.

/** What one JSON line gave. */
export type JournalLine =
    | {
          kind: "entry";
          /** The filter's input. */
          line: string;
          /** Epoch seconds (microsecond precision). */
          time: number;
          cursor: string;
          /** The message was not valid UTF-8 (decoded with U+FFFD, as fail2ban decodes it). */
          binary: boolean;
      }
    | { kind: "garbage"; reason: string; cursor?: string };

type Field = string | number[] | null | Array<string | number[] | null>;

const utf8 = new TextDecoder("utf-8", { fatal: true });
const lossy = new TextDecoder("utf-8");

/** A field value as text; `binary` is set when bytes were not UTF-8. Repeated fields are joined by spaces. */
function text(v: Field | undefined, note: { binary: boolean }): string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === "string") return v;
    if (!Array.isArray(v)) return String(v);
    if (v.length > 0 && v.every(x => typeof x === "number")) {
        const bytes = Uint8Array.from(v as number[]);
        try {
            return utf8.decode(bytes);
        } catch {
            note.binary = true;
            return lossy.decode(bytes);
        }
    }
    // A field the entry carries several times: journalctl prints an array of its values.
    const parts = (v as Field[]).map(x => text(x as Field, note)).filter((x): x is string => x !== undefined);
    return parts.join(" ");
}

/**
 * `[PID]` as fail2ban prints it: decimal digits (leading zeros too) or a 0x/0o/0b number as its decimal value,
 * anything else as it is (fail2ban shows such a value as Python bytes, `[b'abc']`; journald never writes one).
 */
function pidText(v: string): string {
    const t = v.trim();
    let n: number | undefined;
    if (/^[+-]?\d+$/.test(t)) n = Number(t);
    else if (/^[+-]?0[xX][0-9a-fA-F]+$/.test(t)) n = Number.parseInt(t, 16);
    else if (/^[+-]?0[oO][0-7]+$/.test(t)) n = Number.parseInt(t.replace(/0[oO]/, ""), 8);
    else if (/^[+-]?0[bB][01]+$/.test(t)) n = Number.parseInt(t.replace(/0[bB]/, ""), 2);
    return n !== undefined && Number.isFinite(n) ? `[${n}]` : `[${v}]`;
}

function micros(v: string | undefined): number | undefined {
    if (v === undefined || !/^\d{1,20}$/.test(v)) return undefined;
    return Number(v);
}

/** Parses one line of `journalctl --output=json`. Never throws: anything unusable is `garbage` with a reason. */
export function parseJournalLine(json: string): JournalLine {
    let v: unknown;
    try {
        v = JSON.parse(json);
    } catch {
        return { kind: "garbage", reason: "not JSON" };
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) return { kind: "garbage", reason: "not an object" };
    const e = v as Record<string, Field>;
    const note = { binary: false };
    const cursor = typeof e.__CURSOR === "string" ? e.__CURSOR : undefined;
    if (!cursor) return { kind: "garbage", reason: "no __CURSOR" };
    const us = micros(text(e._SOURCE_REALTIME_TIMESTAMP, note)) ?? micros(text(e.__REALTIME_TIMESTAMP, note));
    if (us === undefined) return { kind: "garbage", reason: "no realtime timestamp", cursor };
    if (e.MESSAGE === null) return { kind: "garbage", reason: "MESSAGE too large for journalctl to print", cursor };
    const parts: string[] = [];
    const host = text(e._HOSTNAME, note);
    if (host) parts.push(host);
    const ident = text(e.SYSLOG_IDENTIFIER, note) || text(e._COMM, note);
    if (ident) {
        let tag = ident;
        const pid = text(e.SYSLOG_PID, note) || text(e._PID, note);
        if (pid) tag += pidText(pid);
        tag += ":";
        parts.push(tag);
        if (tag === "kernel:") {
            const mono =
                micros(text(e._SOURCE_MONOTONIC_TIMESTAMP, note)) ?? micros(text(e.__MONOTONIC_TIMESTAMP, note));
            if (mono !== undefined) parts.push(`[${(mono / 1e6).toFixed(6).padStart(12)}]`);
        }
    }
    const msgNote = { binary: false };
    parts.push(text(e.MESSAGE, msgNote) ?? "");
    const line = parts.join(" ").replace(/\n/g, "\\n");
    return { kind: "entry", line, time: us / 1e6, cursor, binary: msgNote.binary || note.binary };
}
