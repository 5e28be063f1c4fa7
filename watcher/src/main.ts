// jailwatch command line: a thin dispatcher. Each command lives in cli/<name>.ts and returns an exit status.
//
//   jailwatch -d [-c DIR]            effective settings of enabled jails
//   jailwatch -t [-c DIR]            configuration test
//   jailwatch regex LOG FILTER ...   fail2ban-regex compatible tester
//   jailwatch --version | --help

import { runCheck } from "./cli/check";
import { defaultConfigDir } from "./cli/common";
import { runDump } from "./cli/dump";
import { HELP } from "./cli/help";
import { runRegex } from "./cli/regex";
import { runServer } from "./cli/server";
import { runClient } from "./cli/client";
import { VERSION } from "./cli/version";
import { parseArgs, optString, UsageError } from "./cli/args";
import { isMainThread } from "worker_threads";

type Command = (argv: string[]) => number | Promise<number>;

/** Subcommands by first argument. Daemon commands (`server`, `client`) register here too. */
const SUBCOMMANDS: Record<string, Command> = {
    regex: runRegex,
    server: runServer,
    client: runClient,
};

function out(s: string): void {
    process.stdout.write(s + "\n");
}
function err(s: string): void {
    process.stderr.write(s + "\n");
}

/** Top-level options: -d, -t, -c DIR, --version, --help. */
function runTopLevel(argv: string[]): number {
    const p = parseArgs(argv, [
        { names: ["-c", "--config", "--conf"], value: true },
        { names: ["-d", "--dump"] },
        { names: ["-t", "--test"] },
        { names: ["-V", "--version"] },
        { names: ["-h", "--help"] },
    ]);
    if (p.options.has("help")) {
        out(HELP);
        return 0;
    }
    if (p.options.has("version")) {
        out(`jailwatch ${VERSION}`);
        return 0;
    }
    if (p.positional.length > 0) throw new UsageError(`unknown command ${JSON.stringify(p.positional[0])}`);
    const dir = optString(p, "config") ?? defaultConfigDir();
    if (p.options.has("test")) return runCheck(dir, out, err);
    if (p.options.has("dump")) return runDump(dir, out, err);
    throw new UsageError("nothing to do");
}

/**
 * Started under fail2ban's tool names (a link named `fail2ban-client` or `fail2ban-regex`, on hosts without
 * fail2ban), jailwatch acts as that tool: its arguments are the client's or the regex tester's.
 */
export function aliasCommand(names: Array<string | undefined>): Command | undefined {
    for (const n of names) {
        const base = n === undefined ? "" : n.replace(/^.*\//, "");
        if (base === "fail2ban-client") return runClient;
        if (base === "fail2ban-regex") return runRegex;
    }
    return undefined;
}

export async function main(argv: string[], alias?: Command): Promise<number> {
    try {
        if (alias) return await alias(argv);
        const sub = argv.length > 0 ? SUBCOMMANDS[argv[0]] : undefined;
        if (sub) return await sub(argv.slice(1));
        return runTopLevel(argv);
    } catch (e) {
        if (e instanceof UsageError) {
            err(`jailwatch: ${e.message}\nTry 'jailwatch --help'.`);
            return 2;
        }
        err(`jailwatch: ${e instanceof Error ? e.message : String(e)}`);
        return 1;
    }
}

// Worker threads (parallel `regex`) start this same file; only the main thread runs the command line.
if (require.main === module && isMainThread) {
    main(process.argv.slice(2), aliasCommand([process.argv0, process.argv[1]])).then(
        code => {
            process.exitCode = code;
        },
        e => {
            err(`jailwatch: ${e instanceof Error ? e.stack : String(e)}`);
            process.exitCode = 1;
        },
    );
}
