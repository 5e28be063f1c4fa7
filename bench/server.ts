// Live-server benchmark: jailwatch server and fail2ban-server measured the same way in the same run.
//   1. sustained rate: lines appended at a fixed rate; lines/s = matched lines / time until the server's
//      "Total failed" shows them all (the rate it keeps up with, or its ceiling if it falls behind);
//   2. latency: one failing line written -> the address is banned (jailwatch: in a real nftables set in a private
//      netns; fail2ban: its dummy action ran), p50/p99 over many samples;
//   3. restore: 100,000 persisted bans -> in a real nftables set at start.
// fail2ban runs with a temp config/socket/db and the dummy action, started and stopped by pid.

import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { sendCommand } from "../watcher/src/control/client";
import { encodeBans } from "../watcher/src/state/store";
import type { BenchContext, Check } from "./run";

const JAIL = "bench";
const FILTER = `[Definition]\nfailregex = POST /xmlrpc.php HTTP/.*"<HOST>"$\nignoreregex =\n`;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function stamp(ms: number): string {
    const d = new Date(ms);
    const two = (n: number) => String(n).padStart(2, "0");
    return `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

/** One seed-like line; `attack` lines match the filter. */
function line(ts: string, ip: string, attack: boolean): string {
    return attack
        ? `127.0.0.1 - - [${ts}] "POST /xmlrpc.php HTTP/1.1" 200 370 "-" "Mozilla/4.0 (compatible: MSIE 7.0; Windows NT 6.0)" "${ip}"\n`
        : `127.0.0.1 - - [${ts}] "GET /2016/05/hello-world/ HTTP/1.1" 200 23811 "https://example.org/" "Mozilla/5.0" "${ip}"\n`;
}

function writeConfig(dir: string, log: string, maxretry: number, dummyTarget: string): void {
    fs.mkdirSync(path.join(dir, "filter.d"), { recursive: true });
    fs.mkdirSync(path.join(dir, "action.d"), { recursive: true });
    fs.writeFileSync(path.join(dir, "filter.d", "seed.conf"), FILTER);
    fs.copyFileSync("/etc/fail2ban/action.d/dummy.conf", path.join(dir, "action.d", "dummy.conf"));
    fs.writeFileSync(
        path.join(dir, "fail2ban.conf"),
        `[Definition]\nloglevel = INFO\nlogtarget = ${dir}/f2b.log\nsyslogsocket = auto\nsocket = ${dir}/f2b.sock\npidfile = ${dir}/f2b.pid\ndbfile = ${dir}/f2b.sqlite3\ndbpurgeage = 1d\nallowipv6 = auto\n`,
    );
    fs.writeFileSync(
        path.join(dir, "jail.conf"),
        `[DEFAULT]\nbanaction = dummy\nbackend = auto\n\n[${JAIL}]\nenabled = true\nfilter = seed\nlogpath = ${log}\nmaxretry = ${maxretry}\nfindtime = 3600\nbantime = 3600\nport = http,https\naction = dummy[target=${dummyTarget}]\n`,
    );
}

interface Server {
    name: string;
    proc: ChildProcess;
    /** Total failed of the jail. */
    totalFailed(): Promise<number>;
    stop(): Promise<void>;
    stderr: string[];
}

function waitExit(p: ChildProcess, ms: number): Promise<void> {
    if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
    return new Promise(resolve => {
        const t = setTimeout(() => {
            p.kill("SIGKILL");
            resolve();
        }, ms);
        p.once("exit", () => {
            clearTimeout(t);
            resolve();
        });
    });
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, everyMs = 20): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
        const v = await fn().catch(() => undefined);
        if (v !== undefined) return v;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await sleep(everyMs);
    }
}

function startJailwatch(ctx: BenchContext, conf: string, state: string, banaction: string, netns: boolean): Server {
    const sock = path.join(conf, "jw.sock");
    const args = [
        ctx.jailwatch,
        "server",
        "-f",
        "-c",
        conf,
        "-s",
        sock,
        "--state",
        state,
        "--banaction",
        banaction,
        "--loglevel",
        "debug",
    ];
    const proc = netns
        ? spawn("unshare", ["--net", process.execPath, ...args], { stdio: ["ignore", "ignore", "pipe"] })
        : spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
    const stderr: string[] = [];
    proc.stderr!.setEncoding("utf8");
    let partial = "";
    proc.stderr!.on("data", (d: string) => {
        const parts = (partial + d).split("\n");
        partial = parts.pop()!;
        stderr.push(...parts);
    });
    return {
        name: "jailwatch",
        proc,
        stderr,
        totalFailed: async () => {
            const r = await sendCommand(sock, ["status", JAIL], 5000);
            if (!r.ok) throw new Error(r.error);
            return Number(/Total failed:\t(\d+)/.exec(r.text)![1]);
        },
        stop: async () => {
            proc.kill("SIGTERM");
            await waitExit(proc, 10_000);
        },
    };
}

function startFail2ban(conf: string): Server {
    const sock = path.join(conf, "f2b.sock");
    const proc = spawn("fail2ban-server", ["-f", "-x", "-c", conf, "-s", sock, "-p", path.join(conf, "f2b.pid")], {
        stdio: "ignore",
    });
    const client = (...a: string[]) =>
        execFileSync("fail2ban-client", ["-c", conf, "-s", sock, ...a], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "ignore"],
        });
    return {
        name: "fail2ban",
        proc,
        stderr: [],
        totalFailed: async () => Number(/Total failed:\s+(\d+)/.exec(client("status", JAIL))![1]),
        stop: async () => {
            proc.kill("SIGTERM");
            await waitExit(proc, 20_000);
        },
    };
}

async function ready(s: Server): Promise<void> {
    await until(`${s.name} to answer`, async () => ((await s.totalFailed()) >= 0 ? true : undefined), 60_000, 200);
}

/**
 * Appends `rate` lines/s for `seconds`; returns matched lines written, when writing started and ended. The lines
 * are made beforehand (their timestamp stays within findtime) so the writer costs next to no CPU during the run.
 */
async function appendAtRate(
    log: string,
    rate: number,
    seconds: number,
): Promise<{ matched: number; t0: number; t1: number }> {
    const total = rate * seconds;
    const ts = stamp(Date.now());
    const lines: string[] = [];
    let matched = 0;
    for (let i = 0; i < total; i++) {
        const attack = i % 10 < 7;
        if (attack) matched++;
        // 100,000 addresses: every attack line counts as a failure and none reaches maxretry (bans would add the
        // action's cost, which is not what this measures).
        const k = i % 100_000;
        lines.push(line(ts, `10.${100 + (k >> 16)}.${(k >> 8) & 255}.${k & 255}`, attack));
    }
    const tick = 20;
    const perTick = Math.max(1, Math.round((rate * tick) / 1000));
    const fd = fs.openSync(log, "a");
    const t0 = Date.now();
    for (let written = 0, n = 1; written < total; n++) {
        fs.writeSync(fd, lines.slice(written, written + perTick).join(""));
        written += perTick;
        const due = t0 + n * tick - Date.now();
        if (due > 0) await sleep(due);
    }
    fs.closeSync(fd);
    return { matched, t0, t1: Date.now() };
}

async function sustained(
    s: Server,
    log: string,
    rate: number,
    seconds: number,
    pollMs: number,
): Promise<{ rate: number; behind: number }> {
    const { matched, t0, t1 } = await appendAtRate(log, rate, seconds);
    const tDone = await until(
        `${s.name} to process ${matched} failures`,
        async () => ((await s.totalFailed()) >= matched ? Date.now() : undefined),
        300_000,
        pollMs,
    );
    return { rate: matched / 0.7 / ((tDone - t0) / 1000), behind: (tDone - t1) / 1000 };
}

function percentile(xs: number[], p: number): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function latency(samples: number, log: string, banned: (ip: string) => Promise<boolean>): Promise<number[]> {
    const out: number[] = [];
    const fd = fs.openSync(log, "a");
    for (let i = 0; i < samples; i++) {
        const ip = `10.250.${i >> 8}.${(i & 255) + 0}`;
        const t0 = process.hrtime.bigint();
        fs.writeSync(fd, line(stamp(Date.now()), ip, true));
        await until(`ban of ${ip}`, async () => ((await banned(ip)) ? true : undefined), 10_000, 1);
        out.push(Number(process.hrtime.bigint() - t0) / 1e6);
        await sleep(10);
    }
    fs.closeSync(fd);
    return out;
}

/** fail2ban restoring `n` bans from its database at start (one action run per ban): time until all ran. */
async function fail2banRestore(dir: string, n: number): Promise<{ n: number; ms: number }> {
    const target = path.join(dir, "dummy.out");
    fs.mkdirSync(dir, { recursive: true });
    writeConfig(dir, path.join(dir, "access.log"), 5, target);
    fs.writeFileSync(path.join(dir, "access.log"), "");
    const ips = Array.from({ length: n }, (_, i) => `10.60.${i >> 8}.${i & 255}`);
    let s = startFail2ban(dir);
    try {
        await ready(s);
        execFileSync("fail2ban-client", ["-c", dir, "-s", path.join(dir, "f2b.sock"), "set", JAIL, "banip", ...ips], {
            stdio: "ignore",
        });
        const count = () =>
            fs.existsSync(target)
                ? fs
                      .readFileSync(target, "utf8")
                      .split("\n")
                      .filter(l => l.startsWith("+")).length
                : 0;
        await until("fail2ban bans", async () => (count() >= n ? true : undefined), 300_000, 100);
    } finally {
        await s.stop();
    }
    fs.rmSync(target, { force: true });
    const t0 = Date.now();
    s = startFail2ban(dir);
    try {
        await until(
            "fail2ban restore",
            async () =>
                fs.existsSync(target) &&
                fs
                    .readFileSync(target, "utf8")
                    .split("\n")
                    .filter(l => l.startsWith("+")).length >= n
                    ? true
                    : undefined,
            600_000,
            50,
        );
        return { n, ms: Date.now() - t0 };
    } finally {
        await s.stop();
    }
}

export async function run(ctx: BenchContext): Promise<Check[]> {
    const checks: Check[] = [];
    const base = path.join(ctx.tmp, "server");
    const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
    const seconds = ctx.quick ? 2 : 6;

    // 1. Sustained rate.
    const rates: Record<string, { rate: number; behind: number }> = {};
    for (const [name, offered] of [
        ["jailwatch", 250_000],
        ["fail2ban", 50_000],
    ] as const) {
        const dir = path.join(base, `rate-${name}`);
        const log = path.join(dir, "access.log");
        fs.mkdirSync(dir, { recursive: true });
        writeConfig(dir, log, 100, path.join(dir, "dummy.out"));
        fs.writeFileSync(log, "");
        const s =
            name === "jailwatch"
                ? startJailwatch(ctx, dir, path.join(dir, "state"), "dummy", false)
                : startFail2ban(dir);
        try {
            await ready(s);
            const rate = ctx.quick ? offered / 5 : offered;
            rates[name] = await sustained(s, log, rate, seconds, name === "fail2ban" ? 1000 : 50);
            console.log(
                `${name}: ${fmt(rate)} lines/s offered for ${seconds}s -> kept up with ${fmt(rates[name].rate)} lines/s, ${rates[name].behind.toFixed(2)}s behind at the end`,
            );
        } finally {
            await s.stop();
        }
    }
    const jr = rates.jailwatch.rate;
    const fr = rates.fail2ban.rate;
    checks.push({
        name: "server sustained rate >= 200,000 lines/s",
        pass: jr >= 200_000,
        detail: `jailwatch ${fmt(jr)}/s vs fail2ban ${fmt(fr)}/s: ${(jr / fr).toFixed(1)}x`,
    });

    // 2. Latency: line written -> banned.
    const samples = ctx.quick ? 20 : 100;
    const lat: Record<string, number[]> = {};
    {
        const dir = path.join(base, "lat-jailwatch");
        const log = path.join(dir, "access.log");
        fs.mkdirSync(dir, { recursive: true });
        writeConfig(dir, log, 1, path.join(dir, "dummy.out"));
        fs.writeFileSync(log, "");
        const s = startJailwatch(ctx, dir, path.join(dir, "state"), "nftables", true);
        try {
            await ready(s);
            let seen = 0;
            const done = new Set<string>();
            lat.jailwatch = await latency(samples, log, async ip => {
                for (; seen < s.stderr.length; seen++) {
                    const m = /nftables: ban done: (.*)$/.exec(s.stderr[seen]);
                    if (m) for (const x of m[1].split(" ")) done.add(x);
                }
                return done.has(ip);
            });
        } finally {
            await s.stop();
        }
    }
    {
        const dir = path.join(base, "lat-fail2ban");
        const log = path.join(dir, "access.log");
        const target = path.join(dir, "dummy.out");
        fs.mkdirSync(dir, { recursive: true });
        writeConfig(dir, log, 1, target);
        fs.writeFileSync(log, "");
        const s = startFail2ban(dir);
        try {
            await ready(s);
            lat.fail2ban = await latency(
                ctx.quick ? 5 : 30,
                log,
                async ip => fs.existsSync(target) && fs.readFileSync(target, "utf8").includes(`+${ip}\n`),
            );
        } finally {
            await s.stop();
        }
    }
    for (const [name, xs] of Object.entries(lat))
        console.log(
            `${name}: line -> banned p50 ${percentile(xs, 50).toFixed(1)} ms, p99 ${percentile(xs, 99).toFixed(1)} ms (${xs.length} samples)`,
        );
    const jp99 = percentile(lat.jailwatch, 99);
    checks.push({
        name: "line -> in nft set p99 <= 50 ms",
        pass: jp99 <= 50,
        detail: `jailwatch p50 ${percentile(lat.jailwatch, 50).toFixed(1)} ms p99 ${jp99.toFixed(1)} ms vs fail2ban p50 ${percentile(lat.fail2ban, 50).toFixed(0)} ms p99 ${percentile(lat.fail2ban, 99).toFixed(0)} ms (dummy action): p50 ${(percentile(lat.fail2ban, 50) / percentile(lat.jailwatch, 50)).toFixed(0)}x faster`,
    });

    // 3. Restore 100,000 persisted bans into a real nft set.
    {
        const n = 100_000;
        const dir = path.join(base, "restore");
        const state = path.join(dir, "state");
        fs.mkdirSync(state, { recursive: true });
        writeConfig(dir, path.join(dir, "access.log"), 5, path.join(dir, "dummy.out"));
        const now = Date.now() / 1000;
        const bans = Array.from({ length: n }, (_, i) => ({
            jail: JAIL,
            ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
            start: now - 60,
            end: now + 3600,
            banCount: 0,
        }));
        fs.writeFileSync(path.join(state, "bans.json"), encodeBans({ bans, history: {} }));
        const t0 = Date.now();
        const s = startJailwatch(ctx, dir, state, "nftables", true);
        try {
            const installed = await until(
                "bans installed",
                async () => {
                    const l = s.stderr.find(x => /nftables: \d+ ban\(s\) installed in \d+ ms/.test(x));
                    return l ? { line: l, at: Date.now() } : undefined;
                },
                60_000,
                5,
            );
            const inNft = Number(/installed in (\d+) ms/.exec(installed.line)![1]);
            const total = installed.at - t0;
            const count =
                execFileSync(
                    "nsenter",
                    ["-t", String(s.proc.pid), "-n", "nft", "list", "set", "inet", "jailwatch", `${JAIL}.v4`],
                    { encoding: "utf8", maxBuffer: 1 << 28 },
                ).split(" expires ").length - 1;
            console.log(
                `jailwatch: ${fmt(count)} bans in the nft set; nft batch ${inNft} ms, process start -> installed ${total} ms`,
            );
            const f2b = await fail2banRestore(path.join(base, "restore-fail2ban"), ctx.quick ? 200 : 1000);
            const f2b100k = (f2b.ms / f2b.n) * n;
            console.log(
                `fail2ban: ${fmt(f2b.n)} bans restored from its database in ${fmt(f2b.ms)} ms (dummy action) -> about ${(f2b100k / 1000).toFixed(0)} s for ${fmt(n)}`,
            );
            checks.push({
                name: "restore 100,000 bans <= 2 s",
                pass: total <= 2000 && count === n,
                detail: `${fmt(count)} in set, ${total} ms from process start (nft batch ${inNft} ms) vs fail2ban ~${(f2b100k / 1000).toFixed(0)} s extrapolated from ${fmt(f2b.n)}: ${(f2b100k / total).toFixed(0)}x`,
            });
        } finally {
            await s.stop();
        }
    }
    return checks;
}
