// The scrape endpoint: GET /metrics answers Prometheus text, anything else 404/405. Hardened like the peer port:
// a connection cap, an idle timeout and bounded request time, so idle or slow clients cannot use up our
// descriptors; errors after listen are logged, never an unhandled 'error' event.

import * as http from "http";
import * as net from "net";
import type { Logger } from "../server/log";
import type { MetricsOptions } from "../server/options";

/** Open scrape connections at most (a Prometheus server holds one). */
export const METRICS_MAX_CONNECTIONS = 16;
/** A connection idle this long is closed (ms). */
export const METRICS_IDLE_TIMEOUT_MS = 10_000;
/** A request must arrive whole within this (ms). */
const REQUEST_TIMEOUT_MS = 5_000;

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export class MetricsServer {
    private server: http.Server | undefined;
    private readonly open = new Set<net.Socket>();
    /** Bound address once listening (tests use port 0). */
    address: net.AddressInfo | undefined;

    constructor(
        private readonly opts: MetricsOptions,
        private readonly render: () => string,
        private readonly log: Logger,
    ) {}

    async start(): Promise<void> {
        const server = http.createServer((req, res) => this.answer(req, res));
        server.maxConnections = this.opts.maxConnections ?? METRICS_MAX_CONNECTIONS;
        server.requestTimeout = REQUEST_TIMEOUT_MS;
        server.headersTimeout = REQUEST_TIMEOUT_MS;
        server.keepAliveTimeout = 5_000;
        server.setTimeout(this.opts.idleTimeoutMs ?? METRICS_IDLE_TIMEOUT_MS, sock => sock.destroy());
        server.on("connection", (sock: net.Socket) => {
            this.open.add(sock);
            sock.on("close", () => this.open.delete(sock));
        });
        server.on("clientError", (_e, sock) => sock.destroy());
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(this.opts.port, this.opts.host, () => resolve());
        });
        server.removeAllListeners("error");
        server.on("error", e => this.log.error(`metrics: listener: ${e.message}`));
        this.server = server;
        this.address = server.address() as net.AddressInfo;
        this.log.info(
            `metrics: serving http://${this.address.family === "IPv6" ? `[${this.address.address}]` : this.address.address}:${this.address.port}/metrics`,
        );
    }

    async stop(): Promise<void> {
        const s = this.server;
        this.server = undefined;
        for (const sock of this.open) sock.destroy();
        if (s) await new Promise<void>(r => s.close(() => r()));
    }

    private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
        // The body is never read: a scrape has none, and whatever a client sends is discarded with the socket.
        const url = (req.url ?? "/").split("?")[0];
        if (url !== "/metrics") {
            res.writeHead(404, { "Content-Type": "text/plain" }).end("not found: try /metrics\n");
            return;
        }
        if (req.method !== "GET" && req.method !== "HEAD") {
            res.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "text/plain" }).end("method not allowed\n");
            return;
        }
        let body: string;
        try {
            body = this.render();
        } catch (e) {
            this.log.error(`metrics: render failed: ${(e as Error).message}`);
            res.writeHead(500, { "Content-Type": "text/plain" }).end("render failed\n");
            return;
        }
        res.writeHead(200, { "Content-Type": CONTENT_TYPE, "Content-Length": Buffer.byteLength(body) });
        res.end(req.method === "HEAD" ? undefined : body);
    }
}
