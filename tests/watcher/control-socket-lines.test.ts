// readSocketLines: the newline framing shared by the control socket and the peer link.
import * as assert from "assert";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { readSocketLines } from "../../watcher/src/socketLines";

/** Serves one connection with readSocketLines, sends `chunks` from a client, resolves with what the reader saw. */
async function feed(
    chunks: string[],
    maxChars: number,
    stopAfterFirst = false,
): Promise<{ lines: string[]; overflow: number }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-lines-"));
    const sockPath = path.join(dir, "s.sock");
    const seen = { lines: [] as string[], overflow: 0 };
    const server = net.createServer(sock =>
        readSocketLines(
            sock,
            maxChars,
            line => {
                seen.lines.push(line);
                return stopAfterFirst ? false : undefined;
            },
            () => {
                seen.overflow++;
                sock.destroy();
            },
        ),
    );
    await new Promise<void>(r => server.listen(sockPath, r));
    try {
        const client = net.createConnection(sockPath);
        client.on("error", () => undefined);
        await new Promise<void>(r => client.on("connect", r));
        for (const c of chunks) {
            client.write(c);
            await new Promise(r => setTimeout(r, 20));
        }
        client.end();
        await new Promise(r => setTimeout(r, 50));
        return seen;
    } finally {
        await new Promise<void>(r => server.close(() => r()));
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("socket line framing (control socket and peer link)", () => {
    it("delivers lines split across and packed into chunks, in order, without newlines", async () => {
        const r = await feed(["ab", "c\nde\nf", "g\n"], 100);
        assert.deepStrictEqual(r, { lines: ["abc", "de", "fg"], overflow: 0 });
    });
    it("stops after the first line when the handler says so", async () => {
        const r = await feed(["one\ntwo\n", "three\n"], 100, true);
        assert.deepStrictEqual(r.lines, ["one"]);
    });
    it("refuses an over-long unterminated rest, and an over-long line, once, without delivering it", async () => {
        assert.deepStrictEqual(await feed(["x".repeat(50), "y".repeat(60)], 100), { lines: [], overflow: 1 });
        assert.deepStrictEqual(await feed(["ok\n" + "z".repeat(150) + "\nlater\n"], 100), {
            lines: ["ok"],
            overflow: 1,
        });
    });
});
