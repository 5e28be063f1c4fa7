// Control commands executed against the running server; answers in fail2ban-client's wording where it has one.

import { formatBanned, formatJailStatus, formatStatus, noSuchJail } from "../control/format";
import { ControlResponse, parseCommand, UsageError } from "../control/protocol";
import type { JailwatchServer } from "./daemon";

export async function handleControl(server: JailwatchServer, argv: string[]): Promise<ControlResponse> {
    let cmd;
    try {
        cmd = parseCommand(argv);
    } catch (e) {
        if (e instanceof UsageError) return { ok: false, error: e.message };
        throw e;
    }
    const jail = (name: string) => server.jails.get(name);
    switch (cmd.cmd) {
        case "ping":
            return { ok: true, text: "Server replied: pong" };
        case "status": {
            if (cmd.jail === undefined) {
                let text = formatStatus([...server.jails.keys()]);
                const problems = [...server.problems];
                if (server.stateProblem) problems.push(`cannot save state: ${server.stateProblem}; bans and log positions are not durable until it can`);
                if (server.firewallErrors > 0) problems.push(`${server.firewallErrors} firewall command(s) failed; failed bans are retried every 10 s (see the log)`);
                if (problems.length) text += `\n${problems.map((p) => `! ${p}`).join("\n")}`;
                return { ok: true, text };
            }
            const rj = jail(cmd.jail);
            if (!rj) return { ok: false, error: noSuchJail(cmd.jail) };
            const st = rj.jail.status();
            return {
                ok: true,
                text: formatJailStatus({ name: rj.settings.name, fileList: rj.files, ...st }),
            };
        }
        case "banned":
            return { ok: true, text: formatBanned([...server.jails.values()].map((r) => [r.settings.name, r.jail.bans.activeBans().map((b) => b.ip)])) };
        case "banip": {
            if (!jail(cmd.jail)) return { ok: false, error: noSuchJail(cmd.jail) };
            let n = 0;
            const notes: string[] = [];
            for (const ip of cmd.ips) {
                const r = server.banAddress(cmd.jail, ip, "control");
                if (r.ok) n++;
                else if (r.reason && !r.reason.includes("already banned")) notes.push(r.reason);
            }
            await server.settle();
            if (notes.length && n === 0) return { ok: false, error: notes.join("\n") };
            return { ok: true, text: [String(n), ...notes].join("\n") };
        }
        case "unbanip": {
            if (!jail(cmd.jail)) return { ok: false, error: noSuchJail(cmd.jail) };
            for (const ip of cmd.ips) if (!/^[0-9A-Fa-f:.]+(\/\d+)?$/.test(ip)) return { ok: false, error: `not an IP address: ${ip}` };
            const n = cmd.ips.filter((ip) => server.unbanAddress(cmd.jail, ip)).length;
            await server.settle();
            return { ok: true, text: String(n) };
        }
        case "unban": {
            if (cmd.all) return { ok: true, text: String(await server.unbanAll()) };
            let n = 0;
            for (const ip of cmd.ips) for (const name of server.jails.keys()) if (server.unbanAddress(name, ip)) n++;
            await server.settle();
            return { ok: true, text: String(n) };
        }
        case "reload":
            await server.reload();
            return { ok: true, text: "OK" };
        case "stop":
            // Answer first; the CLI's signal handler stops the process after the reply went out.
            server.unbanOnStop = cmd.unban;
            setImmediate(() => process.emit("SIGTERM"));
            return { ok: true, text: "Shutdown successful" };
    }
}
