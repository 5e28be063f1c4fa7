// Logging for the daemon: one line per event on stderr. Under systemd (JOURNAL_STREAM set) each line starts with a
// `<N>` syslog priority that journald turns into the entry's level and no timestamp (journald adds its own);
// elsewhere lines carry an ISO timestamp and the level name.
//
// Besides, a `logtarget` file gets every line in fail2ban's own format, so what reads fail2ban's log reads ours:
// the stock `recidive` jail above all, whose filter wants `NOTICE  [jail] Ban 1.2.3.4` at the end of a line.

import * as fs from "fs";
import * as path from "path";
import { parseIni } from "../config/ini";

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

export function createLogger(
    level: LogLevel,
    write: (line: string) => void = l => process.stderr.write(l),
    journald = !!process.env.JOURNAL_STREAM,
    /** A file to write fail2ban-format lines to as well (see logTargetFile). */
    logFile?: string,
): Logger {
    const max = ORDER[level];
    let fileFailed = false;
    const file = logFile === undefined ? undefined : new LogFile(logFile);
    const emit = (lv: LogLevel, msg: string) => {
        if (ORDER[lv] > max) return;
        const text = msg.replace(/\n/g, " | ");
        write(
            journald
                ? `<${PRIORITY[lv]}>${text}\n`
                : `${new Date().toISOString()} ${lv.toUpperCase().padEnd(5)} ${text}\n`,
        );
        if (file === undefined) return;
        try {
            file.write(fail2banLine(lv, text, new Date(), process.pid));
            fileFailed = false;
        } catch (e) {
            if (!fileFailed)
                write(
                    `${journald ? "<3>" : `${new Date().toISOString()} ERROR `}cannot write ${logFile}: ${(e as Error).message}\n`,
                );
            fileFailed = true;
        }
    };
    return {
        error: m => emit("error", m),
        warn: m => emit("warn", m),
        info: m => emit("info", m),
        debug: m => emit("debug", m),
    };
}

export const silentLogger: Logger = {
    error: () => undefined,
    warn: () => undefined,
    info: () => undefined,
    debug: () => undefined,
};

/**
 * An append-only log file that follows rotation: at most once a second it checks whether the path still names the
 * open file (logrotate's rename + create, or a deleted file) and reopens it if not.
 */
class LogFile {
    private fd: number | undefined;
    private checked = 0;

    constructor(private readonly file: string) {}

    write(line: string): void {
        const now = Date.now();
        if (this.fd !== undefined && now - this.checked >= 1000) {
            this.checked = now;
            let same = false;
            try {
                same = fs.statSync(this.file).ino === fs.fstatSync(this.fd).ino;
            } catch {
                same = false;
            }
            if (!same) {
                fs.closeSync(this.fd);
                this.fd = undefined;
            }
        }
        if (this.fd === undefined) {
            this.fd = fs.openSync(this.file, "a", 0o640);
            this.checked = now;
        }
        fs.writeSync(this.fd, line);
    }
}

const LEVEL_NAME: Record<LogLevel, string> = { error: "ERROR", warn: "WARNING", info: "INFO", debug: "DEBUG" };

/** `2026-12-02 01:02:03,456` in local time, as fail2ban's log (and the recidive filter's date) has it. */
function fail2banDate(d: Date): string {
    const p = (n: number, w = 2) => String(n).padStart(w, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())},${p(d.getMilliseconds(), 3)}`;
}

/**
 * One line in fail2ban's log format. A ban or unban (`[jail] Ban 1.2.3.4 (600s)`) is fail2ban.actions' NOTICE
 * `[jail] Ban 1.2.3.4`, ending at the address as fail2ban writes it; everything else is fail2ban.server's.
 */
export function fail2banLine(level: LogLevel, msg: string, when: Date, pid: number): string {
    const m = /^\[([^\]]+)\] (Ban|Unban) (\S+)/.exec(msg);
    const name = m ? "fail2ban.actions" : "fail2ban.server";
    const lv = m ? "NOTICE" : LEVEL_NAME[level];
    const text = m ? `[${m[1]}] ${m[2]} ${m[3]}` : msg;
    return `${fail2banDate(when)} ${name.padEnd(24)}[${pid}]: ${lv.padEnd(7)} ${text}\n`;
}

/** jailwatch's log file when neither jailwatch.conf nor fail2ban.conf names one. */
export const DEFAULT_LOG_TARGET = "/var/log/jailwatch.log";

/**
 * The file the server logs to in fail2ban's format, or undefined for none: `logtarget` of `[server]` in
 * jailwatch.conf/.local, else of `[Definition]` (or `[DEFAULT]`) in fail2ban.conf, fail2ban.d/*.conf, fail2ban.local,
 * fail2ban.d/*.local (the later wins, as in fail2ban), else DEFAULT_LOG_TARGET. STDOUT, STDERR, SYSLOG and
 * SYSTEMD-JOURNAL mean no file: those lines already go to stderr (the journal under systemd).
 */
export function logTargetFile(configDir: string, serverValue?: string): string | undefined {
    let target = serverValue;
    if (target === undefined) {
        // configparser's merge: a [Definition] value from any file, else [DEFAULT]'s (where Debian's file has it).
        let fallback: string | undefined;
        const d = path.join(configDir, "fail2ban.d");
        const list = (ext: string) =>
            fs.existsSync(d)
                ? fs
                      .readdirSync(d)
                      .filter(f => f.endsWith(ext))
                      .sort()
                      .map(f => path.join(d, f))
                : [];
        for (const file of [
            path.join(configDir, "fail2ban.conf"),
            ...list(".conf"),
            path.join(configDir, "fail2ban.local"),
            ...list(".local"),
        ]) {
            if (!fs.existsSync(file)) continue;
            const ini = parseIni(fs.readFileSync(file, "utf8"), file);
            const v = ini.sections.find(x => x.name === "Definition")?.entries.get("logtarget");
            if (v) target = v.raw.trim();
            const dv = ini.sections.find(x => x.name === "DEFAULT")?.entries.get("logtarget");
            if (dv) fallback = dv.raw.trim();
        }
        target ??= fallback;
    }
    target = (target ?? DEFAULT_LOG_TARGET).trim();
    if (/^(STDOUT|STDERR|SYSLOG|SYSTEMD-JOURNAL)$/i.test(target) || target === "") return undefined;
    return target;
}
