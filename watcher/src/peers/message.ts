// Peer messages: bans shared between jailwatch servers. Each frame is one JSON line
//   {"p": "<payload JSON>", "mac": "<hex HMAC-SHA256(secret, p)>"}
// The payload carries a timestamp and a random nonce: frames older or newer than the window, or a nonce seen
// before, are refused (replay). Pure apart from the clock and randomness passed in.

import * as crypto from "crypto";

export interface WireBan {
    jail: string;
    ip: string;
    /** Epoch seconds; null = permanent. */
    end: number | null;
}

export type PeerPayload =
    | { type: "ban"; node: string; ts: number; nonce: string; bans: WireBan[] }
    | { type: "sync-request"; node: string; ts: number; nonce: string }
    | { type: "sync"; node: string; ts: number; nonce: string; bans: WireBan[]; unbans?: WireBan[]; reply?: string }
    /** An operator's unban, so peers lift it too (and a restarted peer does not take it back). */
    | { type: "unban"; node: string; ts: number; nonce: string; bans: WireBan[] };

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
    constructor(message: string) {
        super(message);
        this.name = "PeerAuthError";
    }
}

function isWireBan(b: unknown): b is WireBan {
    const o = b as WireBan;
    return typeof o === "object" && o !== null && typeof o.jail === "string" && typeof o.ip === "string" && (o.end === null || typeof o.end === "number");
}

/** Verifies and decodes one frame; throws PeerAuthError for anything not authentic, fresh and well formed. */
export function decodeFrame(line: string, secret: Buffer, now: number, guard: ReplayGuard): PeerPayload {
    let outer: { p?: unknown; mac?: unknown };
    try {
        outer = JSON.parse(line);
    } catch {
        throw new PeerAuthError("frame is not JSON");
    }
    if (typeof outer.p !== "string" || typeof outer.mac !== "string" || !/^[0-9a-f]{64}$/.test(outer.mac)) throw new PeerAuthError("frame lacks payload or MAC");
    const want = Buffer.from(mac(secret, outer.p), "hex");
    if (!crypto.timingSafeEqual(want, Buffer.from(outer.mac, "hex"))) throw new PeerAuthError("bad MAC (wrong secret or altered frame)");
    const p = JSON.parse(outer.p) as PeerPayload;
    if (typeof p.ts !== "number" || Math.abs(p.ts - now) > WINDOW_SECONDS) throw new PeerAuthError(`stale or future timestamp (${p.ts}, now ${Math.round(now)})`);
    if (typeof p.nonce !== "string" || !guard.check(p.nonce, now)) throw new PeerAuthError("replayed frame (nonce seen before)");
    if (typeof p.node !== "string") throw new PeerAuthError("frame lacks node id");
    if ((p.type === "ban" || p.type === "sync" || p.type === "unban") && !(Array.isArray(p.bans) && p.bans.every(isWireBan))) throw new PeerAuthError("malformed bans");
    if (p.type === "sync" && p.unbans !== undefined && !(Array.isArray(p.unbans) && p.unbans.every(isWireBan))) throw new PeerAuthError("malformed unbans");
    if (!["ban", "sync", "sync-request", "unban"].includes(p.type)) throw new PeerAuthError(`unknown message type ${JSON.stringify((p as { type: unknown }).type)}`);
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
