// The control protocol: the client sends its words as one JSON line `{"argv": [...]}`; the server answers one JSON
// line `{"ok": true, "text": "..."}` or `{"ok": false, "error": "..."}`. Parsing the words is shared by both
// sides so the client rejects a malformed command before connecting.

export type ControlCommand =
    | { cmd: "ping" }
    | { cmd: "status"; jail?: string }
    | { cmd: "banned" }
    | { cmd: "banip"; jail: string; ips: string[] }
    | { cmd: "unbanip"; jail: string; ips: string[] }
    | { cmd: "unban"; all: true }
    | { cmd: "unban"; all: false; ips: string[] }
    | { cmd: "reload" }
    | { cmd: "stop"; unban: boolean };

export interface ControlRequest {
    argv: string[];
}

export type ControlResponse = { ok: true; text: string } | { ok: false; error: string };

export class UsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UsageError";
    }
}

export const CLIENT_USAGE = `usage: jailwatch client [-s SOCKET] COMMAND
commands:
  ping                          check that the server answers
  status [JAIL]                 overall status, or one jail's (fail2ban-client's format)
  banned                        every banned address, by jail
  set JAIL banip IP...          ban addresses in JAIL now
  set JAIL unbanip IP...        lift bans in JAIL
  unban --all | unban IP...     lift every ban, or these addresses in every jail
  reload                        re-read the configuration
  stop [--unban]                stop the server; bans stay in force unless --unban`;

/** Parses the client's words into a command; throws UsageError with a message fit for the terminal. */
export function parseCommand(argv: string[]): ControlCommand {
    const [verb, ...rest] = argv;
    const none = (c: ControlCommand): ControlCommand => {
        if (rest.length > 0) throw new UsageError(`${verb} takes no arguments`);
        return c;
    };
    switch (verb) {
        case undefined:
            throw new UsageError("no command given");
        case "ping":
            return none({ cmd: "ping" });
        case "banned":
            return none({ cmd: "banned" });
        case "reload":
            return none({ cmd: "reload" });
        case "stop":
            if (rest.length === 1 && rest[0] === "--unban") return { cmd: "stop", unban: true };
            return none({ cmd: "stop", unban: false });
        case "status":
            if (rest.length > 1) throw new UsageError("status takes at most one jail name");
            return rest.length ? { cmd: "status", jail: rest[0] } : { cmd: "status" };
        case "set": {
            const [jail, action, ...ips] = rest;
            if (!jail || !action) throw new UsageError("usage: set JAIL banip|unbanip IP...");
            if (action !== "banip" && action !== "unbanip") throw new UsageError(`set: unknown action ${JSON.stringify(action)} (banip or unbanip)`);
            if (ips.length === 0) throw new UsageError(`set ${jail} ${action}: no address given`);
            return { cmd: action, jail, ips };
        }
        case "unban":
            if (rest.length === 1 && rest[0] === "--all") return { cmd: "unban", all: true };
            if (rest.length === 0) throw new UsageError("usage: unban --all | unban IP...");
            if (rest.includes("--all")) throw new UsageError("unban --all takes no addresses");
            return { cmd: "unban", all: false, ips: rest };
        default:
            throw new UsageError(`unknown command ${JSON.stringify(verb)}`);
    }
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
    if (!Array.isArray(argv) || !argv.every((a) => typeof a === "string")) throw new UsageError("request must be {\"argv\": [strings]}");
    return { argv };
}

export function encodeResponse(r: ControlResponse): string {
    return JSON.stringify(r) + "\n";
}

export function decodeResponse(line: string): ControlResponse {
    const v = JSON.parse(line) as ControlResponse;
    if (typeof v !== "object" || v === null || typeof v.ok !== "boolean") throw new Error("malformed response from server");
    return v;
}
