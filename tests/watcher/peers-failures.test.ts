// Shared failure counting: three servers on loopback (own state dirs, dummy action) send each other the failures
// of jails with `sharefailures`, so the load balancer spreading one sender over the nodes does not multiply maxretry.

import * as assert from "assert";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { DummyAction } from "../../watcher/src/actions/dummy";
import { encodeFrame, newNonce, PeerPayload } from "../../watcher/src/peers/message";
import { PeerLink } from "../../watcher/src/peers/link";
import { JailwatchServer } from "../../watcher/src/server/daemon";
import { silentLogger } from "../../watcher/src/server/log";
import { ServerOptions } from "../../watcher/src/server/options";

const SHARED = "xmlrpc-shared";
const LOCAL = "xmlrpc-local";
const MAXRETRY = 20;
const secret = Buffer.from("peer-secret-for-the-unit-test-0123456789");

async function freePort(): Promise<number> {
    const s = net.createServer();
    await new Promise<void>(r => s.listen(0, "127.0.0.1", () => r()));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise<void>(r => s.close(() => r()));
    return port;
}

function stamp(): string {
    const d = new Date();
    const m = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][d.getUTCMonth()];
    const p = (n: number) => String(n).padStart(2, "0");
    return `${p(d.getUTCDate())}/${m}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
function line(ip: string, at = stamp()): string {
    return `127.0.0.1 - - [${at}] "POST /xmlrpc.php HTTP/1.1" 200 370 "-" "UA" "${ip}"\n`;
}

async function until(what: string, fn: () => boolean, tries = 500): Promise<void> {
    for (let i = 0; i < tries; i++) {
        if (fn()) return;
        await new Promise(r => setTimeout(r, 10));
    }
    throw new Error(`timed out waiting for ${what}`);
}
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/** Writes raw text to a port and waits until the peer closes (or 2 s). */
function sendRaw(port: number, text: string): Promise<void> {
    return new Promise<void>(resolve => {
        const s = net.connect(port, "127.0.0.1", () => s.end(text));
        const t = setTimeout(() => s.destroy(), 2000);
        s.on("close", () => {
            clearTimeout(t);
            resolve();
        });
        s.on("error", () => undefined);
    });
}

interface Node {
    server: JailwatchServer;
    link: PeerLink;
    action: DummyAction;
    log: string;
}

describe("peers: failures counted across the cluster (sharefailures)", function () {
    this.timeout(60_000);
    let dir: string;
    const nodes: Node[] = [];
    let ports: number[];

    /** Two jails on the same log, one sharing failures, one not (the control). */
    function startNode(i: number, extraPeers: string[] = []): Promise<Node> {
        const d = path.join(dir, `node${i}`);
        const conf = path.join(d, "conf");
        fs.mkdirSync(path.join(conf, "filter.d"), { recursive: true });
        fs.copyFileSync(
            path.resolve(__dirname, "../../watcher/config/filter.d/nginx-wp-xmlrpc.conf"),
            path.join(conf, "filter.d/nginx-wp-xmlrpc.conf"),
        );
        const log = path.join(d, "access.log");
        if (!fs.existsSync(log)) fs.writeFileSync(log, "");
        const jail = (name: string, share: boolean) =>
            `[${name}]\nenabled = true\nfilter = nginx-wp-xmlrpc\nlogpath = ${log}\nmaxretry = ${MAXRETRY}\nfindtime = 120\nbantime = 600\nport = http,https\nbanaction = dummy\nignoreself = false\nsharefailures = ${share}\n`;
        fs.writeFileSync(path.join(conf, "jail.conf"), `${jail(SHARED, true)}\n${jail(LOCAL, false)}`);
        const others = ports.map((p, k) => (k === i ? "" : `127.0.0.1:${p}`)).filter(Boolean);
        const opts: ServerOptions = {
            configDir: conf,
            socket: path.join(d, "jw.sock"),
            stateDir: path.join(d, "state"),
            foreground: true,
            loglevel: "error",
            polling: false,
            peers: { peers: [...others, ...extraPeers], port: ports[i], listen: "127.0.0.1" },
        };
        const link = new PeerLink(opts.peers, secret, silentLogger);
        const action = new DummyAction(silentLogger);
        const server = new JailwatchServer(opts, silentLogger, { peers: link, createAction: () => action });
        return server.start().then(() => ({ server, link, action, log }));
    }
    const banned = (n: Node, jail = SHARED) => [...(n.action.sets.get(jail)?.keys() ?? [])];

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-peerfail-"));
        ports = [await freePort(), await freePort(), await freePort()];
        for (let i = 0; i < 3; i++) nodes.push(await startNode(i));
    });
    after(async () => {
        for (const n of nodes) await n.server.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("20 failures spread round-robin over 3 nodes ban on all three, at the 20th and not before", async () => {
        const ip = "203.0.113.20";
        for (let k = 0; k < MAXRETRY - 1; k++) fs.appendFileSync(nodes[k % 3].log, line(ip));
        // Every node has heard of all 19 (counts travel within ~150 ms), and none banned.
        await until("19 failures known on every node", () =>
            nodes.every(
                n =>
                    n.server.metrics.jail(SHARED).peerFailures + n.server.jails.get(SHARED)!.jail.failedTotal >=
                    MAXRETRY - 1,
            ),
        );
        await sleep(400);
        for (const n of nodes) assert.deepStrictEqual(banned(n), [], "19 requests to the site are not 20");
        fs.appendFileSync(nodes[(MAXRETRY - 1) % 3].log, line(ip));
        for (const [i, n] of nodes.entries()) await until(`ban on node ${i}`, () => banned(n).includes(ip));
        // The jail without sharefailures counts per node: 7, 7 and 6 of 20, no ban anywhere.
        for (const n of nodes)
            assert.deepStrictEqual(banned(n, LOCAL), [], "per-node counting does not ban at 20 requests to the site");
        const decided = nodes.reduce((s, n) => s + n.server.jails.get(SHARED)!.jail.bans.totalBanned, 0);
        assert.ok(decided >= 1, "one node decided the ban from the shared count");
        const sent = nodes.reduce((s, n) => s + n.link.counters.sent.failures, 0);
        assert.ok(sent >= 2 && sent <= 40, `a handful of failure frames for 20 lines, got ${sent}`);
    });

    it("one request every 30 ms spread over the nodes: banned everywhere at the 20th request to the site", async () => {
        const ip = "203.0.113.21";
        let sent = 0;
        while (sent < 40 && !nodes.some(n => banned(n).includes(ip))) {
            fs.appendFileSync(nodes[sent % 3].log, line(ip));
            sent++;
            await sleep(30);
        }
        for (const [i, n] of nodes.entries()) await until(`ban on node ${i}`, () => banned(n).includes(ip));
        // The ban may be seen a request late (the check runs between requests), never several.
        assert.ok(sent >= MAXRETRY && sent <= MAXRETRY + 1, `banned after ${sent} requests`);
    });

    it("unsigned, altered and replayed failure frames are refused, counted, and not counted as failures", async () => {
        const ip = "198.51.100.77";
        const jail = nodes[0].server.jails.get(SHARED)!.jail;
        const payload = (): PeerPayload => ({
            type: "failures",
            node: "other",
            ts: Date.now() / 1000,
            nonce: newNonce(),
            failures: [{ jail: SHARED, ip, n: 5, t: Date.now() / 1000 }],
        });
        const c = nodes[0].link.counters;
        const before = { ...c.rejected };
        const peerBefore = nodes[0].server.metrics.jail(SHARED).peerFailures;
        await sendRaw(ports[0], encodeFrame(payload(), Buffer.from("not-the-shared-secret-0123456789")));
        await sendRaw(ports[0], JSON.stringify({ p: JSON.stringify(payload()) }) + "\n");
        const good = encodeFrame(payload(), secret);
        const altered = good.replace('"n\\":5', '"n\\":19');
        assert.notStrictEqual(altered, good);
        await sendRaw(ports[0], altered);
        await sendRaw(ports[0], good);
        await sendRaw(ports[0], good); // the same frame again
        await until("refusals counted", () => c.rejected.replay > before.replay);
        assert.strictEqual(c.rejected.bad_mac - before.bad_mac, 2, "wrong secret and altered frame");
        assert.strictEqual(c.rejected.no_mac - before.no_mac, 1, "unsigned frame");
        assert.strictEqual(c.rejected.replay - before.replay, 1, "replayed frame");
        assert.strictEqual(
            nodes[0].server.metrics.jail(SHARED).peerFailures - peerBefore,
            5,
            "only the authentic frame counted, once",
        );
        assert.ok(jail.failingCount >= 1);
        assert.match(
            nodes[0].server.metricsText(),
            /^jailwatch_peer_messages_rejected_total\{reason="replay"\} [1-9]/m,
        );
    });

    it("an authentic frame of an unknown type is ignored and the connection goes on (newer peers)", async () => {
        const ip = "192.0.2.150";
        const future = encodeFrame(
            { type: "gossip-v9", node: "newer", ts: Date.now() / 1000, nonce: newNonce() } as unknown as PeerPayload,
            secret,
        );
        const ban = encodeFrame(
            {
                type: "ban",
                node: "newer",
                ts: Date.now() / 1000,
                nonce: newNonce(),
                bans: [{ jail: SHARED, ip, end: Date.now() / 1000 + 300 }],
            },
            secret,
        );
        const other = nodes[1].link.counters.received.other;
        await sendRaw(ports[1], future + ban);
        await until("ban after the unknown frame", () => banned(nodes[1]).includes(ip));
        assert.strictEqual(nodes[1].link.counters.received.other - other, 1);
    });

    it("a peer of the old version (refuses failure frames) still gets every ban", async () => {
        // The old version's decodeFrame throws on an unknown type and drops that connection; failure frames travel
        // on their own connections, so ban frames still arrive whole.
        const got: string[] = [];
        let refusedConnections = 0;
        const old = net.createServer(sock => {
            let buf = "";
            sock.setEncoding("utf8");
            sock.on("data", (d: string) => {
                buf += d;
                let nl: number;
                while ((nl = buf.indexOf("\n")) >= 0) {
                    const p = JSON.parse(JSON.parse(buf.slice(0, nl)).p) as PeerPayload;
                    buf = buf.slice(nl + 1);
                    if (!["ban", "unban", "sync", "sync-request"].includes(p.type)) {
                        refusedConnections++;
                        sock.destroy();
                        return;
                    }
                    if (p.type === "ban") got.push(...p.bans.map(b => b.ip));
                }
            });
            sock.on("error", () => undefined);
        });
        await new Promise<void>(r => old.listen(0, "127.0.0.1", () => r()));
        const oldPort = (old.address() as net.AddressInfo).port;
        try {
            const n0 = nodes.shift()!;
            await n0.server.stop();
            const again = await startNode(0, [`127.0.0.1:${oldPort}`]);
            nodes.unshift(again);
            const ip = "203.0.113.99";
            for (let k = 0; k < MAXRETRY; k++) fs.appendFileSync(again.log, line(ip));
            await until("ban reached the old peer", () => got.includes(ip));
            // The failure frames are batched: they may arrive after the ban, on a loaded machine well after.
            await until("the old peer to be sent failure frames and refuse them", () => refusedConnections >= 1);
        } finally {
            await new Promise<void>(r => old.close(() => r()));
        }
    });

    it("a flood of 100,000 failure lines makes a bounded number of frames", async () => {
        const n = nodes[2];
        const sentBefore = n.link.counters.sent.failures;
        const readBefore = n.server.metrics.jail(SHARED).linesRead;
        const at = stamp();
        // 100,000 lines from 5,000 addresses (20 each: every one is banned locally at its 20th line).
        const chunk: string[] = [];
        for (let k = 0; k < 100_000; k++) chunk.push(line(`10.9.${(k % 5000) >> 8}.${(k % 5000) & 255}`, at));
        fs.appendFileSync(n.log, chunk.join(""));
        await until("flood read", () => n.server.metrics.jail(SHARED).linesRead >= readBefore + 100_000, 3000);
        await sleep(500);
        const frames = n.link.counters.sent.failures - sentBefore;
        // Per peer: at most 1,000 addresses a frame, and 5,000 distinct addresses; plus the flushes' partial frames.
        assert.ok(frames > 0, "failures were shared");
        assert.ok(frames <= 2 * 40, `bounded: ${frames} failure frames for 100,000 lines to 2 peers`);
    });
});
