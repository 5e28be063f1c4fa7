// The default backend: our own nftables table with per-jail sets whose elements carry timeouts, so the kernel lifts
// bans on time even while jailwatch is down.

import { Exec, runWithRetry, spawnExec } from "./exec";
import { nftBanBatch, nftFlushSetsBatch, nftRemoveBatch, nftStartBatch, nftUnbanBatch } from "./nftables-text";
import { ActionEntry, ActionJail, BanAction } from "./types";

export interface ActionLog {
    info(msg: string): void;
    warn(msg: string): void;
    debug(msg: string): void;
}

export class NftablesAction implements BanAction {
    readonly name = "nftables";

    constructor(private readonly log: ActionLog, private readonly exec: Exec = spawnExec, private readonly nft = "nft") {}

    private async run(batch: string, what: string): Promise<void> {
        this.log.debug(`nft ${what}: ${batch.length} bytes`);
        await runWithRetry(this.exec, this.nft, ["-f", "-"], batch, {
            onRetry: (n, err) => this.log.warn(`nft ${what} failed (attempt ${n}), retrying: ${err.trim()}`),
        });
    }

    start(jails: ActionJail[], restore: ActionEntry[], replace: boolean): Promise<void> {
        return this.run(nftStartBatch(jails, restore, replace), `start (${jails.length} jails, ${restore.length} bans)`);
    }

    ban(entries: ActionEntry[]): Promise<void> {
        return entries.length ? this.run(nftBanBatch(entries), `ban ${entries.length}`) : Promise.resolve();
    }

    unban(entries: ActionEntry[]): Promise<void> {
        return entries.length ? this.run(nftUnbanBatch(entries), `unban ${entries.length}`) : Promise.resolve();
    }

    unbanAll(jails: ActionJail[]): Promise<void> {
        return jails.length ? this.run(nftFlushSetsBatch(jails), "unban all") : Promise.resolve();
    }

    remove(): Promise<void> {
        return this.run(nftRemoveBatch(), "remove table");
    }
}
