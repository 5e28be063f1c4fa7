// iptables + ipset backend for hosts without nftables. Our rules are the only thing added to INPUT (one per jail
// and family, checked with -C before inserting); addresses live in our own ipsets.

import { Exec, runWithRetry, spawnExec } from "./exec";
import { ipsetBanBatch, ipsetName, ipsetStartBatch, ipsetUnbanBatch, iptablesRuleArgs } from "./ipset-text";
import type { ActionLog } from "./nftables";
import { ActionEntry, ActionJail, BanAction } from "./types";

export class IpsetAction implements BanAction {
    readonly name = "iptables-ipset";

    constructor(
        private readonly log: ActionLog,
        private readonly exec: Exec = spawnExec,
    ) {}

    private retry = (what: string) => ({
        onRetry: (n: number, err: string) => this.log.warn(`${what} failed (attempt ${n}), retrying: ${err.trim()}`),
    });

    private async restore(batch: string, what: string): Promise<void> {
        await runWithRetry(this.exec, "ipset", ["restore", "-exist"], batch, this.retry(`ipset ${what}`));
    }

    async start(jails: ActionJail[], restore: ActionEntry[], replace: boolean): Promise<void> {
        await this.restore(ipsetStartBatch(jails, restore, replace), "start");
        for (const j of jails) {
            for (const fam of [4, 6] as const) {
                const tool = fam === 4 ? "iptables" : "ip6tables";
                const rule = iptablesRuleArgs(j, fam);
                const present = await this.exec(tool, ["-w", "-C", "INPUT", ...rule], "");
                if (present.code !== 0)
                    await runWithRetry(this.exec, tool, ["-w", "-I", "INPUT", "1", ...rule], "", this.retry(tool));
            }
        }
    }

    ban(entries: ActionEntry[]): Promise<void> {
        return entries.length ? this.restore(ipsetBanBatch(entries), `ban ${entries.length}`) : Promise.resolve();
    }

    unban(entries: ActionEntry[]): Promise<void> {
        return entries.length ? this.restore(ipsetUnbanBatch(entries), `unban ${entries.length}`) : Promise.resolve();
    }

    unbanAll(jails: ActionJail[]): Promise<void> {
        const batch =
            jails.flatMap(j => [`flush ${ipsetName(j.name, 4)}`, `flush ${ipsetName(j.name, 6)}`]).join("\n") + "\n";
        return jails.length ? this.restore(batch, "unban all") : Promise.resolve();
    }

    async remove(jails: ActionJail[]): Promise<void> {
        for (const j of jails) {
            for (const fam of [4, 6] as const) {
                const tool = fam === 4 ? "iptables" : "ip6tables";
                await this.exec(tool, ["-w", "-D", "INPUT", ...iptablesRuleArgs(j, fam)], "");
                await this.exec("ipset", ["destroy", ipsetName(j.name, fam)], "");
            }
        }
    }
}
