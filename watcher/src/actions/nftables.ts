// The default backend: our own nftables table with per-jail sets whose elements carry timeouts, so the kernel lifts
// bans on time even while jailwatch is down.

import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Exec, runWithRetry, spawnExec } from "./exec";
import { NftSession } from "./nft-session";
import {
    NFT_FAMILY,
    NFT_TABLE,
    nftBanBatch,
    nftFlushSetsBatch,
    nftRemoveBatch,
    nftStartBatch,
    nftUnbanBatch,
} from "./nftables-text";
import { ActionEntry, ActionJail, BanAction } from "./types";

export interface ActionLog {
    info(msg: string): void;
    warn(msg: string): void;
    debug(msg: string): void;
}

export class NftablesAction implements BanAction {
    readonly name = "nftables";

    /** Persistent nft for live bans; only with the real nft (an injected exec means tests or another netns). */
    private readonly session: NftSession | undefined;

    /** `sessionCommand`: how to run the persistent nft when `exec` is not the default (another netns, say). */
    constructor(
        private readonly log: ActionLog,
        private readonly exec: Exec = spawnExec,
        private readonly nft = "nft",
        sessionCommand?: string[],
    ) {
        this.session = sessionCommand
            ? new NftSession(sessionCommand)
            : exec === spawnExec
              ? new NftSession([nft])
              : undefined;
    }

    /** Pid of the persistent nft, once running. */
    get sessionPid(): number | undefined {
        return this.session?.pid;
    }

    /** Small batches through the persistent session, falling back to a one-shot `nft -f -` (with retries). */
    private async runFast(batch: string, what: string): Promise<void> {
        if (this.session && batch.length < 64 * 1024) {
            try {
                await this.session.run(batch);
                return;
            } catch (e) {
                this.log.debug(
                    `nft session: ${what} failed (${(e as Error).message.split("\n")[0]}); retrying with nft -f`,
                );
            }
        }
        await this.run(batch, what);
    }

    private async run(batch: string, what: string): Promise<void> {
        this.log.debug(`nft ${what}: ${batch.length} bytes`);
        await runWithRetry(this.exec, this.nft, ["-f", "-"], batch, {
            onRetry: (n, err) => this.log.warn(`nft ${what} failed (attempt ${n}), retrying: ${err.trim()}`),
        });
    }

    async start(jails: ActionJail[], restore: ActionEntry[], replace: boolean): Promise<void> {
        await this.startBatch(jails, restore, replace);
        // Have the ban path ready before the first failure arrives: starting nft at the first ban cost 70-90 ms.
        // A transaction that changes nothing gets no answer from nft: create and drop a scratch set (net no change).
        const T = `${NFT_FAMILY} ${NFT_TABLE}`;
        await this.session
            ?.warm(`add set ${T} warmup { type ipv4_addr; }\ndelete set ${T} warmup`)
            .catch(e => this.log.debug(`nft session warm-up: ${(e as Error).message}`));
    }

    private async startBatch(jails: ActionJail[], restore: ActionEntry[], replace: boolean): Promise<void> {
        const batch = nftStartBatch(jails, restore, replace);
        const what = `start (${jails.length} jails, ${restore.length} bans)`;
        if (batch.length < 256 * 1024) return this.run(batch, what);
        // A big restore goes through a file nft reads itself: a pipe would only move 64 KB whenever our event loop
        // gets a turn, while the server is busy building its jails in parallel.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jailwatch-nft-"));
        const file = path.join(dir, "restore.nft");
        try {
            fs.writeFileSync(file, batch, { mode: 0o600 });
            this.log.debug(`nft ${what}: ${batch.length} bytes via ${file}`);
            await runWithRetry(this.exec, this.nft, ["-f", file], "", {
                onRetry: (n, err) => this.log.warn(`nft ${what} failed (attempt ${n}), retrying: ${err.trim()}`),
            });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }

    ban(entries: ActionEntry[]): Promise<void> {
        return entries.length ? this.runFast(nftBanBatch(entries), `ban ${entries.length}`) : Promise.resolve();
    }

    unban(entries: ActionEntry[]): Promise<void> {
        return entries.length ? this.runFast(nftUnbanBatch(entries), `unban ${entries.length}`) : Promise.resolve();
    }

    unbanAll(jails: ActionJail[]): Promise<void> {
        return jails.length ? this.run(nftFlushSetsBatch(jails), "unban all") : Promise.resolve();
    }

    async remove(): Promise<void> {
        this.session?.close();
        await this.run(nftRemoveBatch(), "remove table");
    }

    close(): void {
        this.session?.close();
    }
}
