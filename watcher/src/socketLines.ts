// Newline-framed text over a stream socket, shared by the control socket and the peer link.
import * as net from "net";

/**
 * Calls `onLine` for every newline-terminated line the socket sends (UTF-8, without the newline), in order.
 * `onLine` returning false stops reading (the caller answers and closes). A line, or an unterminated rest, longer than
 * `maxChars` calls `onOverflow` once instead, so a peer cannot make us buffer without bound.
 */
export function readSocketLines(sock: net.Socket, maxChars: number, onLine: (line: string) => boolean | void,
    onOverflow: () => void): void {
    let buf = "";
    let done = false;
    sock.setEncoding("utf8");
    sock.on("error", () => undefined);
    sock.on("data", (d: string) => {
        if (done) return;
        buf += d;
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (line.length > maxChars) break;
            if (onLine(line) === false) { done = true; return; }
        }
        if (nl >= 0 || buf.length > maxChars) {
            done = true;
            onOverflow();
        }
    });
}
