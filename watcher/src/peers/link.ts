// Shares bans with peer servers over TCP. A ban this server decides is sent to every peer (batched per tick);
// a peer installs it in the same jail and does not send it on, so there are no loops. A starting server asks
// every peer for its current bans. All frames are HMAC-authenticated (message.ts).
// Jails with `sharefailures` also send their failures (not only bans), aggregated per address over
// FAILURE_FLUSH_MS (failureBatch.ts), so each node counts the whole cluster's failures inside findtime. Failure
// frames go on their own connection: a peer of an older version refuses that one, bans are unaffected.

import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import { readSocketLines } from "../socketLines";
import type { PeerHooks, PeerTarget } from "../server/interfaces";
import type { Logger } from "../server/log";
import type { PeerOptions } from "../server/options";
import type { Ban } from "../types";
import { PeerCounters } from "../metrics/counters";
import { FailureBatch } from "./failureBatch";
import {
    decodeFrame,
    encodeFrame,
    MIN_SECRET_BYTES,
    newNonce,
    parsePeer,
    PeerAuthError,
    PeerPayload,
    ReplayGuard,
    WireBan,
} from "./message";

const CONNECT_TIMEOUT_MS = 3000;
const MAX_FRAME = 64 * 1024 * 1024;
/** A connection that sends nothing for this long is closed: idle sockets must not use up our descriptors. */
export const PEER_IDLE_TIMEOUT_MS = 10_000;
/** Open peer connections at most; more are closed at once (peers connect briefly, one frame each). */
export const PEER_MAX_CONNECTIONS = 64;
/** Refused frames logged per minute at most; the rest are counted into the next line. */
const REFUSED_LOG_PER_MINUTE = 5;
/**
 * Failures wait this long to be sent together (ms): a flood of one log line per request becomes a few frames a
 * second, and a ban decided from shared counts comes at most this late.
 */
export const FAILURE_FLUSH_MS = 150;
/**
 * Sent early, but never more often than URGENT_MIN_MS: an address whose count here reached half of maxretry (the
 * next failures may complete a ban anywhere), or one that failed a quarter of maxretry times since the last flush.
 */
const URGENT_SHARE = 0.25;
const URGENT_MIN_MS = 20;

export function readSecret(file: string): Buffer {
    const st = fs.statSync(file);
    if ((st.mode & 0o077) !== 0)
        throw new Error(`${file}: peer secret must not be readable by group or others (chmod 600)`);
    const secret = Buffer.from(fs.readFileSync(file, "utf8").trim(), "utf8");
    if (secret.length < MIN_SECRET_BYTES)
        throw new Error(`${file}: peer secret is shorter than ${MIN_SECRET_BYTES} bytes`);
    return secret;
}

export class PeerLink implements PeerHooks {
    readonly node = `${os.hostname()}-${crypto.randomBytes(4).toString("hex")}`;
    private server: PeerTarget | undefined;
    private listener: net.Server | undefined;
    private readonly guard = new ReplayGuard();
    /** Our clock at start: a frame signed before it may be a replay of one we accepted before a restart. */
    private startedAt = 0;
    private readonly open = new Set<net.Socket>();
    private refusedWindow = 0;
    private refusedLogged = 0;
    private refusedSuppressed = 0;
    private pendingUnbans: WireBan[] = [];
    private pending: WireBan[] = [];
    private scheduled = false;
    private readonly failures = new FailureBatch();
    private failTimer: NodeJS.Timeout | undefined;
    private failTimerDue = 0;
    private lastFailFlush = 0;
    /** Frames sent, received and refused (the metrics endpoint reads them). */
    readonly counters = new PeerCounters();
    private readonly peers: Array<{ host: string; port: number }>;
    /** Listening port once started (tests use port 0). */
    port = 0;

    constructor(
        private readonly opts: PeerOptions,
        private readonly secret: Buffer,
        private readonly log: Logger,
    ) {
        this.peers = opts.peers.map(p => parsePeer(p, opts.port));
    }

    private now(): number {
        return this.server ? this.server.now() : Date.now() / 1000;
    }

    async start(server: PeerTarget): Promise<void> {
        this.server = server;
        this.startedAt = this.now();
        const listener = net.createServer(sock => this.serve(sock));
        listener.maxConnections = this.opts.maxConnections ?? PEER_MAX_CONNECTIONS;
        await new Promise<void>((resolve, reject) => {
            listener.once("error", reject);
            listener.listen(this.opts.port, this.opts.listen, () => resolve());
        });
        // After listen, an error (EMFILE on accept, say) is logged: never an unhandled 'error' event.
        listener.on("error", e => this.log.error(`peers: listener: ${e.message}`));
        this.listener = listener;
        this.port = (listener.address() as net.AddressInfo).port;
        this.log.info(`peers: listening on ${this.opts.listen}:${this.port}, ${this.peers.length} peer(s)`);
        // Catch up on bans decided while we were down; a peer that is down too is not an error.
        await Promise.all(this.peers.map(p => this.syncFrom(p.host, p.port)));
    }

    async stop(): Promise<void> {
        this.flush();
        this.flushFailures();
        const l = this.listener;
        this.listener = undefined;
        for (const s of this.open) s.destroy();
        if (l) await new Promise<void>(r => l.close(() => r()));
    }

    broadcast(ban: Ban): void {
        if (this.peers.length === 0) return;
        this.pending.push({ jail: ban.jail, ip: ban.ip, end: Number.isFinite(ban.end) ? ban.end : null });
        if (!this.scheduled) {
            this.scheduled = true;
            setImmediate(() => this.flush());
        }
    }

    /**
     * One failure counted here from a log, in a jail that shares failures (hot path: one map update). `count` is
     * the address's count here now (ours and the peers'), `maxretry` the jail's: an address near the limit, or one
     * that reached a share of it since the last flush, is sent without waiting out the interval.
     */
    shareFailure(jail: string, ip: string, time: number, count: number, maxretry: number): void {
        if (this.peers.length === 0) return;
        const n = this.failures.add(jail, ip, time);
        if (n === 0) this.counters.failuresDropped++;
        const ms = Date.now();
        const urgent = n > 0 && (count * 2 >= maxretry || n === Math.max(1, Math.ceil(maxretry * URGENT_SHARE)));
        const due = urgent ? Math.max(ms, this.lastFailFlush + URGENT_MIN_MS) : ms + FAILURE_FLUSH_MS;
        if (this.failTimer && this.failTimerDue <= due) return;
        if (this.failTimer) clearTimeout(this.failTimer);
        this.failTimerDue = due;
        this.failTimer = setTimeout(() => this.flushFailures(), due - ms);
    }

    /** Sends every waiting failure: per peer, one connection carrying frames of at most 1,000 addresses. */
    private flushFailures(): void {
        if (this.failTimer) clearTimeout(this.failTimer);
        this.failTimer = undefined;
        this.lastFailFlush = Date.now();
        if (this.failures.size === 0) return;
        const batches = this.failures.take();
        let entries = 0;
        for (const b of batches) entries += b.length;
        for (const p of this.peers) {
            const frames = batches
                .map(failures =>
                    encodeFrame(
                        { type: "failures", node: this.node, ts: this.now(), nonce: newNonce(), failures },
                        this.secret,
                    ),
                )
                .join("");
            this.counters.sent.failures += batches.length;
            this.counters.failuresSent += entries;
            this.send(p.host, p.port, frames).catch(e => {
                this.counters.sendErrors++;
                this.log.debug(
                    `peers: cannot send ${entries} failure(s) to ${p.host}:${p.port}: ${(e as Error).message}`,
                );
            });
        }
    }

    /** An operator's unban: peers lift the same ban, so no node keeps (or later hands back) what was lifted. */
    broadcastUnban(jail: string, ip: string, end: number): void {
        if (this.peers.length === 0) return;
        this.pendingUnbans.push({ jail, ip, end: Number.isFinite(end) ? end : null });
        if (!this.scheduled) {
            this.scheduled = true;
            setImmediate(() => this.flush());
        }
    }

    private flush(): void {
        this.scheduled = false;
        for (const [type, list] of [
            ["ban", this.pending],
            ["unban", this.pendingUnbans],
        ] as const) {
            if (list.length === 0) continue;
            if (type === "ban") this.pending = [];
            else this.pendingUnbans = [];
            for (const p of this.peers) {
                const frame = encodeFrame(
                    { type, node: this.node, ts: this.now(), nonce: newNonce(), bans: list },
                    this.secret,
                );
                this.counters.sent[type]++;
                this.send(p.host, p.port, frame).catch(e => {
                    this.counters.sendErrors++;
                    this.log.warn(
                        `peers: cannot send ${list.length} ${type}(s) to ${p.host}:${p.port}: ${(e as Error).message}`,
                    );
                });
            }
        }
    }

    private send(host: string, port: number, frame: string, expectReply = false): Promise<string> {
        return new Promise((resolve, reject) => {
            const sock = net.connect({ host, port });
            let buf = "";
            const timer = setTimeout(() => {
                sock.destroy();
                reject(new Error("timeout"));
            }, CONNECT_TIMEOUT_MS);
            sock.setEncoding("utf8");
            sock.on("connect", () => {
                sock.write(frame);
                if (!expectReply) sock.end();
            });
            sock.on("data", (d: string) => {
                buf += d;
                if (buf.length > MAX_FRAME) sock.destroy(new Error("reply too large"));
            });
            sock.on("error", e => {
                clearTimeout(timer);
                reject(e);
            });
            sock.on("close", () => {
                clearTimeout(timer);
                resolve(buf);
            });
        });
    }

    private async syncFrom(host: string, port: number): Promise<void> {
        try {
            const nonce = newNonce();
            this.counters.sent["sync-request"]++;
            const reply = await this.send(
                host,
                port,
                encodeFrame({ type: "sync-request", node: this.node, ts: this.now(), nonce }, this.secret),
                true,
            );
            const line = reply.split("\n")[0];
            if (!line) throw new Error("no reply");
            let p: PeerPayload;
            try {
                p = decodeFrame(line, this.secret, this.now(), this.guard);
            } catch (e) {
                this.counters.rejected[e instanceof PeerAuthError ? e.reason : "malformed"]++;
                throw e;
            }
            this.counters.received[PeerCounters.typeOf(p.type)]++;
            if (p.type !== "sync") throw new PeerAuthError(`expected sync, got ${p.type}`);
            if (p.reply !== undefined && p.reply !== nonce)
                throw new PeerAuthError("sync reply answers another request");
            // Lifted bans first, so a peer that was down during an unban drops it instead of keeping it.
            for (const u of p.unbans ?? []) this.server?.unbanFromPeer(u.jail, u.ip, u.end === null ? Infinity : u.end);
            const n = this.apply(p.bans);
            this.log.info(`peers: ${n} ban(s) taken over from ${host}:${port}`);
        } catch (e) {
            this.log.warn(`peers: no ban sync from ${host}:${port}: ${(e as Error).message}`);
        }
    }

    private apply(bans: WireBan[]): number {
        const server = this.server;
        if (!server) return 0;
        let n = 0;
        for (const b of bans) {
            if (!server.jails.has(b.jail)) {
                this.log.debug(`peers: ban of ${b.ip} in unknown jail ${b.jail} ignored`);
                continue;
            }
            if (server.banAddress(b.jail, b.ip, "peer", b.end === null ? Infinity : b.end).ok) n++;
        }
        return n;
    }

    private serve(sock: net.Socket): void {
        this.open.add(sock);
        sock.on("close", () => this.open.delete(sock));
        sock.setTimeout(this.opts.idleTimeoutMs ?? PEER_IDLE_TIMEOUT_MS, () => sock.destroy());
        readSocketLines(
            sock,
            MAX_FRAME,
            line => this.onFrame(sock, line),
            () => {
                this.counters.rejected.too_large++;
                sock.destroy();
            },
        );
    }

    /** Refusals are logged at most a few times a minute: one 64 KB read can hold 32,768 bad frames. */
    private logRefused(from: string | undefined, why: string): void {
        const minute = Math.floor(Date.now() / 60_000);
        if (minute !== this.refusedWindow) {
            this.refusedWindow = minute;
            this.refusedLogged = 0;
        }
        if (this.refusedLogged >= REFUSED_LOG_PER_MINUTE) {
            this.refusedSuppressed++;
            return;
        }
        this.refusedLogged++;
        const more = this.refusedSuppressed ? ` (${this.refusedSuppressed} more refused since the last such line)` : "";
        this.refusedSuppressed = 0;
        this.log.warn(`peers: refused frame from ${from}: ${why}${more}`);
    }

    /** One frame; false stops reading this connection. */
    private onFrame(sock: net.Socket, line: string): boolean {
        let p: PeerPayload;
        try {
            p = decodeFrame(line, this.secret, this.now(), this.guard);
            // Nonces live in memory only: a frame signed before we started could be one we accepted before a restart.
            if (p.ts < this.startedAt)
                throw new PeerAuthError("signed before this server started (possible replay)", "before_start");
        } catch (e) {
            this.counters.rejected[e instanceof PeerAuthError ? e.reason : "malformed"]++;
            this.logRefused(sock.remoteAddress, (e as Error).message);
            sock.destroy();
            return false;
        }
        if (p.node === this.node) return true;
        this.counters.received[PeerCounters.typeOf(p.type)]++;
        if (p.type === "failures") {
            const server = this.server;
            if (server) for (const f of p.failures) server.addPeerFailures(f.jail, f.ip, f.n, f.t);
        } else if (p.type === "unknown") {
            this.log.debug(
                `peers: ignored a frame of unknown type ${JSON.stringify(p.name)} from ${p.node} (newer peer?)`,
            );
        } else if (p.type === "ban") {
            const n = this.apply(p.bans);
            this.log.debug(`peers: ${n} of ${p.bans.length} ban(s) from ${p.node} applied`);
        } else if (p.type === "unban") {
            for (const u of p.bans) this.server?.unbanFromPeer(u.jail, u.ip, u.end === null ? Infinity : u.end);
        } else if (p.type === "sync-request") {
            const now = this.now();
            const wire = (b: { jail: string; ip: string; end: number }) => ({
                jail: b.jail,
                ip: b.ip,
                end: Number.isFinite(b.end) ? b.end : null,
            });
            const bans = (this.server?.activeBans() ?? []).filter(b => b.end > now).map(wire);
            const unbans = (this.server?.liftedBans() ?? []).map(wire);
            this.counters.sent.sync++;
            sock.end(
                encodeFrame(
                    { type: "sync", node: this.node, ts: now, nonce: newNonce(), bans, unbans, reply: p.nonce },
                    this.secret,
                ),
            );
            return false;
        }
        return true;
    }
}
