// Issue 14, point 7: defects found by attacking the daemon, each pinned by a test that failed on the code before
// the fix. The server runs in-process with the dummy backend (the kernel-side ones are in hardening-kernel).

import * as assert from "assert";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { DummyAction } from "../../watcher/src/actions/dummy";
import { encodeFrame, newNonce } from "../../watcher/src/peers/message";
import { PeerLink } from "../../watcher/src/peers/link";
import { JailwatchServer, ServerDeps } from "../../watcher/src/server/daemon";
import { Logger, silentLogger } from "../../watcher/src/server/log";
import { PeerOptions, ServerOptions } from "../../watcher/src/server/options";

const JAIL = "nginx-wp-xmlrpc";
const secret = Buffer.from("peer-secret-for-the-unit-test-0123456789");

function line(ip: string): string {
    const d = new Date();
    const m = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][d.getUTCMonth()];
    const p = (n: number) => String(n).padStart(2, "0");
    return `127.0.0.1 - - [${p(d.getUTCDate())}/${m}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000] "POST /xmlrpc.php HTTP/1.1" 200 370 "-" "UA" "${ip}"\n`;
}

async function until(what: string, fn: () => boolean, tries = 500): Promise<void> {
    for (let i = 0; i < tries; i++) {
        if (fn()) return;
        await new Promise(r => setTimeout(r, 10));
    }
    throw new Error(`timed out waiting for ${what}`);
}

async function freePort(): Promise<number> {
    const s = net.createServer();
    await new Promise<void>(r => s.listen(0, "127.0.0.1", () => r()));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise<void>(r => s.close(() => r()));
    return port;
}

/** A logger that keeps every line, for tests about what gets logged. */
function recordingLogger(): Logger & { lines: string[] } {
    const lines: string[] = [];
    const rec = (lv: string) => (m: string) => void lines.push(`${lv} ${m}`);
    return { lines, error: rec("error"), warn: rec("warn"), info: rec("info"), debug: rec("debug") };
}

function sendRaw(port: number, data: string): Promise<void> {
    return new Promise(resolve => {
        const s = net.connect(port, "127.0.0.1", () => s.end(data));
        s.on("close", () => resolve());
        s.on("error", () => resolve());
    });
}

describe("hardening: the server", function () {
    let dir: string;
    let log: string;
    let conf: string;
    let state: string;
    let server: JailwatchServer | undefined;
    let action: DummyAction;

    const writeJail = (extra = "") =>
        fs.writeFileSync(
            path.join(conf, "jail.local"),
            `[${JAIL}]\nlogpath = ${log}\nmaxretry = 3\nbanaction = dummy\nignoreself = false\nignoreip = 127.0.0.1/8\n${extra}`,
        );

    async function start(
        deps: ServerDeps = {},
        peers?: PeerOptions,
        logger: Logger = silentLogger,
    ): Promise<JailwatchServer> {
        const opts: ServerOptions = {
            configDir: conf,
            socket: path.join(dir, "jw.sock"),
            stateDir: state,
            foreground: true,
            loglevel: "error",
            polling: false,
            peers: peers ?? { peers: [], port: 0, listen: "127.0.0.1" },
        };
        action = new DummyAction(silentLogger);
        server = new JailwatchServer(opts, logger, { createAction: () => action, ...deps });
        await server.start();
        return server;
    }
    const text = async (...argv: string[]) => {
        const r = await server!.handle(argv);
        return r.ok ? r.text : `ERROR ${r.error}`;
    };
    const inSet = () => [...(action.sets.get(JAIL)?.keys() ?? [])].sort();

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-hard-"));
        log = path.join(dir, "access.log");
        conf = path.join(dir, "conf");
        state = path.join(dir, "state");
        fs.cpSync(path.resolve(__dirname, "../../watcher/config"), conf, { recursive: true });
        fs.writeFileSync(log, "");
        writeJail();
    });
    afterEach(async () => {
        await server?.stop();
        server = undefined;
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("kill -9: a saved log position never passes a ban that is not in the state file", async () => {
        await start();
        fs.appendFileSync(log, line("203.0.113.5").repeat(3));
        await until("ban", () => inSet().includes("203.0.113.5"));
        // The periodic position save, as the tick runs it; a kill -9 right after it leaves exactly these files.
        (server as unknown as { savePositionsNow(): void }).savePositionsNow();
        const positions = JSON.parse(fs.readFileSync(path.join(state, "positions.json"), "utf8"));
        assert.strictEqual(
            positions.positions[log].offset,
            fs.statSync(log).size,
            "the position covers the ban's lines",
        );
        const bans = fs.readFileSync(path.join(state, "bans.json"), "utf8");
        assert.ok(bans.includes("203.0.113.5"), "so the ban those lines decided must be durable too");
    });

    it("one bad row in the state file is dropped and reported; the other bans are restored", async () => {
        const now = Date.now() / 1000;
        fs.mkdirSync(state, { recursive: true });
        fs.writeFileSync(
            path.join(state, "bans.json"),
            JSON.stringify({
                version: 1,
                bans: {
                    [JAIL]: [
                        ["198.51.100.7", now, now + 600, 0],
                        ["rm -rf /", now, now + 600, 0],
                        ["10.0.0.0/8", now, now + 600, 0],
                    ],
                },
                history: {},
            }),
        );
        await start();
        assert.deepStrictEqual(inSet(), ["198.51.100.7"]);
        const status = await text("status");
        assert.match(status, /! .*2 ban\(s\) in .*bans\.json dropped: .*"rm -rf \/"/);
    });

    it("banip with a CIDR is refused, never truncated to the network address", async () => {
        await start();
        assert.match(await text("set", JAIL, "banip", "10.0.0.0/8"), /^ERROR 10\.0\.0\.0\/8: .*network/);
        assert.deepStrictEqual(inSet(), []);
        // A single-address prefix is the address itself; an IPv6 ban key of the jail's prefix is what peers send.
        assert.strictEqual(await text("set", JAIL, "banip", "198.51.100.1/32"), "1");
        assert.deepStrictEqual(inSet(), ["198.51.100.1"]);
    });

    it("ignoreself covers an address the host gained after start", async () => {
        let own: string[] = [];
        fs.writeFileSync(
            path.join(conf, "jail.local"),
            `[${JAIL}]\nlogpath = ${log}\nmaxretry = 3\nbanaction = dummy\nignoreself = true\nignoreip = 127.0.0.1/8\n`,
        );
        await start({ selfAddresses: () => own });
        own = ["203.0.113.44"]; // e.g. a new elastic address, added after the start
        fs.appendFileSync(log, line("203.0.113.44").repeat(3) + line("203.0.113.45").repeat(3));
        await until("the other address is banned", () => inSet().includes("203.0.113.45"));
        assert.deepStrictEqual(inSet(), ["203.0.113.45"]);
        assert.match(await text("set", JAIL, "banip", "203.0.113.44"), /^ERROR .*own address/);
    });

    it("a state directory that cannot be written is shown in status, and cleared once it can", async () => {
        await start();
        // Root ignores permission bits: make the directory's path a plain file instead.
        fs.rmSync(state, { recursive: true, force: true });
        fs.writeFileSync(state, "not a directory");
        assert.strictEqual(await text("set", JAIL, "banip", "198.51.100.2"), "1");
        server!.saveBansNow();
        assert.match(await text("status"), /! cannot save state: .*bans\.json/);
        fs.rmSync(state);
        server!.saveBansNow();
        assert.doesNotMatch(await text("status"), /cannot save state/);
    });

    describe("peers", () => {
        let peerPort: number;
        let link: PeerLink | undefined;
        const peerOpts = (extra: Partial<PeerOptions> = {}): PeerOptions => ({
            peers: [],
            port: peerPort,
            listen: "127.0.0.1",
            ...extra,
        });
        async function startWithPeer(
            extra: Partial<PeerOptions> = {},
            logger: Logger = silentLogger,
            clock?: () => number,
        ): Promise<void> {
            const opts = peerOpts(extra);
            link = new PeerLink(opts, secret, logger);
            await start({ peers: link, now: clock }, opts, logger);
        }
        beforeEach(async () => {
            peerPort = await freePort();
        });

        it("closes idle peer connections and caps how many are open, so descriptors cannot run out", async () => {
            await startWithPeer({ idleTimeoutMs: 200, maxConnections: 4 });
            const socks: net.Socket[] = [];
            let closed = 0;
            for (let i = 0; i < 12; i++) {
                const s = net.connect(peerPort, "127.0.0.1");
                s.on("error", () => undefined);
                s.on("close", () => closed++);
                socks.push(s);
            }
            await until("the extra connections are closed at once", () => closed >= 8, 100);
            await until("idle connections are closed", () => closed === 12);
            assert.strictEqual(await text("ping"), "Server replied: pong");
        });

        it("logs refused frames at a bounded rate, not one line per frame", async () => {
            const logger = recordingLogger();
            await startWithPeer({}, logger);
            await sendRaw(peerPort, "garbage\n".repeat(5000));
            for (let i = 0; i < 20; i++) await sendRaw(peerPort, "garbage\n");
            await until("refusals logged", () => logger.lines.some(l => l.includes("refused frame")));
            const refused = logger.lines.filter(l => l.includes("refused")).length;
            assert.ok(refused <= 10, `${refused} log lines for 5020 refused frames`);
        });

        it("a frame replayed to a restarted server is refused", async () => {
            let now = Date.now() / 1000;
            await startWithPeer({}, silentLogger, () => now);
            const frame = encodeFrame(
                {
                    type: "ban",
                    node: "peer-a",
                    ts: now,
                    nonce: newNonce(),
                    bans: [{ jail: JAIL, ip: "192.0.2.77", end: now + 600 }],
                },
                secret,
            );
            await sendRaw(peerPort, frame);
            await until("peer ban applied", () => inSet().includes("192.0.2.77"));
            assert.strictEqual(await text("set", JAIL, "unbanip", "192.0.2.77"), "1");
            await server!.stop();
            now += 5; // restarted five seconds later: the frame is still inside the 60 s window
            await startWithPeer({}, silentLogger, () => now);
            await sendRaw(peerPort, frame);
            await new Promise(r => setTimeout(r, 100));
            await server!.settle();
            assert.deepStrictEqual(inSet(), []);
        });
    });
});
