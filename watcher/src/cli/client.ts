// `jailwatch client [-s SOCKET] COMMAND...`: talks to a running server over its control socket.

import { sendCommand } from "../control/client";
import { CLIENT_USAGE, parseCommand, UsageError as ProtocolUsage } from "../control/protocol";
import { DEFAULT_SOCKET } from "../server/options";
import { UsageError } from "./args";

export async function runClient(argv: string[]): Promise<number> {
    let socket = DEFAULT_SOCKET;
    let i = 0;
    // Only leading options belong to the client; the command's own words (e.g. `unban --all`) pass through.
    for (; i < argv.length; i++) {
        const a = argv[i];
        if (a === "-s" || a === "--socket") {
            if (argv[i + 1] === undefined) throw new UsageError(`option ${a} needs a value`);
            socket = argv[++i];
        } else if (a.startsWith("--socket=")) socket = a.slice("--socket=".length);
        else if (a === "-h" || a === "--help") {
            process.stdout.write(CLIENT_USAGE + "\n");
            return 0;
        } else break;
    }
    const words = argv.slice(i);
    try {
        parseCommand(words);
    } catch (e) {
        if (e instanceof ProtocolUsage) throw new UsageError(`client: ${e.message}\n${CLIENT_USAGE}`);
        throw e;
    }
    const r = await sendCommand(socket, words);
    if (r.ok) {
        process.stdout.write(r.text + "\n");
        return 0;
    }
    process.stderr.write(r.error + "\n");
    return 1;
}
