// Logging for the daemon: one line per event on stderr. Under systemd (JOURNAL_STREAM set) each line starts with a
// `<N>` syslog priority that journald turns into the entry's level and no timestamp (journald adds its own);
// elsewhere lines carry an ISO timestamp and the level name.

export type LogLevel = "error" | "warn" | "info" | "debug";

const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };
const PRIORITY: Record<LogLevel, number> = { error: 3, warn: 4, info: 6, debug: 7 };

/** Accepts our names and fail2ban's (CRITICAL, ERROR, WARNING, NOTICE, INFO, DEBUG, TRACEDEBUG...). */
export function parseLogLevel(text: string): LogLevel {
    const t = text.trim().toLowerCase();
    if (t === "critical" || t === "error" || t === "err") return "error";
    if (t === "warning" || t === "warn") return "warn";
    if (t === "notice" || t === "info") return "info";
    if (t === "debug" || t === "tracedebug" || t === "heavydebug") return "debug";
    throw new Error(`unknown log level ${JSON.stringify(text)} (error, warn, info, debug)`);
}

export interface Logger {
    error(msg: string): void;
    warn(msg: string): void;
    info(msg: string): void;
    debug(msg: string): void;
}

export function createLogger(level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l), journald = !!process.env.JOURNAL_STREAM): Logger {
    const max = ORDER[level];
    const emit = (lv: LogLevel, msg: string) => {
        if (ORDER[lv] > max) return;
        const text = msg.replace(/\n/g, " | ");
        write(journald ? `<${PRIORITY[lv]}>${text}\n` : `${new Date().toISOString()} ${lv.toUpperCase().padEnd(5)} ${text}\n`);
    };
    return {
        error: (m) => emit("error", m),
        warn: (m) => emit("warn", m),
        info: (m) => emit("info", m),
        debug: (m) => emit("debug", m),
    };
}

export const silentLogger: Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };
