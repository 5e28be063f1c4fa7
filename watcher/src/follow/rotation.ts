// Pure decisions of the log follower: where to read next given what we remember and what the file system says now.
// Kept free of I/O so rotation handling can be tested exhaustively.

/** Where reading stopped in one log file; persisted in the state dir. */
export interface FilePosition {
    /** Device and inode of the file the offset belongs to. */
    dev: number;
    ino: number;
    /** Byte offset just past the last complete line handed to the filter. */
    offset: number;
    /** Hash of the file's first bytes when the position was taken, to notice a truncated-and-refilled file. */
    head?: string;
    /** How many bytes `head` covers. */
    headLen?: number;
}

/** What stat(2) says about the log path now. */
export interface FileIdentity {
    dev: number;
    ino: number;
    size: number;
}

export type StartDecision =
    /** Nothing remembered: a log we have never read starts at its end, as fail2ban does. */
    | { kind: "from-end"; offset: number; reason: string }
    /** Same file as remembered: continue exactly where we stopped. */
    | { kind: "resume"; offset: number; reason: string }
    /** The remembered file was replaced or truncated while we were away: read the current file from its start. */
    | { kind: "from-start"; offset: 0; reason: string };

/**
 * Where to start reading a log at server start. `headNow` is the hash of the current file's first `saved.headLen`
 * bytes (undefined if the file is shorter than that or no head was saved).
 */
export function decideStart(saved: FilePosition | undefined, now: FileIdentity, headNow?: string): StartDecision {
    if (!saved) return { kind: "from-end", offset: now.size, reason: "new log, reading from its end" };
    if (saved.dev !== now.dev || saved.ino !== now.ino) {
        return { kind: "from-start", offset: 0, reason: "log was rotated while stopped" };
    }
    if (now.size < saved.offset) return { kind: "from-start", offset: 0, reason: "log was truncated while stopped" };
    if (saved.head !== undefined && headNow !== saved.head) {
        return { kind: "from-start", offset: 0, reason: "log was truncated and rewritten while stopped" };
    }
    return { kind: "resume", offset: saved.offset, reason: "resuming at saved position" };
}

export type StepDecision =
    /** The open file is still the log: read what was appended. */
    | { kind: "read" }
    /** Same inode but shorter than our offset: copytruncate happened; start over at 0. */
    | { kind: "truncated" }
    /** The path now names another file (rename + create): drain the old one, then read the new one from 0. */
    | { kind: "replaced" }
    /** The path is gone (renamed away, not yet recreated): keep draining the old file and wait. */
    | { kind: "vanished" };

/** What to do on a change notification, given the open file's identity and offset and the path's current stat. */
export function decideStep(
    open: { dev: number; ino: number; offset: number; size: number },
    path: FileIdentity | undefined,
): StepDecision {
    if (!path) return { kind: "vanished" };
    if (path.dev !== open.dev || path.ino !== open.ino) return { kind: "replaced" };
    if (open.size < open.offset) return { kind: "truncated" };
    return { kind: "read" };
}
