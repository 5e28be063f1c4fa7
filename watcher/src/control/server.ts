// The control socket: a unix socket only root can reach (socket 0600 inside a 0700 directory we create).

import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { ControlResponse, decodeRequest, encodeResponse } from "./protocol";
import { readSocketLines } from "../socketLines";

export type ControlHandler = (argv: string[]) => Promise<ControlResponse>;

const MAX_REQUEST = 1024 * 1024;

export class ControlServer {
    private server: net.Server | undefined;

    constructor(
        readonly socketPath: string,
        private readonly handler: ControlHandler,
    ) {}

    async listen(): Promise<void> {
        const dir = path.dirname(this.socketPath);
        if (!fs.existsSync(dir)) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        await this.removeStale();
        const server = net.createServer(sock => this.serve(sock));
        // No window in which the socket exists with looser permissions.
        const oldMask = process.umask(0o177);
        try {
            await new Promise<void>((resolve, reject) => {
                server.once("error", reject);
                server.listen(this.socketPath, () => {
                    server.off("error", reject);
                    resolve();
                });
            });
        } finally {
            process.umask(oldMask);
        }
        fs.chmodSync(this.socketPath, 0o600);
        this.server = server;
    }

    /** A socket file left by a crashed server is removed; one that still answers means another server runs. */
    private async removeStale(): Promise<void> {
        if (!fs.existsSync(this.socketPath)) return;
        const alive = await new Promise<boolean>(resolve => {
            const c = net.connect(this.socketPath);
            c.once("connect", () => {
                c.destroy();
                resolve(true);
            });
            c.once("error", () => resolve(false));
        });
        if (alive) throw new Error(`another jailwatch server is listening on ${this.socketPath}`);
        fs.unlinkSync(this.socketPath);
    }

    private serve(sock: net.Socket): void {
        // One request per connection: answer the first line, then close.
        readSocketLines(
            sock,
            MAX_REQUEST,
            line => {
                let argv: string[];
                try {
                    argv = decodeRequest(line).argv;
                } catch (e) {
                    sock.end(encodeResponse({ ok: false, error: (e as Error).message }));
                    return false;
                }
                this.handler(argv).then(
                    r => sock.end(encodeResponse(r)),
                    e => sock.end(encodeResponse({ ok: false, error: (e as Error).message })),
                );
                return false;
            },
            () => sock.end(encodeResponse({ ok: false, error: "request too large" })),
        );
    }

    async close(): Promise<void> {
        const s = this.server;
        this.server = undefined;
        if (s) await new Promise<void>(r => s.close(() => r()));
        try {
            fs.unlinkSync(this.socketPath);
        } catch {
            // already gone
        }
    }
}
