// The control protocol: the client sends its words as one JSON line `{"argv": [...]}`; the server answers one JSON
// line `{"ok": true, "text": "..."}` or `{"ok": false, "error": "..."}`. Parsing the words is shared by both
// sides so the client rejects a malformed command before connecting. The words are fail2ban-client's (same
// commands, same error texts), so scripts written against fail2ban-client work unchanged.

export type ControlCommand =
    | { cmd: "ping" }
    | { cmd: "version" }
    | { cmd: "echo"; words: string[] }
    | { cmd: "status"; jail?: string; flavor?: string }
    | { cmd: "banned"; ips: string[] }
    | { cmd: "banip"; jail: string; ips: string[] }
    | { cmd: "unbanip"; jail: string; ips: string[]; reportAbsent: boolean }
    | { cmd: "unban"; all: true }
    | { cmd: "unban"; all: false; ips: string[] }
    | { cmd: "reload"; jail?: string; unban: boolean; restart: boolean; ifExists: boolean }
    | { cmd: "stop"; unban: boolean }
    /** `get <JAIL> <KEY> [ARGS]` (jail settings) or `get <KEY>` (server settings: jail undefined). */
    | { cmd: "get"; jail?: string; key: string; args: string[] }
    | { cmd: "set"; jail: string; key: string; args: string[] };

export interface ControlRequest {
    argv: string[];
}

/**
 * `quiet`: fail2ban-client prints this error only in its log (stderr), nothing on stdout; the client does the same.
 */
export type ControlResponse = { ok: true; text: string } | { ok: false; error: string; quiet?: boolean };

export class UsageError extends Error {
    /** `quiet`: fail2ban-client only logs this one (stderr), stdout stays empty. */
    constructor(
        message: string,
        readonly quiet = false,
    ) {
        super(message);
        this.name = "UsageError";
    }
}

/** fail2ban's answer to an unknown command or too few words (exit 255). */
export const INVALID_COMMAND = "Invalid command";
export const INVALID_ARGUMENTS = "Sorry but the command is invalid";

/** Jail settings `get <JAIL> KEY` answers (see server/commands.ts). */
export const GET_KEYS = [
    "banned",
    "banip",
    "logpath",
    "logencoding",
    "journalmatch",
    "ignoreself",
    "ignoreip",
    "ignorecommand",
    "failregex",
    "ignoreregex",
    "prefregex",
    "findtime",
    "bantime",
    "datepattern",
    "usedns",
    "maxretry",
    "maxlines",
    "actions",
] as const;
/** `get KEY` of the server itself (fail2ban-client's LOGGING and DATABASE sections). */
export const SERVER_GET_KEYS = ["loglevel", "logtarget", "syslogsocket", "dbfile", "dbmaxmatches", "dbpurgeage"];
/** Jail settings `set <JAIL> KEY ...` changes. */
export const SET_KEYS = ["maxretry", "findtime", "bantime", "addignoreip", "delignoreip", "banip", "unbanip"] as const;

export const CLIENT_USAGE = `usage: jailwatch client [-s SOCKET] [-c DIR] COMMAND   (fail2ban-client's commands and output)
commands:
  ping                              check that the server answers
  version                           the server's version
  status [JAIL [basic|--all]]       overall status, or one jail's
  banned [IP...]                    banned addresses by jail, or the jails that ban each IP
  get JAIL banip [SEP|--with-time]  a jail's banned addresses, ordered by end of ban
  get JAIL banned [IP...]           a jail's bans as a list, or 1/0 per IP
  get JAIL KEY                      ${GET_KEYS.filter(k => k !== "banip" && k !== "banned").join("|")}
  get loglevel                      the server's log level
  set JAIL banip IP...              ban addresses in JAIL now
  set JAIL unbanip [--report-absent] IP...
                                    lift bans in JAIL
  set JAIL maxretry N | findtime T | bantime T
                                    change a running jail (until the next reload)
  set JAIL addignoreip IP... | delignoreip IP
                                    change a running jail's ignore list (until the next reload)
  unban --all | unban IP...         lift every ban, or these addresses in every jail
  reload [--unban] [--restart] [--all] [--if-exists] [JAIL]
                                    re-read the configuration (of every jail, or of JAIL)
  stop [--unban]                    stop the server; bans stay in force unless --unban
  echo WORDS                        answer the words back
options: -s SOCKET (default /run/jailwatch/jailwatch.sock, or [server] socket of -c DIR), -c DIR,
  -V (version), --version, -h; fail2ban-client's -p FILE, -v, -q, -x, -b, --loglevel, --logtarget are accepted
  and ignored; -t and -d run jailwatch -t/-d on -c DIR; --str2sec TIME prints TIME in seconds.`;

/** Parses the client's words into a command; throws UsageError with fail2ban-client's message. */
export function parseCommand(argv: string[]): ControlCommand {
    const [verb, ...rest] = argv;
    switch (verb) {
        case undefined:
            throw new UsageError("no command given");
        case "ping":
            // fail2ban takes an optional timeout here; it must be a number.
            if (rest.length > 0 && !Number.isFinite(Number(rest[0])))
                throw new UsageError(`could not convert string to float: '${rest[0]}'`, true);
            return { cmd: "ping" };
        case "version":
            return { cmd: "version" };
        case "echo":
            return { cmd: "echo", words: rest };
        case "banned":
            return { cmd: "banned", ips: rest };
        case "reload":
            return parseReload(rest);
        case "stop":
            if (rest.length === 1 && rest[0] === "--unban") return { cmd: "stop", unban: true };
            if (rest.length > 0)
                throw new UsageError("stopping a single jail is not supported (stop [--unban] stops the server)");
            return { cmd: "stop", unban: false };
        case "status":
            if (rest.length === 0) return { cmd: "status" };
            return { cmd: "status", jail: rest[0], ...(rest.length > 1 ? { flavor: rest[1] } : {}) };
        case "get": {
            if (rest.length === 0) throw new UsageError(INVALID_ARGUMENTS);
            if (rest.length === 1) {
                // `get loglevel` asks the server; `get sshd` is a jail without a key.
                if (!SERVER_GET_KEYS.includes(rest[0])) throw new UsageError(INVALID_ARGUMENTS);
                return { cmd: "get", key: rest[0], args: [] };
            }
            const [jail, key, ...args] = rest;
            return { cmd: "get", jail, key, args };
        }
        case "set": {
            const [jail, key, ...args] = rest;
            if (jail === undefined || key === undefined) throw new UsageError(INVALID_ARGUMENTS);
            if (SERVER_GET_KEYS.includes(jail))
                throw new UsageError(
                    `set ${jail} is not supported by jailwatch (set it in the [server] section of jailwatch.conf and restart)`,
                );
            if (key === "banip") {
                if (args.length === 0) throw new UsageError(INVALID_ARGUMENTS);
                return { cmd: "banip", jail, ips: args };
            }
            if (key === "unbanip") {
                const reportAbsent = args[0] === "--report-absent";
                const ips = reportAbsent ? args.slice(1) : args;
                if (ips.length === 0) throw new UsageError(INVALID_ARGUMENTS);
                return { cmd: "unbanip", jail, ips, reportAbsent };
            }
            return { cmd: "set", jail, key, args };
        }
        case "unban":
            if (rest.length === 1 && rest[0] === "--all") return { cmd: "unban", all: true };
            if (rest.length === 0) throw new UsageError(INVALID_COMMAND);
            return { cmd: "unban", all: false, ips: rest.filter(ip => ip !== "--all") };
        default:
            if (UNSUPPORTED_VERBS[verb])
                throw new UsageError(`${verb} is not supported by jailwatch: ${UNSUPPORTED_VERBS[verb]}`);
            throw new UsageError(INVALID_COMMAND);
    }
}

/** fail2ban-client commands jailwatch does not take, with what to do instead. */
const UNSUPPORTED_VERBS: Record<string, string> = {
    start: "start the server with `jailwatch server` (or `jailwatch client start` with no jail); jails start with it",
    restart: "restart the service (systemctl restart jailwatch); `reload [--unban] JAIL` re-reads one jail",
    add: "jails come from the configuration; add one there and reload",
    flushlogs: "the server logs to stderr or the journal, there is no log file to reopen",
    help: "see `jailwatch client --help`",
};

/** `reload [--restart] [--unban] [--all] [--if-exists] [JAIL]`, as fail2ban-client reads it. */
function parseReload(rest: string[]): ControlCommand {
    const r = {
        cmd: "reload" as const,
        unban: false,
        restart: false,
        ifExists: false,
        jail: undefined as string | undefined,
    };
    const names: string[] = [];
    for (const w of rest) {
        if (w === "--unban") r.unban = true;
        else if (w === "--restart") r.restart = true;
        else if (w === "--if-exists") r.ifExists = true;
        else if (w === "--all") continue;
        else names.push(w);
    }
    if (names.length > 1)
        throw new UsageError(`Unexpected argument(s) for reload: [${names.map(n => `'${n}'`).join(", ")}]`, true);
    if (names.length === 1) r.jail = names[0];
    return r;
}

export function encodeRequest(argv: string[]): string {
    return JSON.stringify({ argv } satisfies ControlRequest) + "\n";
}

/** Decodes one request line; throws UsageError on anything that is not `{"argv": [strings]}`. */
export function decodeRequest(line: string): ControlRequest {
    let v: unknown;
    try {
        v = JSON.parse(line);
    } catch {
        throw new UsageError("request is not JSON");
    }
    const argv = (v as { argv?: unknown })?.argv;
    if (!Array.isArray(argv) || !argv.every(a => typeof a === "string"))
        throw new UsageError('request must be {"argv": [strings]}');
    return { argv };
}

export function encodeResponse(r: ControlResponse): string {
    return JSON.stringify(r) + "\n";
}

export function decodeResponse(line: string): ControlResponse {
    const v = JSON.parse(line) as ControlResponse;
    if (typeof v !== "object" || v === null || typeof v.ok !== "boolean")
        throw new Error("malformed response from server");
    return v;
}
