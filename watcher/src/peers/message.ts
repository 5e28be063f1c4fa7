// Peer messages: bans shared between jailwatch servers. Each frame is one JSON line
//   {"p": "<payload JSON>", "mac": "<hex HMAC-SHA256(secret, p)>"}
// The payload carries a timestamp and a random nonce: frames older or newer than the window, or a nonce seen
// before, are refused (replay). Pure apart from the clock and randomness passed in.
// An authentic frame of a type this version does not know is returned as `unknown` (and ignored by the link), so a
// newer peer can add message types without an older one refusing its connections.

import * as crypto from "crypto";
import type { RejectReason } from "../metrics/counters";

export interface WireBan {
    jail: string;
    ip: string;
    /** Epoch seconds; null = permanent. */
    end: number | null;
}

/** Failures of one address (or IPv6 prefix key) in one jail, seen by the sender since its last failure frame. */
export interface WireFailure {
    jail: string;
    ip: string;
    /** How many failures (>= 1). */
    n: number;
    /** Log time (epoch s) of the newest of them. */
    t: number;
}

/** Entries in one failure frame at most; a receiver refuses larger frames. */
export const MAX_FAILURES_PER_FRAME = 1000;

export type PeerPayload =
    | { type: "ban"; node: string; ts: number; nonce: string; bans: WireBan[] }
    | { type: "sync-request"; node: string; ts: number; nonce: string }
    | { type: "sync"; node: string; ts: number; nonce: string; bans: WireBan[]; unbans?: WireBan[]; reply?: string }
    /** An operator's unban, so peers lift it too (and a restarted peer does not take it back). */
    | { type: "unban"; node: string; ts: number; nonce: string; bans: WireBan[] }
    /** Shared failures (jails with `sharefailures`): counted with the local ones inside findtime. */
    | { type: "failures"; node: string; ts: number; nonce: string; failures: WireFailure[] }
    /** Authentic, fresh, but of a type this version does not know (a newer peer): ignored. */
    | { type: "unknown"; node: string; ts: number; nonce: string; name: string };

/** Frames whose timestamp is further than this from our clock are refused (seconds). */
export const WINDOW_SECONDS = 60;
export const MIN_SECRET_BYTES = 16;

export function newNonce(): string {
    return crypto.randomBytes(16).toString("hex");
}

function mac(secret: Buffer, payload: string): string {
    return crypto.createHmac("sha256", secret).update(payload).digest("hex");
}

export function encodeFrame(payload: PeerPayload, secret: Buffer): string {
    const p = JSON.stringify(payload);
    return JSON.stringify({ p, mac: mac(secret, p) }) + "\n";
}

/**
 * Remembers nonces for the replay window. Nonces are kept in arrival order, so the expired ones are always at the
 * front: each check drops those and stops at the first live one (a sweep of every stored nonce per check made
 * 100,000 frames take minutes).
 */
export class ReplayGuard {
    private seen = new Map<string, number>();
    /** Stored nonces looked at by the sweeps (stays linear in the number of checks). */
    visited = 0;

    get size(): number {
        return this.seen.size;
    }

    /** True if the nonce is new (and records it). */
    check(nonce: string, now: number): boolean {
        for (const [n, exp] of this.seen) {
            this.visited++;
            if (exp >= now) break;
            this.seen.delete(n);
        }
        if (this.seen.has(nonce)) return false;
        // A clock stepping back could put a shorter expiry behind longer ones; the window only gets longer then.
        this.seen.set(nonce, now + 2 * WINDOW_SECONDS);
        return true;
    }
}

export class PeerAuthError extends Error {
    constructor(
        message: string,
        readonly reason: RejectReason = "malformed",
    ) {
        super(message);
        this.name = "PeerAuthError";
    }
}

function isWireFailure(f: unknown): f is WireFailure {
    const o = f as WireFailure;
    return (
        typeof o === "object" &&
        o !== null &&
        typeof o.jail === "string" &&
        typeof o.ip === "string" &&
        o.ip.length <= 64 &&
        Number.isInteger(o.n) &&
        o.n >= 1 &&
        o.n <= 1_000_000 &&
        typeof o.t === "number" &&
        Number.isFinite(o.t)
    );
}

function isWireBan(b: unknown): b is WireBan {
    const o = b as WireBan;
    return (
        typeof o === "object" &&
        o !== null &&
        typeof o.jail === "string" &&
        typeof o.ip === "string" &&
        (o.end === null || typeof o.end === "number")
    );
}

/** Verifies and decodes one frame; throws PeerAuthError for anything not authentic, fresh and well formed. */
export function decodeFrame(line: string, secret: Buffer, now: number, guard: ReplayGuard): PeerPayload {
    let outer: { p?: unknown; mac?: unknown };
    try {
        outer = JSON.parse(line);
    } catch {
        throw new PeerAuthError("frame is not JSON", "not_json");
    }
    if (
        typeof outer !== "object" ||
        outer === null ||
        typeof outer.p !== "string" ||
        typeof outer.mac !== "string" ||
        !/^[0-9a-f]{64}$/.test(outer.mac)
    ) {
        throw new PeerAuthError("frame lacks payload or MAC", "no_mac");
    }
    const want = Buffer.from(mac(secret, outer.p), "hex");
    if (!crypto.timingSafeEqual(want, Buffer.from(outer.mac, "hex")))
        throw new PeerAuthError("bad MAC (wrong secret or altered frame)", "bad_mac");
    const p = JSON.parse(outer.p) as PeerPayload;
    if (typeof p !== "object" || p === null) throw new PeerAuthError("payload is not an object");
    if (typeof p.ts !== "number" || Math.abs(p.ts - now) > WINDOW_SECONDS)
        throw new PeerAuthError(`stale or future timestamp (${p.ts}, now ${Math.round(now)})`, "stale");
    if (typeof p.nonce !== "string" || !guard.check(p.nonce, now))
        throw new PeerAuthError("replayed frame (nonce seen before)", "replay");
    if (typeof p.node !== "string") throw new PeerAuthError("frame lacks node id");
    if (
        (p.type === "ban" || p.type === "sync" || p.type === "unban") &&
        !(Array.isArray(p.bans) && p.bans.every(isWireBan))
    )
        throw new PeerAuthError("malformed bans");
    if (p.type === "sync" && p.unbans !== undefined && !(Array.isArray(p.unbans) && p.unbans.every(isWireBan)))
        throw new PeerAuthError("malformed unbans");
    if (p.type === "failures") {
        if (
            !Array.isArray(p.failures) ||
            p.failures.length > MAX_FAILURES_PER_FRAME ||
            !p.failures.every(isWireFailure)
        )
            throw new PeerAuthError("malformed failures");
    }
    if (!["ban", "sync", "sync-request", "unban", "failures"].includes(p.type)) {
        const name = (p as { type: unknown }).type;
        return {
            type: "unknown",
            node: p.node,
            ts: p.ts,
            nonce: p.nonce,
            name: typeof name === "string" ? name.slice(0, 40) : (JSON.stringify(name)?.slice(0, 40) ?? "?"),
        };
    }
    return p;
}

/** Splits `host`, `host:port`, `[v6]:port` or a bare IPv6 address. */
export function parsePeer(text: string, defaultPort: number): { host: string; port: number } {
    const m6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
    if (m6) return { host: m6[1], port: m6[2] ? Number(m6[2]) : defaultPort };
    if ((text.match(/:/g) ?? []).length > 1) return { host: text, port: defaultPort };
    const [host, port] = text.split(":");
    return { host, port: port ? Number(port) : defaultPort };
}
