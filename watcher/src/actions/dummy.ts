// Logs instead of touching a firewall; keeps what would be in the sets so tests and benchmarks can look.

import type { ActionLog } from "./nftables";
import { ActionEntry, ActionJail, BanAction } from "./types";

export class DummyAction implements BanAction {
    readonly name = "dummy";
    /** jail -> address -> seconds left at ban time (undefined = permanent) */
    readonly sets = new Map<string, Map<string, number | undefined>>();
    /** Called after every ban batch (benchmarks measure line-to-ban latency with it). */
    onBan?: (entries: ActionEntry[]) => void;

    constructor(private readonly log: ActionLog) {}

    private set(jail: string): Map<string, number | undefined> {
        let s = this.sets.get(jail);
        if (!s) this.sets.set(jail, (s = new Map()));
        return s;
    }

    async start(jails: ActionJail[], restore: ActionEntry[], replace: boolean): Promise<void> {
        for (const j of jails) if (replace) this.set(j.name).clear();
        for (const e of restore) this.set(e.jail).set(e.ip, e.timeout);
        this.log.info(`dummy action: ${jails.length} jail(s), ${restore.length} ban(s) restored`);
    }

    async ban(entries: ActionEntry[]): Promise<void> {
        for (const e of entries) {
            this.set(e.jail).set(e.ip, e.timeout);
            this.log.info(
                `dummy action: [${e.jail}] ban ${e.ip}${e.timeout === undefined ? " (permanent)" : ` for ${Math.ceil(e.timeout)}s`}`,
            );
        }
        this.onBan?.(entries);
    }

    async unban(entries: ActionEntry[]): Promise<void> {
        for (const e of entries) {
            this.set(e.jail).delete(e.ip);
            this.log.info(`dummy action: [${e.jail}] unban ${e.ip}`);
        }
    }

    async unbanAll(jails: ActionJail[]): Promise<void> {
        for (const j of jails) this.set(j.name).clear();
    }

    async remove(): Promise<void> {
        this.sets.clear();
    }
}
