// What the server asks of a firewall backend. Backends batch: one call may carry 100,000 entries.

/** The part of a jail's settings a firewall backend needs. */
export interface ActionJail {
    name: string;
    /** fail2ban `port` value: names, numbers and `a:b` ranges separated by commas; empty or `all` = every port. */
    port: string;
    /** fail2ban `protocol` value: tcp, udp, sctp, or `all`. */
    protocol: string;
    /** The action.d actions the jail runs as commands (generic backend only). */
    actions?: import("./definition").ActionDefinition[];
}

/** One address (or IPv6 prefix) in one jail, with the seconds its ban has left (undefined = permanent). */
export interface ActionEntry {
    jail: string;
    ip: string;
    timeout?: number;
    /** When the ban started (epoch s) and its length in seconds (-1: permanent): action.d's `<time>`, `<bantime>`. */
    start?: number;
    bantime?: number;
    /** Earlier bans of the address (`<bancount>`). */
    banCount?: number;
    /** Failures that led to the ban (`<failures>`). */
    failures?: number;
}

export interface BanAction {
    readonly name: string;
    /**
     * Creates (idempotently) our own table/sets/rules for these jails and loads the persisted bans. With `replace`,
     * each set's content becomes exactly `restore` (atomically); otherwise `restore` is merged into what is there.
     */
    start(jails: ActionJail[], restore: ActionEntry[], replace: boolean): Promise<void>;
    ban(entries: ActionEntry[]): Promise<void>;
    unban(entries: ActionEntry[]): Promise<void>;
    /** Empties every set of ours (`unban --all`). */
    unbanAll(jails: ActionJail[]): Promise<void>;
    /** Removes our table/sets/rules entirely; only on explicit request (stopping the server keeps bans in force). */
    remove(jails: ActionJail[]): Promise<void>;
    /** Server stop, before close (action.d actions lift their bans and run actionstop, as under fail2ban). */
    shutdown?(): Promise<void>;
    /** Releases helper processes (the server's last step). */
    close?(): void;
}

/** A firewall command that kept failing after its retries. */
export class FirewallError extends Error {
    constructor(
        readonly command: string,
        readonly stderr: string,
        readonly attempts: number,
    ) {
        super(`${command} failed after ${attempts} attempt(s): ${stderr.trim() || "no error output"}`);
        this.name = "FirewallError";
    }
}

export function isIPv6(ip: string): boolean {
    return ip.includes(":");
}

/**
 * Longest element timeout we hand the kernel, in seconds: 2^32 ms, what every kernel with set timeouts accepts
 * (newer ones take more, older ones fail the whole batch beyond it; ipset stops at 2^31 ms). A longer ban is
 * installed without a timeout and the server lifts it at its end, also after a restart.
 */
export const KERNEL_MAX_TIMEOUT = 4_294_967;
export const IPSET_MAX_TIMEOUT = 2_147_483;

/** Seconds left of a ban ending at `end` (epoch s), or undefined for a permanent ban; <= 0 means expired. */
export function secondsLeft(end: number, now: number): number | undefined {
    return Number.isFinite(end) ? end - now : undefined;
}
