// `jailwatch server`: the daemon. In the foreground (-f, what the systemd unit uses) it logs to stderr; without -f
// it starts itself again detached, waits until the control socket answers, and returns.

import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { sendCommand } from "../control/client";
import { ControlServer } from "../control/server";
import { createPeerLink } from "../peers";
import { JailwatchServer } from "../server/daemon";
import { createLogger, logTargetFile, parseLogLevel } from "../server/log";
import {
    DEFAULT_CONFIG_DIR,
    DEFAULT_SOCKET,
    DEFAULT_STATE_DIR,
    metricsOptions,
    peerOptions,
    readServerSection,
    ServerOptions,
} from "../server/options";
import { optString, parseArgs, UsageError } from "./args";

export const SERVER_USAGE = `usage: jailwatch server [-c DIR] [-f] [-s SOCKET] [--state DIR] [--loglevel LEVEL] [--banaction NAME] [--polling]
  -c DIR            configuration directory (default ${DEFAULT_CONFIG_DIR}; fail2ban layout)
  -f                stay in the foreground, log to stderr (systemd)
  -s SOCKET         control socket (default ${DEFAULT_SOCKET})
  --state DIR       bans, offender history and log positions (default ${DEFAULT_STATE_DIR})
  --loglevel LEVEL  error, warn, info (default), debug
  --banaction NAME  use this backend for every jail: nftables, iptables-ipset, dummy
  --polling         poll log files instead of using inotify`;

function isSea(): boolean {
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        return (require("node:sea") as { isSea(): boolean }).isSea();
    } catch {
        return false;
    }
}

/** The command line that runs this very program again (plain node script or single executable). */
function selfCommand(args: string[]): [string, string[]] {
    if (isSea()) return [process.execPath, args];
    return [process.execPath, [...process.execArgv, process.argv[1], ...args]];
}

export async function runServer(argv: string[]): Promise<number> {
    const p = parseArgs(argv, [
        { names: ["-c", "--conf", "--config"], value: true },
        { names: ["-f", "--foreground"] },
        { names: ["-s", "--socket"], value: true },
        { names: ["--state"], value: true },
        { names: ["--loglevel"], value: true },
        { names: ["--banaction"], value: true },
        { names: ["--polling"] },
        { names: ["-h", "--help"] },
    ]);
    if (p.options.has("help")) {
        process.stdout.write(SERVER_USAGE + "\n");
        return 0;
    }
    if (p.positional.length) throw new UsageError(`server: unexpected argument ${JSON.stringify(p.positional[0])}`);
    const configDir = path.resolve(optString(p, "conf") ?? DEFAULT_CONFIG_DIR);
    const section = readServerSection(configDir);
    const opts: ServerOptions = {
        configDir,
        socket: path.resolve(optString(p, "socket") ?? section.socket?.value ?? DEFAULT_SOCKET),
        stateDir: path.resolve(optString(p, "state") ?? section.statedir?.value ?? DEFAULT_STATE_DIR),
        foreground: p.options.has("foreground"),
        loglevel: parseLogLevel(optString(p, "loglevel") ?? section.loglevel?.value ?? "info"),
        banaction: optString(p, "banaction") ?? section.banaction?.value,
        polling: p.options.has("polling"),
        peers: peerOptions(section),
        metrics: metricsOptions(section),
    };
    if (!opts.foreground) return daemonize(argv, opts);

    const log = createLogger(opts.loglevel, undefined, undefined, logTargetFile(configDir, section.logtarget?.value));
    const peers = createPeerLink(opts.peers, log);
    // The control command `stop` takes the same path as SIGTERM (and logs the same line), once the loop below is set.
    let requestStop: (() => void) | undefined;
    const server = new JailwatchServer(opts, log, { peers, requestStop: () => requestStop?.() });
    const control = new ControlServer(opts.socket, a => server.handle(a));
    try {
        await server.start();
        await control.listen();
    } catch (e) {
        log.error(e instanceof Error ? e.message : String(e));
        await server.stop().catch(() => undefined);
        await control.close();
        return 1;
    }
    log.info(`control socket ${opts.socket}; state ${opts.stateDir}`);
    return new Promise<number>(resolve => {
        let stopping = false;
        const stop = (sig: string) => {
            if (stopping) return;
            stopping = true;
            log.info(`${sig}: stopping`);
            Promise.all([server.stop({ unban: server.unbanOnStop }), control.close()]).then(
                () => resolve(0),
                e => {
                    log.error(`stop failed: ${(e as Error).message}`);
                    resolve(1);
                },
            );
        };
        requestStop = () => stop("SIGTERM");
        process.on("SIGTERM", () => stop("SIGTERM"));
        process.on("SIGINT", () => stop("SIGINT"));
        process.on("SIGHUP", () => {
            server
                .reload()
                .catch(e => log.error(`reload failed, keeping the running configuration: ${(e as Error).message}`));
        });
    });
}

/** Background mode: start `server -f` detached (log into the state dir) and wait for its socket. */
async function daemonize(argv: string[], opts: ServerOptions): Promise<number> {
    fs.mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
    const logFile = path.join(opts.stateDir, "jailwatch.log");
    const fd = fs.openSync(logFile, "a", 0o600);
    const [cmd, args] = selfCommand(["server", "-f", ...argv]);
    const child = spawn(cmd, args, { detached: true, stdio: ["ignore", fd, fd] });
    child.unref();
    fs.closeSync(fd);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
        if (child.exitCode !== null) {
            process.stderr.write(`jailwatch: server failed to start (exit ${child.exitCode}); see ${logFile}\n`);
            return 1;
        }
        try {
            const r = await sendCommand(opts.socket, ["ping"], 1000);
            if (r.ok) {
                process.stdout.write(`Server ready (pid ${child.pid}, log ${logFile})\n`);
                return 0;
            }
        } catch {
            // not up yet
        }
        await new Promise(r => setTimeout(r, 100));
    }
    process.stderr.write(`jailwatch: server did not answer on ${opts.socket} within 30s; see ${logFile}\n`);
    return 1;
}
