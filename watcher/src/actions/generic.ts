// The backend for every action.d action that has no native path (mail, ufw, firewallcmd, route, a site's own
// script...): its commands run as fail2ban runs them, `/bin/sh -c` with the tags filled in, each bounded by the
// action's `timeout`. A failing command is logged with its jail, action and output and never stops the other
// actions or jails; a failed ban or unban first runs actioncheck and, if that fails too, repairs the action
// (actionrepair, else actionstop + actionstart) and tries once more, as fail2ban does.

import { ActionDefinition, CommandName, Family, staticCommand } from "./definition";
import { BanInfo, resolveDynamic, reversedAddress } from "./interpolate";
import type { ActionLog } from "./nftables";
import { runShell, ShellRunner } from "./shell";
import { ActionEntry, ActionJail, BanAction, isIPv6 } from "./types";

interface Running {
    def: ActionDefinition;
    jail: string;
    /** Families whose actionstart ran (undefined key: the action is not conditional). */
    started: Set<Family | "">;
    /** Addresses banned through this action (for unban --all without actionflush). */
    banned: Set<string>;
    /** Static commands per family, computed once. */
    cache: Map<string, string>;
}

export class GenericAction implements BanAction {
    readonly name = "generic";
    /** Commands that failed (after their repair attempt), for status. */
    failures = 0;
    private readonly jails = new Map<string, Running[]>();
    private stopped = false;

    constructor(
        private readonly log: ActionLog & { error?(msg: string): void },
        private readonly run: ShellRunner = runShell,
    ) {}

    async start(jails: ActionJail[], restore: ActionEntry[], replace: boolean): Promise<void> {
        this.stopped = false;
        const wanted = new Map(jails.map(j => [j.name, j.actions ?? []]));
        // A jail gone from the configuration (reload): stop its actions as fail2ban stops a removed jail.
        if (replace) {
            for (const [name, list] of this.jails) {
                if (wanted.has(name) && sameActions(list, wanted.get(name)!)) continue;
                await Promise.all(list.map(r => this.stopOne(r, true)));
                this.jails.delete(name);
            }
        }
        const fresh: string[] = [];
        for (const [name, defs] of wanted) {
            if (this.jails.has(name)) continue;
            this.jails.set(
                name,
                defs.map(def => ({ def, jail: name, started: new Set(), banned: new Set(), cache: new Map() })),
            );
            fresh.push(name);
        }
        await Promise.all(
            fresh.map(async name => {
                const list = this.jails.get(name)!;
                for (const r of list) if (!r.def.startOnDemand) await this.startOne(r, "");
                // Bans restored at start are carried out again (norestored actions, such as mail, skip them).
                for (const e of restore) if (e.jail === name) for (const r of list) await this.banOne(r, e, true);
            }),
        );
    }

    ban(entries: ActionEntry[]): Promise<void> {
        return this.perJail(entries, (r, e) => this.banOne(r, e, false));
    }

    unban(entries: ActionEntry[]): Promise<void> {
        return this.perJail(entries, (r, e) => this.unbanOne(r, e));
    }

    async unbanAll(jails: ActionJail[]): Promise<void> {
        await Promise.all(jails.flatMap(j => (this.jails.get(j.name) ?? []).map(r => this.flushOne(r))));
    }

    /** `stop --unban`: lift every ban and stop the actions. */
    async remove(): Promise<void> {
        await this.shutdown();
    }

    /**
     * Server stop: as fail2ban, each action's bans are lifted (actionflush, else actionunban per address) and
     * actionstop runs; the next start carries the bans out again from the saved state.
     */
    async shutdown(): Promise<void> {
        if (this.stopped) return;
        this.stopped = true;
        await Promise.all([...this.jails.values()].flatMap(list => list.map(r => this.stopOne(r, true))));
        this.jails.clear();
    }

    /** Runs `fn` for every entry and action, jails in parallel, each jail's entries in order. */
    private async perJail(entries: ActionEntry[], fn: (r: Running, e: ActionEntry) => Promise<void>): Promise<void> {
        const by = new Map<string, ActionEntry[]>();
        for (const e of entries) (by.get(e.jail) ?? by.set(e.jail, []).get(e.jail)!).push(e);
        await Promise.all(
            [...by].map(async ([jail, es]) => {
                const list = this.jails.get(jail) ?? [];
                for (const e of es) for (const r of list) await fn(r, e);
            }),
        );
    }

    private family(r: Running, ip: string | undefined): Family | "" {
        if (!r.def.conditional || ip === undefined) return "";
        return isIPv6(ip) ? "inet6" : "inet4";
    }

    private command(r: Running, cmd: CommandName, fam: Family | ""): string {
        const key = `${cmd}\u0000${fam}`;
        let c = r.cache.get(key);
        if (c === undefined) {
            c = staticCommand(r.def, cmd, fam || undefined);
            r.cache.set(key, c);
        }
        return c;
    }

    private async startOne(r: Running, fam: Family | ""): Promise<boolean> {
        if (r.started.has(fam)) return true;
        r.started.add(fam);
        return this.exec(r, "actionstart", fam, {});
    }

    private async stopOne(r: Running, flush: boolean): Promise<void> {
        if (flush) await this.flushOne(r);
        for (const fam of [...r.started]) {
            await this.exec(r, "actionstop", fam, {});
            r.started.delete(fam);
        }
    }

    private async flushOne(r: Running): Promise<void> {
        const fams = new Set([...r.banned].map(ip => this.family(r, ip)));
        if (this.command(r, "actionflush", "") || [...fams].some(f => this.command(r, "actionflush", f))) {
            for (const fam of fams.size ? fams : new Set([""] as const)) await this.exec(r, "actionflush", fam, {});
        } else {
            for (const ip of [...r.banned]) await this.unbanOne(r, { jail: r.jail, ip });
        }
        r.banned.clear();
    }

    private async banOne(r: Running, e: ActionEntry, restored: boolean): Promise<void> {
        if (restored && r.def.norestored) return;
        const fam = this.family(r, e.ip);
        if (r.def.startOnDemand) await this.startOne(r, fam);
        const info = banInfo(r, e, restored);
        if (await this.withRepair(r, "actionban", fam, info, true)) r.banned.add(e.ip);
    }

    private async unbanOne(r: Running, e: ActionEntry): Promise<void> {
        const fam = this.family(r, e.ip);
        r.banned.delete(e.ip);
        if (r.def.startOnDemand && !r.started.has(fam)) return; // never started for this family: nothing to lift
        await this.withRepair(r, "actionunban", fam, banInfo(r, e, false), r.def.repairOnUnban);
    }

    /** fail2ban's invariant check: after a failure, check, repair if broken, and try once more. */
    private async withRepair(
        r: Running,
        cmd: CommandName,
        fam: Family | "",
        info: BanInfo,
        mayRepair: boolean,
    ): Promise<boolean> {
        if (await this.exec(r, cmd, fam, info, true)) return true;
        const check = this.command(r, "actioncheck", fam);
        if (check) {
            if (await this.exec(r, "actioncheck", fam, {}, true)) return this.exec(r, cmd, fam, info);
            if (!mayRepair) {
                this.error(r, `${cmd}: actioncheck failed; ${cmd === "actionunban" ? "unban" : "ban"} is impossible`);
                return false;
            }
            if (this.command(r, "actionrepair", fam)) await this.exec(r, "actionrepair", fam, {});
            else {
                await this.exec(r, "actionstop", fam, {});
                r.started.delete(fam);
                await this.startOne(r, fam);
            }
        }
        return this.exec(r, cmd, fam, info);
    }

    /** Runs one command; false (and an error logged unless `quiet`) when it fails or times out. */
    private async exec(r: Running, cmd: CommandName, fam: Family | "", info: BanInfo, quiet = false): Promise<boolean> {
        const text = this.command(r, cmd, fam);
        if (text === "") return true;
        const { cmd: line, env } = resolveDynamic(text, info);
        this.log.debug(`[${r.jail}] ${r.def.name}: ${cmd}${info.ip ? ` ${info.ip}` : ""}`);
        const res = await this.run(line, env, r.def.timeout);
        if (res.code === 0 && !res.timedOut) return true;
        if (!quiet) {
            this.failures++;
            const why = res.timedOut ? `timed out after ${r.def.timeout}s` : `exit ${res.code}`;
            this.error(
                r,
                `${cmd}${info.ip ? ` for ${info.ip}` : ""} failed (${why})${res.stderr.trim() ? `: ${res.stderr.trim().split("\n").slice(-3).join(" | ")}` : ""}`,
            );
        }
        return false;
    }

    private error(r: Running, msg: string): void {
        const text = `[${r.jail}] action ${r.def.name} (${r.def.file}): ${msg}`;
        if (this.log.error) this.log.error(text);
        else this.log.warn(text);
    }
}

function sameActions(a: Running[], b: ActionDefinition[]): boolean {
    return a.length === b.length && a.every((r, i) => JSON.stringify(r.def) === JSON.stringify(b[i]));
}

function banInfo(r: Running, e: ActionEntry, restored: boolean): BanInfo {
    const bantime = e.bantime ?? (e.timeout === undefined ? -1 : Math.round(e.timeout));
    const failures = e.failures?.toString();
    return {
        ip: e.ip,
        family: isIPv6(e.ip) ? "inet6" : "inet4",
        "ip-rev": reversedAddress(e.ip.replace(/\/\d+$/, "")),
        "ip-host": e.ip,
        fid: e.ip,
        failures,
        ipfailures: failures,
        ipjailfailures: failures,
        time: String(Math.floor(e.start ?? Date.now() / 1000)),
        bantime: String(bantime),
        bancount: String(e.banCount ?? 0),
        restored: restored ? "1" : "0",
        matches: "",
        ipmatches: "",
        ipjailmatches: "",
    };
}
