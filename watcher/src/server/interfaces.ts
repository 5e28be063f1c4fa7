// What the control commands and the peer link need from the running server, as narrow interfaces. They depend on
// this leaf module (types only), never on server/daemon.ts: no import cycle, and each can be tested against a small
// stand-in instead of a whole server. JailwatchServer implements both.

import type { BackendName } from "../actions/backend";
import type { Jail } from "../jail/jail";
import type { ResolvedJail } from "../jail/settings";
import type { PeerCounters } from "../metrics/counters";
import type { Ban } from "../types";
import type { LogLevel } from "./log";

/** A jail as the server runs it. */
export interface RuntimeJail {
    settings: ResolvedJail;
    jail: Jail;
    /** Log files after glob expansion (none for a journal jail). */
    files: string[];
    /** What the jail reads: its files, or its journal's key (follow/registry.ts). */
    sources: string[];
    backend: BackendName;
    /** Earliest ban end (epoch s) among this jail's bans; Infinity when none can end. */
    nextExpiry: number;
}

/** Where bans come from: the log, the control socket, or a peer (peer bans are not sent on again). */
export type BanSource = "log" | "control" | "peer" | "restore" | "shared";

/** The answer to a ban request: `reason` says why nothing was banned. */
export interface BanOutcome {
    ok: boolean;
    reason?: string;
    ban?: Ban;
}

/** What the control commands (server/commands.ts) read and act on. */
export interface ControlTarget {
    readonly jails: ReadonlyMap<string, RuntimeJail>;
    readonly opts: { readonly loglevel: LogLevel };
    /** Problems worth showing in `status` (corrupt state, firewall failures). */
    readonly problems: readonly string[];
    /** Why the last state save failed, until one succeeds again. */
    readonly stateProblem: string | undefined;
    readonly firewallErrors: number;
    banAddress(jail: string, ip: string, source: "control"): BanOutcome;
    unbanAddress(jail: string, ip: string): boolean;
    unbanAll(): Promise<number>;
    reload(only?: string): Promise<void>;
    /** Waits until queued firewall work is done, so an answer reports what is in force. */
    settle(): Promise<void>;
    /** `stop [--unban]`: the process stops once the answer went out (how is the CLI's business). */
    requestStop(unban: boolean): void;
}

/** What the peer link (peers/) reads and acts on. */
export interface PeerTarget {
    /** Epoch seconds, from the server's clock. */
    now(): number;
    readonly jails: { has(name: string): boolean };
    /** Installs a ban a peer decided, with the end it decided. */
    banAddress(jail: string, ip: string, source: "peer", until: number): BanOutcome;
    /** A peer's operator lifted this ban. */
    unbanFromPeer(jail: string, ip: string, end: number): boolean;
    /** Failures a peer counted in a jail that shares failures. */
    addPeerFailures(jail: string, key: string, n: number, time: number): void;
    /** Every active ban (what a restarted peer asks for). */
    activeBans(): Ban[];
    /** Bans lifted by an operator that have not reached their end yet. */
    liftedBans(): Ban[];
}

/** What the peer link needs from the server and offers to it (see peers/). */
export interface PeerHooks {
    /** Called for every ban this server decided itself. */
    broadcast(ban: Ban): void;
    /** Called for every ban an operator lifted here (peers lift it too). */
    broadcastUnban?(jail: string, ip: string, end: number): void;
    start(server: PeerTarget): Promise<void>;
    stop(): Promise<void>;
    /** One failure from our log in a jail with `sharefailures` (batched by the link, see peers/failureBatch.ts). */
    shareFailure?(jail: string, key: string, time: number, count: number, maxretry: number): void;
    /** Frames sent/received/refused, for the metrics endpoint. */
    readonly counters?: PeerCounters;
}
