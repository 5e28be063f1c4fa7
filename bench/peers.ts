// Cost of shared failures under a flood: three jailwatch servers (the built bundle, dummy backend) peered on
// loopback; 100,000 failure lines are appended to one node's log, once with `sharefailures = false` and once with
// `true`, and each process's CPU time (user + system, from /proc) is taken until every node has seen every line
// (lines read on the sender, peer failures counted on the receivers: read from the metrics endpoint) and gone quiet.
// Worst case for sharing: 10,000 addresses with 10 lines each, so nobody is banned and every failure is sent on.

import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as path from "path";
import type { BenchContext, Check } from "./run";

const JAIL = "bench";
const FILTER = `[Definition]\nfailregex = POST /xmlrpc.php HTTP/.*"<HOST>"$\nignoreregex =\n`;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const secret = "bench-peer-secret-0123456789abcdef";

function stamp(ms: number): string {
    const d = new Date(ms);
    const two = (n: number) => String(n).padStart(2, "0");
    return `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

async function freePort(): Promise<number> {
    const s = net.createServer();
    await new Promise<void>(r => s.listen(0, "127.0.0.1", () => r()));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise<void>(r => s.close(() => r()));
    return port;
}

function scrape(port: number): Promise<Map<string, number>> {
    return new Promise((resolve, reject) => {
        http.get({ host: "127.0.0.1", port, path: "/metrics", agent: false }, res => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (d: string) => (body += d));
            res.on("end", () => {
                const m = new Map<string, number>();
                for (const l of body.split("\n")) {
                    const x = /^(\S+) (\S+)$/.exec(l);
                    if (x && !l.startsWith("#")) m.set(x[1], Number(x[2]));
                }
                resolve(m);
            });
        }).on("error", reject);
    });
}

/** utime + stime of a process in ms. */
function cpuMs(pid: number): number {
    const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / 100; // USER_HZ is 100 on Linux
}

interface Node {
    proc: ChildProcess;
    log: string;
    metricsPort: number;
}

async function startCluster(ctx: BenchContext, dir: string, share: boolean): Promise<Node[]> {
    const peerPorts = [await freePort(), await freePort(), await freePort()];
    const metricsPorts = [await freePort(), await freePort(), await freePort()];
    const nodes: Node[] = [];
    for (let i = 0; i < 3; i++) {
        const d = path.join(dir, `${share ? "share" : "local"}-${i}`);
        fs.mkdirSync(path.join(d, "conf", "filter.d"), { recursive: true });
        fs.writeFileSync(path.join(d, "conf", "filter.d", "seed.conf"), FILTER);
        const log = path.join(d, "access.log");
        fs.writeFileSync(log, "");
        fs.writeFileSync(path.join(d, "secret"), secret, { mode: 0o600 });
        fs.writeFileSync(
            path.join(d, "conf", "jail.conf"),
            `[${JAIL}]\nenabled = true\nfilter = seed\nlogpath = ${log}\nmaxretry = 20\nfindtime = 3600\nbantime = 3600\nport = http,https\nbanaction = dummy\nignoreself = false\nsharefailures = ${share}\n`,
        );
        const others = peerPorts
            .filter((_, k) => k !== i)
            .map(p => `127.0.0.1:${p}`)
            .join(" ");
        fs.writeFileSync(
            path.join(d, "conf", "jailwatch.conf"),
            `[server]\npeers = ${others}\npeerport = ${peerPorts[i]}\npeerlisten = 127.0.0.1\npeersecretfile = ${path.join(d, "secret")}\nmetricslisten = 127.0.0.1:${metricsPorts[i]}\n`,
        );
        const proc = spawn(
            process.execPath,
            [
                ctx.jailwatch,
                "server",
                "-f",
                "-c",
                path.join(d, "conf"),
                "-s",
                path.join(d, "jw.sock"),
                "--state",
                path.join(d, "state"),
                "--loglevel",
                "error",
            ],
            { stdio: ["ignore", "ignore", "inherit"] },
        );
        nodes.push({ proc, log, metricsPort: metricsPorts[i] });
    }
    for (const n of nodes)
        await until(
            "metrics endpoint",
            async () =>
                await scrape(n.metricsPort).then(
                    () => true,
                    () => false,
                ),
            30_000,
        );
    return nodes;
}

async function until(what: string, fn: () => Promise<boolean>, ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
        if (await fn()) return;
        await new Promise(r => setTimeout(r, 50));
    }
    throw new Error(`bench peers: timed out waiting for ${what}`);
}

async function stopCluster(nodes: Node[]): Promise<void> {
    for (const n of nodes) {
        if (n.proc.exitCode !== null) continue;
        const done = new Promise(r => n.proc.once("exit", r));
        n.proc.kill("SIGTERM");
        await Promise.race([done, new Promise(r => setTimeout(r, 10_000))]);
    }
}

async function floodRun(
    ctx: BenchContext,
    share: boolean,
    lines: number,
): Promise<{ sender: number; receivers: number; frames: number; wallMs: number }> {
    const nodes = await startCluster(ctx, ctx.tmp, share);
    try {
        const ts = stamp(Date.now());
        const text: string[] = [];
        for (let k = 0; k < lines; k++) {
            const a = k % 10_000;
            text.push(
                `127.0.0.1 - - [${ts}] "POST /xmlrpc.php HTTP/1.1" 200 370 "-" "Mozilla/4.0" "10.${a >> 16}.${(a >> 8) & 255}.${a & 255}"\n`,
            );
        }
        const body = text.join("");
        const cpu0 = nodes.map(n => cpuMs(n.proc.pid!));
        const t0 = Date.now();
        fs.appendFileSync(nodes[0].log, body);
        await until(
            "sender read the flood",
            async () =>
                ((await scrape(nodes[0].metricsPort)).get(`jailwatch_lines_read_total{jail="${JAIL}"}`) ?? 0) >= lines,
            120_000,
        );
        if (share) {
            for (const n of nodes.slice(1)) {
                await until(
                    "receivers counted the flood",
                    async () =>
                        ((await scrape(n.metricsPort)).get(`jailwatch_peer_failures_total{jail="${JAIL}"}`) ?? 0) >=
                        lines,
                    120_000,
                );
            }
        }
        const wallMs = Date.now() - t0;
        await new Promise(r => setTimeout(r, 300)); // the last flush and its replies
        const cpu = nodes.map((n, i) => cpuMs(n.proc.pid!) - cpu0[i]);
        const m = await scrape(nodes[0].metricsPort);
        return {
            sender: cpu[0],
            receivers: (cpu[1] + cpu[2]) / 2,
            frames: m.get(`jailwatch_peer_messages_sent_total{type="failures"}`) ?? 0,
            wallMs,
        };
    } finally {
        await stopCluster(nodes);
    }
}

export async function run(ctx: BenchContext): Promise<Check[]> {
    const lines = 100_000;
    const off = await floodRun(ctx, false, lines);
    const on = await floodRun(ctx, true, lines);
    const per100k = (ms: number) => Math.round((ms * 100_000) / lines);
    console.log(
        `shared failures, ${lines} failure lines from 10,000 addresses on one of 3 peered nodes (CPU ms per 100k lines):`,
    );
    console.log(
        `  sharefailures = false: sender ${per100k(off.sender)} ms, each receiver ${per100k(off.receivers)} ms, ${off.frames} failure frames, ${off.wallMs} ms`,
    );
    console.log(
        `  sharefailures = true : sender ${per100k(on.sender)} ms, each receiver ${per100k(on.receivers)} ms, ${on.frames} failure frames, ${on.wallMs} ms`,
    );
    const ratio = on.sender / Math.max(1, off.sender);
    return [
        {
            name: "shared failures: sender CPU with/without",
            pass: undefined,
            detail: `${ratio.toFixed(2)}x (${per100k(on.sender)} vs ${per100k(off.sender)} ms per 100k lines)`,
        },
        {
            name: "shared failures: receiver CPU per 100k peer failures",
            pass: undefined,
            detail: `${per100k(on.receivers)} ms (idle peers without sharing: ${per100k(off.receivers)} ms)`,
        },
        {
            name: "shared failures: frames for 100k lines bounded (<= 2 peers x 100)",
            pass: on.frames <= 200,
            detail: `${on.frames} frames`,
        },
    ];
}
