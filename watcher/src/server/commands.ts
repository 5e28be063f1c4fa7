// Control commands executed against the running server; answers in fail2ban-client's wording and layout (see
// control/format.ts), so scripts written against fail2ban-client read the same text.

import { VERSION } from "../cli/version";
import {
    formatBanip,
    formatBanned,
    formatBannedByIp,
    formatJailBanned,
    formatJailStatus,
    formatStatus,
    noSuchJail,
} from "../control/format";
import { ControlCommand, ControlResponse, parseCommand, UsageError } from "../control/protocol";
import { jailGet, jailSet, serverGet } from "../control/settings";
import type { ControlTarget, RuntimeJail } from "./interfaces";

export async function handleControl(server: ControlTarget, argv: string[]): Promise<ControlResponse> {
    let cmd: ControlCommand;
    try {
        cmd = parseCommand(argv);
    } catch (e) {
        if (e instanceof UsageError) return { ok: false, error: e.message, ...(e.quiet ? { quiet: true } : {}) };
        throw e;
    }
    const jail = (name: string) => server.jails.get(name);
    switch (cmd.cmd) {
        case "ping":
            return { ok: true, text: "Server replied: pong" };
        case "version":
            return { ok: true, text: VERSION };
        case "echo":
            return { ok: true, text: cmd.words.join(" ") };
        case "status": {
            if (cmd.jail === undefined) {
                let text = formatStatus([...server.jails.keys()]);
                const problems = [...server.problems];
                if (server.stateProblem)
                    problems.push(
                        `cannot save state: ${server.stateProblem}; bans and log positions are not durable until it can`,
                    );
                if (server.firewallErrors > 0)
                    problems.push(
                        `${server.firewallErrors} firewall command(s) failed; failed bans are retried every 10 s (see the log)`,
                    );
                if (problems.length) text += `\n${problems.map(p => `! ${p}`).join("\n")}`;
                return { ok: true, text };
            }
            const rj = jail(cmd.jail);
            if (!rj) return { ok: false, error: noSuchJail(cmd.jail) };
            // fail2ban 1.0.2 shows the basic status for any flavor but "cymru" (whois lookups: not done here).
            if (cmd.flavor === "cymru")
                return {
                    ok: false,
                    error: "status flavor 'cymru' (whois lookups of banned addresses) is not supported by jailwatch",
                };
            const st = rj.jail.status();
            const journalMatches = rj.settings.journal?.matches;
            return {
                ok: true,
                text: formatJailStatus({ name: rj.settings.name, fileList: rj.files, journalMatches, ...st }),
            };
        }
        case "banned": {
            const all = [...server.jails.values()];
            if (cmd.ips.length === 0)
                return {
                    ok: true,
                    text: formatBanned(all.map(r => [r.settings.name, r.jail.bans.activeBans().map(b => b.ip)])),
                };
            return {
                ok: true,
                text: formatBannedByIp(cmd.ips.map(ip => all.filter(r => isBanned(r, ip)).map(r => r.settings.name))),
            };
        }
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
            const rj = jail(cmd.jail);
            if (!rj) return { ok: false, error: noSuchJail(cmd.jail) };
            // As fail2ban: what is not banned (or not an address) counts 0, unless --report-absent asks.
            const absent = cmd.ips.filter(ip => !isBanned(rj, ip));
            if (cmd.reportAbsent && absent.length)
                return { ok: false, error: `not banned: [${absent.map(ip => `'${ip}'`).join(", ")}]` };
            const n = cmd.ips.filter(
                ip => /^[0-9A-Fa-f:.]+(\/\d+)?$/.test(ip) && server.unbanAddress(cmd.jail, ip),
            ).length;
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
        case "reload": {
            if (cmd.jail !== undefined && !jail(cmd.jail)) {
                // A jail not running yet must at least be in the configuration (reload then starts it).
                try {
                    await server.reload(cmd.jail);
                } catch (e) {
                    return { ok: false, error: (e as Error).message, quiet: true };
                }
                return { ok: true, text: "OK" };
            }
            if (cmd.unban) {
                if (cmd.jail === undefined) await server.unbanAll();
                else for (const b of jail(cmd.jail)?.jail.bans.activeBans() ?? []) server.unbanAddress(cmd.jail, b.ip);
                await server.settle();
            }
            await server.reload(cmd.jail);
            return { ok: true, text: "OK" };
        }
        case "stop":
            // Answer first; the server stops the process after the reply went out.
            server.requestStop(cmd.unban);
            return { ok: true, text: "Shutdown successful" };
        case "get": {
            if (cmd.jail === undefined) return serverGet(server.opts.loglevel, cmd.key);
            const rj = jail(cmd.jail);
            if (!rj) return { ok: false, error: noSuchJail(cmd.jail) };
            if (cmd.key === "banip") return { ok: true, text: formatBanip(rj.jail.bans.activeBans(), cmd.args[0]) };
            if (cmd.key === "banned")
                return {
                    ok: true,
                    text: formatJailBanned(
                        rj.jail.bans.activeBans().map(b => b.ip),
                        cmd.args,
                    ),
                };
            return jailGet(rj, cmd.key);
        }
        case "set": {
            const rj = jail(cmd.jail);
            if (!rj) return { ok: false, error: noSuchJail(cmd.jail) };
            return jailSet(rj, cmd.key, cmd.args);
        }
    }
}

function isBanned(rj: RuntimeJail, ip: string): boolean {
    return rj.jail.bans.activeBans().some(b => b.ip === ip);
}
