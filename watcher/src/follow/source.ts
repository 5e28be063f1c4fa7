// What every backend that reads log lines offers the server (files, the journal): started and stopped, a position
// to persist, counters. A position returned by `position()` covers only lines already handed to `onLines` (which
// runs synchronously), so the server can make their outcome durable before it saves the position.

import type { FilePosition } from "./rotation";
import type { DateOf } from "./startup";

export interface SourceLog {
    info(msg: string): void;
    warn(msg: string): void;
    error?(msg: string): void;
    debug(msg: string): void;
}

/** Where a journal reader stands: the last entry handed over, and its time (fallback if the cursor is gone). */
export interface JournalPosition {
    cursor: string;
    /** Epoch seconds of that entry. */
    time: number;
}

export type SourcePosition = FilePosition | JournalPosition;

export function isJournalPosition(p: SourcePosition | undefined): p is JournalPosition {
    return !!p && typeof (p as JournalPosition).cursor === "string";
}

export interface SourceOptions {
    /** The source's key (a file path, or `journal:...`): what positions are saved under. */
    key: string;
    /** Position saved by an earlier run, if any. */
    start?: SourcePosition;
    /**
     * Receives lines in log order, synchronously. `times` (epoch s, one per line) is given by sources whose entries
     * carry their own time (the journal): the filter then uses it instead of looking for a date in the text.
     */
    onLines(lines: string[], key: string, times?: number[]): void;
    log: SourceLog;
    /** Use inotify for files (default true). */
    watch?: boolean;
    /** No saved position: read what is dated `since` (epoch s) or later, as fail2ban does within findtime. */
    firstStart?: { since: number; dateOf: DateOf };
}

export interface LineSource {
    readonly key: string;
    start(): void;
    stop(): void;
    /** The position to persist; undefined when there is nothing to remember yet. */
    position(): SourcePosition | undefined;
    /** Lines handed over since start. */
    readonly linesRead: number;
    /** Lines or entries that could not be used (over-long, garbage), counted since start. */
    readonly linesDropped: number;
    /** How far behind the source the reader is, in bytes, when the source can tell. */
    lagBytes(): number | undefined;
}
