// The site in a browser on the machine itself: a TCP forwarder from 127.0.0.1:80 in the machine's own network
// namespace to the load balancer's address (10.77.1.100:80), which exists only inside the lab's control namespace.
//
// One process does both ends: this program binds the listening socket here (in the machine's namespace), and hands
// it as fd 3 to a small Node program started inside the control namespace (nsenter --net). A socket keeps the
// namespace it was made in, so the child accepts on the machine's loopback and connects from the control namespace,
// where the balancer's address is routed. Going through the balancer (not to a node) keeps the URL working while a
// node is down; the child lives in the control namespace, so `down` (destroyLab) ends it with everything else there.
import { spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { LB_PUBLIC_IP } from "./balancer";
import { ProcessId, isAlive, signal, startTimeOf, waitFor } from "./proc";
import { LAB_DIR, LAB_TAG, readControlRecord, writeJson } from "./state";

/** The forwarder as recorded under LAB_DIR, so `up` finds it again and `down` stops exactly it. */
export interface ForwardRecord {
    process: ProcessId;
    /** Loopback address and port it listens on. */
    address: string;
    port: number;
    /** Where it sends each connection, e.g. 10.77.1.100:80. */
    target: string;
}

export const FORWARD_FILE = () => path.join(LAB_DIR, "forward.json");
/**
 * Port 80, on a loopback address of its own: WordPress's links follow the Host it is asked by (the lab's siteUrl is
 * empty), and Debian's Nginx hands PHP that Host without its port (fastcgi_params: HTTP_HOST $host), so on any
 * other port every link and redirect would point at port 80. All of 127.0.0.0/8 is loopback: the default lab takes
 * 127.0.0.1 (or 127.77.0.1 when something else has 127.0.0.1:80), a second lab (HA_LAB_DIR) an address from its tag,
 * HA_LAB_HTTP_ADDR chooses one. Never anything but loopback: the site is for the person at this machine.
 */
export const FORWARD_PORT = 80;

/** The loopback addresses to try, in order. */
export function forwardAddresses(env: NodeJS.ProcessEnv = process.env, tag = LAB_TAG): string[] {
    if (env.HA_LAB_HTTP_ADDR) {
        if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(env.HA_LAB_HTTP_ADDR)) {
            throw new Error(`HA_LAB_HTTP_ADDR='${env.HA_LAB_HTTP_ADDR}' must be a loopback address (127.x.y.z)`);
        }
        return [env.HA_LAB_HTTP_ADDR];
    }
    if (!env.HA_LAB_DIR) return ["127.0.0.1", "127.77.0.1"];
    const h = crypto.createHash("sha256").update(tag).digest();
    // 127.77.1.1-127.77.254.254: never 127.77.0.x (the default lab's) nor .0/.255.
    return [0, 1, 2].map(i => `127.77.${1 + ((h[0] + i) % 254)}.${1 + (h[1] % 254)}`);
}

/** The program the control namespace runs: accept on the inherited socket (fd 3), pipe to the target. */
const CHILD = `
const net = require("net");
const [host, port] = [process.argv[1], Number(process.argv[2])];
net.createServer({ allowHalfOpen: true }, c => {
  const u = net.connect({ host, port, allowHalfOpen: true });
  c.on("error", () => u.destroy());
  u.on("error", () => c.destroy());
  c.pipe(u);
  u.pipe(c);
}).listen({ fd: 3 });`;

export function readForwardRecord(): ForwardRecord | undefined {
    try {
        return JSON.parse(fs.readFileSync(FORWARD_FILE(), "utf8")) as ForwardRecord;
    } catch {
        return undefined;
    }
}

/** The URL a browser on this machine opens. */
export function forwardUrl(rec: ForwardRecord): string {
    return `http://${rec.address}${rec.port === 80 ? "" : `:${rec.port}`}/`;
}

/** True when something accepts TCP connections on the loopback port. */
export function portAnswers(address: string, port: number): Promise<boolean> {
    return new Promise(resolve => {
        const s = net.connect({ host: address, port });
        const done = (ok: boolean) => {
            s.destroy();
            resolve(ok);
        };
        s.setTimeout(2_000, () => done(false));
        s.on("connect", () => done(true));
        s.on("error", () => done(false));
    });
}

/** Binds port 80 on the first free address; the caller owns the returned (listening) server. */
async function bindFree(addresses: string[]): Promise<net.Server> {
    for (const host of addresses) {
        const srv = net.createServer();
        const ok = await new Promise<boolean>(resolve => {
            srv.once("error", () => resolve(false));
            srv.listen({ host, port: FORWARD_PORT, exclusive: true }, () => resolve(true));
        });
        if (ok) return srv;
    }
    throw new Error(
        `port ${FORWARD_PORT} is taken on ${addresses.join(", ")} (choose another with HA_LAB_HTTP_ADDR=127.x.y.z)`,
    );
}

/**
 * Starts the forwarder unless the recorded one still runs; returns its record. Safe to call on every `up`.
 */
export async function ensureForwarder(targetPort = 80): Promise<ForwardRecord> {
    const target = `${LB_PUBLIC_IP}:${targetPort}`;
    const old = readForwardRecord();
    if (old && isAlive(old.process) && old.target === target && (await portAnswers(old.address, old.port))) return old;
    if (old) stopForwarder();
    const ctl = readControlRecord();
    if (!ctl || !isAlive(ctl.init))
        throw new Error("the lab's control namespace is not running (run `npm run lab -- up`)");
    const srv = await bindFree(forwardAddresses());
    const { address, port } = srv.address() as net.AddressInfo;
    // libuv's own handle: its fd is the listening socket, which the child inherits as fd 3. Spawning and closing in
    // the same tick means this process never accepts a connection meant for the child.
    const fd = (srv as unknown as { _handle: { fd: number } })._handle.fd;
    const log = fs.openSync(path.join(LAB_DIR, "forward.log"), "a");
    const child = spawn(
        "nsenter",
        ["-t", String(ctl.init.pid), "-n", "--", process.execPath, "-e", CHILD, LB_PUBLIC_IP, String(targetPort)],
        { detached: true, stdio: ["ignore", log, log, fd] },
    );
    srv.close();
    fs.closeSync(log);
    child.unref();
    const pid = child.pid;
    if (!pid) throw new Error("could not start the forwarder (nsenter)");
    await waitFor("the forwarder's process", () => startTimeOf(pid) !== undefined, 5_000, 50);
    const rec: ForwardRecord = { process: { pid, startTime: startTimeOf(pid)! }, address, port, target };
    writeJson(FORWARD_FILE(), rec);
    // nsenter execs node in place: same pid. It answers once node has taken over the socket.
    await waitFor(
        `the forwarder on ${address}:${port}`,
        async () => isAlive(rec.process) && portAnswers(address, port),
        10_000,
        100,
    );
    return rec;
}

/** Stops the recorded forwarder (by pid and start time, never by name) and forgets it. */
export function stopForwarder(): ForwardRecord | undefined {
    const rec = readForwardRecord();
    if (rec && isAlive(rec.process)) signal([rec.process.pid], "SIGTERM");
    fs.rmSync(FORWARD_FILE(), { force: true });
    return rec;
}
