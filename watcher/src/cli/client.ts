// `jailwatch client [OPTIONS] COMMAND...`: talks to a running server over its control socket, with
// fail2ban-client's options, output and exit codes (0, or 255 with the error on stdout), so scripts written for
// fail2ban-client work unchanged. Also what runs when jailwatch is started under the name `fail2ban-client`.

import * as path from "path";
import { sendCommand } from "../control/client";
import { CLIENT_USAGE, parseCommand, UsageError as ProtocolUsage } from "../control/protocol";
import { parseDuration } from "../jail/time";
import { DEFAULT_CONFIG_DIR, DEFAULT_SOCKET, readServerSection } from "../server/options";
import { UsageError } from "./args";
import { runCheck } from "./check";
import { runDump } from "./dump";
import { runServer } from "./server";
import { VERSION } from "./version";

/** fail2ban-client's exit status for every failure. */
export const CLIENT_ERROR = 255;

/** fail2ban-client options that take a value and mean nothing to a client of jailwatch (accepted, ignored). */
const IGNORED_WITH_VALUE = new Set([
    "-p",
    "--pidfile",
    "--pname",
    "--loglevel",
    "--logtarget",
    "--syslogsocket",
    "--timeout",
]);
const IGNORED_FLAGS = new Set(["-v", "-q", "-x", "-b", "-f", "--async"]);

function out(s: string): void {
    process.stdout.write(s + "\n");
}
function err(s: string): void {
    process.stderr.write(s + "\n");
}

export async function runClient(argv: string[]): Promise<number> {
    let socket: string | undefined;
    let confDir: string | undefined;
    let mode: "command" | "test" | "dump" = "command";
    let i = 0;
    const value = (a: string): string => {
        if (argv[i + 1] === undefined) throw new UsageError(`option ${a} needs a value`);
        return argv[++i];
    };
    // Only leading options belong to the client; the command's own words (e.g. `unban --all`) pass through.
    for (; i < argv.length; i++) {
        const a = argv[i];
        const eq = a.startsWith("--") ? a.indexOf("=") : -1;
        const name = eq > 0 ? a.slice(0, eq) : a;
        const inline = eq > 0 ? a.slice(eq + 1) : undefined;
        if (name === "-s" || name === "--socket") socket = inline ?? value(a);
        else if (name === "-c" || name === "--conf" || name === "--config") confDir = inline ?? value(a);
        else if (IGNORED_WITH_VALUE.has(name)) {
            if (inline === undefined) value(a);
        } else if (IGNORED_FLAGS.has(a)) continue;
        else if (a === "-t" || a === "--test") mode = "test";
        else if (a === "-d") mode = "dump";
        else if (a === "-h" || a === "--help") {
            out(CLIENT_USAGE);
            return 0;
        } else if (a === "-V") {
            out(VERSION);
            return 0;
        } else if (a === "--version") {
            out(`jailwatch v${VERSION}`);
            return 0;
        } else if (name === "--str2sec") {
            const v = inline ?? value(a);
            const n = parseDuration(v);
            if (n === undefined) {
                err(`ERROR   invalid time: ${v}`);
                return CLIENT_ERROR;
            }
            out(String(n));
            return 0;
        } else if (a === "-i" || a === "--dp" || a === "--dump-pretty")
            throw new UsageError(`client: option ${a} is not supported`);
        else if (a.startsWith("-") && a !== "-" && !/^-\d/.test(a)) throw new UsageError(`client: unknown option ${a}`);
        else break;
    }
    const dir = path.resolve(confDir ?? DEFAULT_CONFIG_DIR);
    if (mode === "test") return runCheck(dir, out, err);
    if (mode === "dump") return runDump(dir, out, err);
    // As fail2ban-client: the socket comes from the configuration directory unless -s names one.
    const sock = socket ?? readServerSection(dir).socket?.value ?? DEFAULT_SOCKET;
    const words = argv.slice(i);
    if (words.length === 0) {
        out(CLIENT_USAGE);
        return CLIENT_ERROR;
    }
    if (words[0] === "start" && words.length === 1) return runServer(["-c", dir, "-s", sock]);
    try {
        parseCommand(words);
    } catch (e) {
        if (e instanceof ProtocolUsage) {
            (e.quiet ? err : out)(e.message);
            return CLIENT_ERROR;
        }
        throw e;
    }
    let r;
    try {
        r = await sendCommand(sock, words);
    } catch (e) {
        err(`ERROR   Failed to access socket path: ${sock}. Is jailwatch running? (${(e as Error).message})`);
        return CLIENT_ERROR;
    }
    if (r.ok) {
        out(r.text);
        return 0;
    }
    (r.quiet ? err : out)(r.error);
    return CLIENT_ERROR;
}
