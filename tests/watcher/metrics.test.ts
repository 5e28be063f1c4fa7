// The Prometheus endpoint: off unless `metricslisten` asks, loopback unless it names an address, text that a
// Prometheus parser accepts (checked by a small parser below), counters that follow what the daemon does, and a
// listener that idle or excess connections cannot exhaust.

import * as assert from "assert";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { DummyAction } from "../../watcher/src/actions/dummy";
import { renderMetrics } from "../../watcher/src/metrics";
import { JailCounters, PeerCounters } from "../../watcher/src/metrics/counters";
import { JailwatchServer } from "../../watcher/src/server/daemon";
import { silentLogger } from "../../watcher/src/server/log";
import { metricsOptions, MetricsOptions, ServerOptions } from "../../watcher/src/server/options";
import { ConfigError } from "../../watcher/src/types";

const JAIL = "nginx-wp-xmlrpc";

interface Sample {
    name: string;
    labels: Record<string, string>;
    value: number;
}
interface Family {
    name: string;
    type: string;
    help: string;
    samples: Sample[];
}

/**
 * A strict reader of the text format (0.0.4): every sample belongs to a family declared by HELP and TYPE before it,
 * names and label names are valid, label values are quoted and escaped, values are numbers, counters end in
 * `_total`, no family is declared twice, no sample repeats its labels, and the text ends in a newline.
 */
function parseExposition(text: string): Map<string, Family> {
    assert.ok(text.endsWith("\n"), "exposition ends with a newline");
    const families = new Map<string, Family>();
    const seen = new Set<string>();
    let current: Family | undefined;
    const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
    for (const [i, line] of text.slice(0, -1).split("\n").entries()) {
        const where = `line ${i + 1}: ${JSON.stringify(line)}`;
        if (line === "") continue;
        let m = /^# HELP (\S+) (.+)$/.exec(line);
        if (m) {
            assert.ok(NAME.test(m[1]), where);
            assert.ok(!families.has(m[1]), `family declared twice: ${where}`);
            current = { name: m[1], type: "", help: m[2], samples: [] };
            families.set(m[1], current);
            continue;
        }
        m = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
        if (m) {
            assert.ok(current && current.name === m[1] && current.type === "", `TYPE right after its HELP: ${where}`);
            current.type = m[2];
            continue;
        }
        assert.ok(!line.startsWith("#"), `unknown comment: ${where}`);
        m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
        assert.ok(m, `sample syntax: ${where}`);
        assert.ok(
            current && current.name === m[1] && current.type !== "",
            `sample under its own HELP and TYPE: ${where}`,
        );
        const labels: Record<string, string> = {};
        if (m[2] !== undefined) {
            const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
            let pos = 0;
            while (pos < m[2].length) {
                re.lastIndex = pos;
                const l = re.exec(m[2]);
                assert.ok(l, `label syntax: ${where}`);
                labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
                pos = re.lastIndex;
            }
        }
        const value = m[3] === "+Inf" ? Infinity : m[3] === "NaN" ? NaN : Number(m[3]);
        assert.ok(m[3] === "NaN" || !Number.isNaN(value), `value: ${where}`);
        const id = `${m[1]}${JSON.stringify(labels)}`;
        assert.ok(!seen.has(id), `repeated sample: ${where}`);
        seen.add(id);
        current.samples.push({ name: m[1], labels, value });
    }
    for (const f of families.values()) {
        assert.ok(f.name.startsWith("jailwatch_"), `prefix: ${f.name}`);
        assert.ok(/^[a-z0-9_]+$/.test(f.name), `snake_case: ${f.name}`);
        if (f.type === "counter") assert.ok(f.name.endsWith("_total"), `counter ${f.name} ends in _total`);
        else assert.ok(!f.name.endsWith("_total"), `only counters end in _total: ${f.name}`);
    }
    return families;
}

function value(f: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
    const fam = f.get(name);
    assert.ok(fam, `family ${name}`);
    const s = fam.samples.find(
        x =>
            Object.entries(labels).every(([k, v]) => x.labels[k] === v) &&
            Object.keys(x.labels).length === Object.keys(labels).length,
    );
    return s?.value;
}

function get(
    port: number,
    pathName = "/metrics",
    method = "GET",
): Promise<{ status: number; type: string; body: string }> {
    return new Promise((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port, path: pathName, method, agent: false }, res => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (d: string) => (body += d));
            res.on("end", () =>
                resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), body }),
            );
        });
        req.on("error", reject);
        req.end();
    });
}

function stamp(): string {
    const d = new Date();
    const m = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][d.getUTCMonth()];
    const p = (n: number) => String(n).padStart(2, "0");
    return `${p(d.getUTCDate())}/${m}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
const attack = (ip: string) => `127.0.0.1 - - [${stamp()}] "POST /xmlrpc.php HTTP/1.1" 200 370 "-" "UA" "${ip}"\n`;
const visit = (ip: string) => `127.0.0.1 - - [${stamp()}] "GET / HTTP/1.1" 200 5120 "-" "UA" "${ip}"\n`;

async function until(what: string, fn: () => boolean | Promise<boolean>): Promise<void> {
    for (let i = 0; i < 500; i++) {
        if (await fn()) return;
        await new Promise(r => setTimeout(r, 10));
    }
    throw new Error(`timed out waiting for ${what}`);
}

function listeningServers(): number {
    const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
    return handles.filter(h => h instanceof net.Server && h.listening).length;
}

describe("metrics: the Prometheus endpoint", function () {
    this.timeout(30_000);
    let dir: string;
    let n = 0;
    const running: JailwatchServer[] = [];

    async function start(
        metrics: MetricsOptions | undefined,
        deps: { failBans?: boolean } = {},
    ): Promise<{ server: JailwatchServer; log: string; stateDir: string }> {
        const d = path.join(dir, `s${n++}`);
        const conf = path.join(d, "conf");
        fs.mkdirSync(path.join(conf, "filter.d"), { recursive: true });
        fs.copyFileSync(
            path.resolve(__dirname, "../../watcher/config/filter.d/nginx-wp-xmlrpc.conf"),
            path.join(conf, "filter.d/nginx-wp-xmlrpc.conf"),
        );
        const log = path.join(d, "access.log");
        fs.writeFileSync(log, "");
        fs.writeFileSync(
            path.join(conf, "jail.conf"),
            `[${JAIL}]\nenabled = true\nlogpath = ${log}\nmaxretry = 20\nfindtime = 120\nbantime = 600\nport = http,https\nbanaction = dummy\nignoreself = false\n`,
        );
        const opts: ServerOptions = {
            configDir: conf,
            socket: path.join(d, "jw.sock"),
            stateDir: path.join(d, "state"),
            foreground: true,
            loglevel: "error",
            polling: false,
            peers: { peers: [], port: 0, listen: "127.0.0.1" },
            metrics,
        };
        const action = new DummyAction(silentLogger);
        if (deps.failBans) action.ban = async () => Promise.reject(new Error("nft: simulated failure"));
        const server = new JailwatchServer(opts, silentLogger, { createAction: () => action });
        await server.start();
        running.push(server);
        return { server, log, stateDir: opts.stateDir };
    }

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-metrics-"));
    });
    after(async () => {
        for (const s of running) await s.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("is off by default: no metricslisten, no listening socket", async () => {
        assert.strictEqual(metricsOptions({}), undefined);
        assert.strictEqual(metricsOptions({ metricslisten: { value: "", file: "f", line: 1 } }), undefined);
        assert.strictEqual(metricsOptions({ metricslisten: { value: "off", file: "f", line: 1 } }), undefined);
        const before = listeningServers();
        const { server } = await start(undefined);
        assert.strictEqual(server.metricsServer, undefined);
        assert.strictEqual(listeningServers(), before, "the daemon opened no port");
    });

    it("binds to loopback unless an address is named; a bad value is a config error naming file, line and key", async () => {
        assert.deepStrictEqual(metricsOptions({ metricslisten: { value: "9539", file: "f", line: 1 } }), {
            host: "127.0.0.1",
            port: 9539,
        });
        assert.deepStrictEqual(metricsOptions({ metricslisten: { value: "10.0.0.5:9539", file: "f", line: 1 } }), {
            host: "10.0.0.5",
            port: 9539,
        });
        assert.deepStrictEqual(metricsOptions({ metricslisten: { value: "[::1]:9539", file: "f", line: 1 } }), {
            host: "::1",
            port: 9539,
        });
        assert.throws(
            () => metricsOptions({ metricslisten: { value: "yes", file: "/etc/jailwatch/jailwatch.local", line: 7 } }),
            (e: unknown) =>
                e instanceof ConfigError &&
                /jailwatch\.local/.test(e.message) &&
                /7/.test(e.message) &&
                /metricslisten/.test(e.message),
        );
        assert.throws(() => metricsOptions({ metricslisten: { value: "99999", file: "f", line: 1 } }), ConfigError);
        const { server } = await start(metricsOptions({ metricslisten: { value: "0", file: "f", line: 1 } }));
        const addr = server.metricsServer!.address!;
        assert.strictEqual(addr.address, "127.0.0.1");
        const r = await get(addr.port);
        assert.strictEqual(r.status, 200);
        // Not reachable on the host's other addresses.
        const external = Object.values(os.networkInterfaces())
            .flat()
            .find(a => a && a.family === "IPv4" && !a.internal);
        if (external) {
            const refused = await new Promise<boolean>(resolve => {
                const s = net.connect(addr.port, external.address);
                s.on("connect", () => (s.destroy(), resolve(false)));
                s.on("error", () => resolve(true));
            });
            assert.ok(refused, `not listening on ${external.address}`);
        }
    });

    it("renders valid exposition text, with HELP and TYPE, that a parser accepts (label values escaped)", () => {
        const c = new JailCounters();
        c.linesRead = 3;
        const text = renderMetrics({
            jails: [{ name: 'we"ird\\jail\nname', counters: c, failures: 2, currentBans: 1, totalBans: 4, tracked: 1 }],
            files: [
                { path: "/var/log/a.log", lagBytes: 12 },
                { path: "/gone.log", lagBytes: undefined },
            ],
            peers: new PeerCounters(),
            firewallErrors: 0,
            stateSaveErrors: 0,
            stateSaveFailing: false,
        });
        const f = parseExposition(text);
        assert.strictEqual(value(f, "jailwatch_lines_read_total", { jail: 'we"ird\\jail\nname' }), 3);
        assert.strictEqual(value(f, "jailwatch_follower_lag_bytes", { file: "/var/log/a.log" }), 12);
        assert.strictEqual(
            f.get("jailwatch_follower_lag_bytes")!.samples.length,
            1,
            "a missing file has no lag sample",
        );
        assert.strictEqual(value(f, "jailwatch_peer_messages_rejected_total", { reason: "replay" }), 0);
        for (const name of [
            "jailwatch_lines_read_total",
            "jailwatch_lines_matched_total",
            "jailwatch_failures_total",
            "jailwatch_bans",
            "jailwatch_bans_total",
            "jailwatch_peer_messages_sent_total",
            "jailwatch_peer_messages_received_total",
            "jailwatch_peer_messages_rejected_total",
            "jailwatch_firewall_errors_total",
            "jailwatch_follower_lag_bytes",
            "jailwatch_state_save_errors_total",
        ]) {
            assert.ok(f.has(name), name);
        }
        assert.strictEqual(f.get("jailwatch_bans")!.type, "gauge");
        assert.strictEqual(f.get("jailwatch_bans_total")!.type, "counter");
    });

    it("counters move when lines are fed: lines read and matched, failures, bans, follower lag", async () => {
        const { server, log } = await start({ host: "127.0.0.1", port: 0 });
        const port = server.metricsServer!.address!.port;
        const scrape = async () => parseExposition((await get(port)).body);
        const f0 = await scrape();
        assert.strictEqual(value(f0, "jailwatch_lines_read_total", { jail: JAIL }), 0);
        assert.strictEqual(value(f0, "jailwatch_bans", { jail: JAIL }), 0);
        fs.appendFileSync(log, visit("192.0.2.1").repeat(5) + attack("203.0.113.5").repeat(25));
        await until("30 lines read", () => server.metrics.jail(JAIL).linesRead >= 30);
        await server.settle();
        const f = await scrape();
        assert.strictEqual(value(f, "jailwatch_lines_read_total", { jail: JAIL }), 30);
        assert.strictEqual(value(f, "jailwatch_lines_matched_total", { jail: JAIL }), 25);
        assert.strictEqual(
            value(f, "jailwatch_failures_total", { jail: JAIL }),
            20,
            "the lines after the ban match but are not failures",
        );
        assert.strictEqual(value(f, "jailwatch_bans", { jail: JAIL }), 1);
        assert.strictEqual(value(f, "jailwatch_bans_total", { jail: JAIL }), 1);
        assert.strictEqual(value(f, "jailwatch_follower_lag_bytes", { file: log }), 0);
        assert.strictEqual(value(f, "jailwatch_firewall_errors_total"), 0);
        assert.ok(!f.has("jailwatch_peer_messages_sent_total"), "no peer families without peers");
        const r = await get(port);
        assert.strictEqual(r.type, "text/plain; version=0.0.4; charset=utf-8");
        assert.strictEqual((await get(port, "/")).status, 404);
        assert.strictEqual((await get(port, "/metrics", "POST")).status, 405);
    });

    it("counts firewall errors and failed state saves, and status shows the state problem", async () => {
        const { server, log, stateDir } = await start({ host: "127.0.0.1", port: 0 }, { failBans: true });
        const port = server.metricsServer!.address!.port;
        // The state directory becomes unusable (as a full or read-only disk would; root ignores modes, so a file).
        fs.rmSync(stateDir, { recursive: true, force: true });
        fs.writeFileSync(stateDir, "not a directory");
        fs.appendFileSync(log, attack("198.51.100.9").repeat(20));
        await until("ban decided", () => server.jails.get(JAIL)!.jail.bans.totalBanned === 1);
        await server.settle();
        server.saveBansNow();
        const f = parseExposition((await get(port)).body);
        assert.ok(value(f, "jailwatch_firewall_errors_total")! >= 1);
        assert.ok(value(f, "jailwatch_state_save_errors_total")! >= 1);
        assert.strictEqual(value(f, "jailwatch_state_save_failing"), 1);
        const st = await server.handle(["status"]);
        assert.ok(st.ok);
        assert.match(st.text, /cannot save state: .*\(\d+ failed save\(s\) since start\)/);
        assert.match(st.text, /firewall command\(s\) failed/);
    });

    it("survives idle and excess connections: a cap, an idle timeout, and scrapes still answer", async () => {
        const { server } = await start({ host: "127.0.0.1", port: 0, maxConnections: 4, idleTimeoutMs: 300 });
        const port = server.metricsServer!.address!.port;
        const socks: net.Socket[] = [];
        const closed: boolean[] = [];
        for (let i = 0; i < 12; i++) {
            const s = net.connect(port, "127.0.0.1");
            const k = socks.push(s) - 1;
            closed[k] = false;
            s.on("close", () => (closed[k] = true));
            s.on("error", () => undefined);
        }
        await until("excess connections closed", () => closed.filter(Boolean).length >= 8);
        await until("idle connections closed", () => closed.every(Boolean));
        const r = await get(port);
        assert.strictEqual(r.status, 200);
        parseExposition(r.body);
    });
});
