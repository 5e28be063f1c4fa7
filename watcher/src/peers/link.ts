// Shares bans with peer servers over TCP. A ban this server decides is sent to every peer (batched per tick);
// a peer installs it in the same jail and does not send it on, so there are no loops. A starting server asks
// every peer for its current bans. All frames are HMAC-authenticated (message.ts).

import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import { readSocketLines } from "../socketLines";
import type { JailwatchServer, PeerHooks } from "../server/daemon";
import type { Logger } from "../server/log";
import type { PeerOptions } from "../server/options";
import type { Ban } from "../types";
import { decodeFrame, encodeFrame, MIN_SECRET_BYTES, newNonce, parsePeer, PeerAuthError, PeerPayload, ReplayGuard, WireBan } from "./message";

const CONNECT_TIMEOUT_MS = 3000;
const MAX_FRAME = 64 * 1024 * 1024;

export function readSecret(file: string): Buffer {
    const st = fs.statSync(file);
    if ((st.mode & 0o077) !== 0) throw new Error(`${file}: peer secret must not be readable by group or others (chmod 600)`);
    const secret = Buffer.from(fs.readFileSync(file, "utf8").trim(), "utf8");
    if (secret.length < MIN_SECRET_BYTES) throw new Error(`${file}: peer secret is shorter than ${MIN_SECRET_BYTES} bytes`);
    return secret;
}

export class PeerLink implements PeerHooks {
    readonly node = `${os.hostname()}-${crypto.randomBytes(4).toString("hex")}`;
    private server: JailwatchServer | undefined;
    private listener: net.Server | undefined;
    private readonly guard = new ReplayGuard();
    private pending: WireBan[] = [];
    private scheduled = false;
    private readonly peers: Array<{ host: string; port: number }>;
    /** Listening port once started (tests use port 0). */
    port = 0;

    constructor(private readonly opts: PeerOptions, private readonly secret: Buffer, private readonly log: Logger) {
        this.peers = opts.peers.map((p) => parsePeer(p, opts.port));
    }

    private now(): number {
        return this.server ? this.server.now() : Date.now() / 1000;
    }

    async start(server: JailwatchServer): Promise<void> {
        this.server = server;
        const listener = net.createServer((sock) => this.serve(sock));
        await new Promise<void>((resolve, reject) => {
            listener.once("error", reject);
            listener.listen(this.opts.port, this.opts.listen, () => resolve());
        });
        this.listener = listener;
        this.port = (listener.address() as net.AddressInfo).port;
        this.log.info(`peers: listening on ${this.opts.listen}:${this.port}, ${this.peers.length} peer(s)`);
        // Catch up on bans decided while we were down; a peer that is down too is not an error.
        await Promise.all(this.peers.map((p) => this.syncFrom(p.host, p.port)));
    }

    async stop(): Promise<void> {
        this.flush();
        const l = this.listener;
        this.listener = undefined;
        if (l) await new Promise<void>((r) => l.close(() => r()));
    }

    broadcast(ban: Ban): void {
        if (this.peers.length === 0) return;
        this.pending.push({ jail: ban.jail, ip: ban.ip, end: Number.isFinite(ban.end) ? ban.end : null });
        if (!this.scheduled) {
            this.scheduled = true;
            setImmediate(() => this.flush());
        }
    }

    private flush(): void {
        this.scheduled = false;
        if (this.pending.length === 0) return;
        const bans = this.pending;
        this.pending = [];
        for (const p of this.peers) {
            const frame = encodeFrame({ type: "ban", node: this.node, ts: this.now(), nonce: newNonce(), bans }, this.secret);
            this.send(p.host, p.port, frame).catch((e) => this.log.warn(`peers: cannot send ${bans.length} ban(s) to ${p.host}:${p.port}: ${(e as Error).message}`));
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
            sock.on("error", (e) => {
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
            const reply = await this.send(host, port, encodeFrame({ type: "sync-request", node: this.node, ts: this.now(), nonce: newNonce() }, this.secret), true);
            const line = reply.split("\n")[0];
            if (!line) throw new Error("no reply");
            const p = decodeFrame(line, this.secret, this.now(), this.guard);
            if (p.type !== "sync") throw new PeerAuthError(`expected sync, got ${p.type}`);
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
        readSocketLines(sock, MAX_FRAME, (line) => { this.onFrame(sock, line); }, () => sock.destroy());
    }

    private onFrame(sock: net.Socket, line: string): void {
        let p: PeerPayload;
        try {
            p = decodeFrame(line, this.secret, this.now(), this.guard);
        } catch (e) {
            this.log.warn(`peers: refused frame from ${sock.remoteAddress}: ${(e as Error).message}`);
            sock.destroy();
            return;
        }
        if (p.node === this.node) return;
        if (p.type === "ban") {
            const n = this.apply(p.bans);
            this.log.debug(`peers: ${n} of ${p.bans.length} ban(s) from ${p.node} applied`);
        } else if (p.type === "sync-request") {
            const now = this.now();
            const bans = (this.server?.activeBans() ?? []).filter((b) => b.end > now).map((b) => ({ jail: b.jail, ip: b.ip, end: Number.isFinite(b.end) ? b.end : null }));
            sock.end(encodeFrame({ type: "sync", node: this.node, ts: now, nonce: newNonce(), bans }, this.secret));
        }
    }
}
