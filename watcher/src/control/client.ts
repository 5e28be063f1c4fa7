// Sends one command to a running server and returns its answer.

import * as net from "net";
import { ControlResponse, decodeResponse, encodeRequest } from "./protocol";

export function sendCommand(socketPath: string, argv: string[], timeoutMs = 30_000): Promise<ControlResponse> {
    return new Promise((resolve, reject) => {
        const sock = net.connect(socketPath);
        let buf = "";
        const timer = setTimeout(() => {
            sock.destroy();
            reject(new Error(`no answer from ${socketPath} within ${timeoutMs / 1000}s`));
        }, timeoutMs);
        sock.setEncoding("utf8");
        sock.on("connect", () => sock.write(encodeRequest(argv)));
        sock.on("data", (d: string) => (buf += d));
        sock.on("error", (e: NodeJS.ErrnoException) => {
            clearTimeout(timer);
            const hint =
                e.code === "ENOENT" || e.code === "ECONNREFUSED"
                    ? " (is the jailwatch server running?)"
                    : e.code === "EACCES"
                      ? " (the control socket is root-only)"
                      : "";
            reject(new Error(`cannot reach ${socketPath}: ${e.message}${hint}`));
        });
        sock.on("end", () => {
            clearTimeout(timer);
            try {
                resolve(decodeResponse(buf.trim()));
            } catch (e) {
                reject(e);
            }
        });
    });
}
