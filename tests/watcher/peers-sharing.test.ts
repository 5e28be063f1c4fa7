// Two servers on loopback (own sockets, state dirs, dummy action) sharing bans through authenticated peer messages.

import * as assert from "assert";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { DummyAction } from "../../watcher/src/actions/dummy";
import { encodeFrame, newNonce } from "../../watcher/src/peers/message";
import { PeerLink } from "../../watcher/src/peers/link";
import { JailwatchServer } from "../../watcher/src/server/daemon";
import { silentLogger } from "../../watcher/src/server/log";
import { ServerOptions } from "../../watcher/src/server/options";

const JAIL = "nginx-wp-xmlrpc";
const secret = Buffer.from("peer-secret-for-the-unit-test-0123456789");

async function freePort(): Promise<number> {
    const s = net.createServer();
    await new Promise<void>(r => s.listen(0, "127.0.0.1", () => r()));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise<void>(r => s.close(() => r()));
    return port;
}

function line(ip: string): string {
    const d = new Date();
    const m = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][d.getUTCMonth()];
    const p = (n: number) => String(n).padStart(2, "0");
    return `127.0.0.1 - - [${p(d.getUTCDate())}/${m}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000] "POST /xmlrpc.php HTTP/1.1" 200 370 "-" "UA" "${ip}"\n`;
}

async function until(what: string, fn: () => boolean): Promise<void> {
    for (let i = 0; i < 400; i++) {
        if (fn()) return;
        await new Promise(r => setTimeout(r, 10));
    }
    throw new Error(`timed out waiting for ${what}`);
}

interface Node {
    server: JailwatchServer;
    link: PeerLink;
    action: DummyAction;
    log: string;
}

describe("peers: bans shared between two servers", function () {
    let dir: string;
    const nodes: Node[] = [];
    let ports: number[];

    function startNode(i: number): Promise<Node> {
        const d = path.join(dir, `node${i}`);
        const conf = path.join(d, "conf");
        fs.mkdirSync(path.join(conf, "filter.d"), { recursive: true });
        fs.copyFileSync(
            path.resolve(__dirname, "../../watcher/config/filter.d/nginx-wp-xmlrpc.conf"),
            path.join(conf, "filter.d/nginx-wp-xmlrpc.conf"),
        );
        const log = path.join(d, "access.log");
        if (!fs.existsSync(log)) fs.writeFileSync(log, "");
        fs.writeFileSync(
            path.join(conf, "jail.conf"),
            `[${JAIL}]\nenabled = true\nlogpath = ${log}\nmaxretry = 3\nfindtime = 120\nbantime = 600\nport = http,https\nbanaction = dummy\nignoreself = false\n`,
        );
        const opts: ServerOptions = {
            configDir: conf,
            socket: path.join(d, "jw.sock"),
            stateDir: path.join(d, "state"),
            foreground: true,
            loglevel: "error",
            polling: false,
            peers: { peers: [`127.0.0.1:${ports[1 - i]}`], port: ports[i], listen: "127.0.0.1" },
        };
        const link = new PeerLink(opts.peers, secret, silentLogger);
        const action = new DummyAction(silentLogger);
        const server = new JailwatchServer(opts, silentLogger, { peers: link, createAction: () => action });
        return server.start().then(() => ({ server, link, action, log }));
    }
    const banned = (n: Node) => [...(n.action.sets.get(JAIL)?.keys() ?? [])];

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-peers-"));
        ports = [await freePort(), await freePort()];
        nodes.push(await startNode(0), await startNode(1));
    });
    after(async () => {
        for (const n of nodes) await n.server.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("a ban decided on one node is applied on the other, in the same jail, with the same end", async () => {
        fs.appendFileSync(nodes[0].log, line("203.0.113.7").repeat(3));
        await until("ban on node 0", () => banned(nodes[0]).includes("203.0.113.7"));
        await until("ban on node 1", () => banned(nodes[1]).includes("203.0.113.7"));
        const end0 = nodes[0].server.activeBans().find(b => b.ip === "203.0.113.7")!.end;
        const end1 = nodes[1].server.activeBans().find(b => b.ip === "203.0.113.7")!.end;
        assert.strictEqual(end1, end0);
        assert.match(
            await nodes[1].server.handle(["status", JAIL]).then(r => (r.ok ? r.text : r.error)),
            /Banned IP list:\t203\.0\.113\.7/,
        );
    });

    it("a ban from the control socket is shared too, and not sent back (no loop)", async () => {
        const r = await nodes[1].server.handle(["set", JAIL, "banip", "198.51.100.20"]);
        assert.deepStrictEqual(r, { ok: true, text: "1" });
        await until("ban on node 0", () => banned(nodes[0]).includes("198.51.100.20"));
        await new Promise(r => setTimeout(r, 100));
        assert.strictEqual(
            nodes[0].server.jails.get(JAIL)!.jail.status().totalBanned,
            1,
            "node 0 decided only its own ban; the peer's was installed, not re-decided",
        );
    });

    it("an IPv6 ban travels as its key and lands as the same key", async () => {
        await nodes[0].server.handle(["set", JAIL, "banip", "2001:db8:7::1"]);
        await until("IPv6 ban on node 1", () => banned(nodes[1]).includes("2001:db8:7::1"));
    });

    it("refuses frames with a wrong secret", async () => {
        const frame = encodeFrame(
            {
                type: "ban",
                node: "intruder",
                ts: Date.now() / 1000,
                nonce: newNonce(),
                bans: [{ jail: JAIL, ip: "192.0.2.66", end: null }],
            },
            Buffer.from("not-the-shared-secret-0123456789"),
        );
        await new Promise<void>(resolve => {
            const s = net.connect(ports[0], "127.0.0.1", () => s.end(frame));
            s.on("close", () => resolve());
            s.on("error", () => resolve());
        });
        await new Promise(r => setTimeout(r, 100));
        assert.ok(!banned(nodes[0]).includes("192.0.2.66"));
    });

    it("a restarted node asks its peer for the current bans", async () => {
        const n1 = nodes.pop()!;
        await n1.server.stop();
        fs.rmSync(path.join(dir, "node1", "state"), { recursive: true, force: true }); // lost its disk, say
        await nodes[0].server.handle(["set", JAIL, "banip", "192.0.2.99"]);
        const again = await startNode(1);
        nodes.push(again);
        assert.deepStrictEqual(banned(again).sort(), ["192.0.2.99", "198.51.100.20", "2001:db8:7::1", "203.0.113.7"]);
    });

    it("an operator's unban is lifted on the peer too, and a peer that missed it drops it when it comes back", async () => {
        await nodes[0].server.handle(["set", JAIL, "banip", "192.0.2.120", "192.0.2.121"]);
        await until(
            "shared",
            () => banned(nodes[1]).includes("192.0.2.120") && banned(nodes[1]).includes("192.0.2.121"),
        );
        await nodes[0].server.handle(["set", JAIL, "unbanip", "192.0.2.120"]);
        await until("lifted on the peer", () => !banned(nodes[1]).includes("192.0.2.120"));
        // Node 1 is down while node 0's operator lifts the other ban; node 1 comes back with it in its state file.
        const n1 = nodes.pop()!;
        await n1.server.stop();
        await nodes[0].server.handle(["set", JAIL, "unbanip", "192.0.2.121"]);
        const again = await startNode(1);
        nodes.push(again);
        assert.ok(
            !banned(again).includes("192.0.2.121"),
            "the lifted ban is not kept by the node that missed the unban",
        );
        assert.ok(!banned(nodes[0]).includes("192.0.2.121"), "nor handed back to the node that lifted it");
    });
});
