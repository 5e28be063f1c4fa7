// The site bench's "syscalls" part: where the volume's extra time per uncached page goes. `perf trace -s` (this
// machine's perf, linux-perf) counts and times every system call of node 1's PHP-FPM workers while they render
// pages from the volume, then the same pages from the local-disk copy; the table is the per-page difference by system
// call. A Gluster option can only remove work that reaches the FUSE client; what WordPress asks of the file system
// (how many files it opens, which directories it lists) is the same on both, and this shows the price of each kind.
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { Check } from "./run";
import { LabHost, leaderOf } from "../lab/hosts";
import { childrenOf, cmdlineOf, run } from "../lab/proc";
import { Sample } from "./labLoadGen";
import { fmtMs, load, percentile, table } from "./labBench";

/** Calls and total milliseconds per system call, summed over the traced threads. */
export type SyscallTotals = Map<string, { calls: number; ms: number }>;

/**
 * Parses `perf trace -s` output: one block per thread, each row "name calls errors total(ms) min avg max stddev".
 * Rows of every thread are summed; anything else (headers, thread lines) is skipped.
 */
export function parsePerfSummary(text: string): SyscallTotals {
    const totals: SyscallTotals = new Map();
    for (const line of text.split("\n")) {
        const m = /^\s+([a-z_][a-z0-9_]*)\s+(\d+)\s+(\d+)\s+(\d+\.\d+)\s/.exec(line);
        if (!m) continue;
        const t = totals.get(m[1]) ?? { calls: 0, ms: 0 };
        t.calls += Number(m[2]);
        t.ms += Number(m[4]);
        totals.set(m[1], t);
    }
    return totals;
}

/**
 * The file-system calls PHP makes, and what each is on the volume. Only these are compared: the others (accept,
 * epoll_wait, the database's socket) wait for the next request or for MariaDB, alike on both copies.
 */
const MEANING: Record<string, string> = {
    openat: "open a file or a directory (FUSE OPEN / OPENDIR)",
    getdents64: "list a directory (READDIRP)",
    newfstatat: "stat a path (LOOKUP when not cached)",
    statx: "stat a path (LOOKUP when not cached)",
    lstat: "stat a path (LOOKUP when not cached)",
    access: "is_readable / is_writable (LOOKUP when not cached)",
    faccessat2: "is_readable / is_writable (LOOKUP when not cached)",
    readlink: "resolve a link",
    fstat: "stat an open file",
    close: "close a file (FUSE FLUSH; sockets too)",
    read: "read a file (sockets too)",
    lseek: "seek",
};

/** Node `node`'s PHP-FPM master and the workers of the site's pool (host pids), as `perf trace -p` takes them. */
function fpmPids(node: LabHost): number[] {
    const leader = leaderOf(node);
    if (leader === undefined) throw new Error(`lab host ${node.name} is not running`);
    const masters = childrenOf(leader, "php-fpm8.2");
    const workers = masters.flatMap(m =>
        childrenOf(m).filter(p => /^php-fpm: pool ha-wordpress\s*$/.test(cmdlineOf(p))),
    );
    if (!workers.length) throw new Error(`no worker of the ha-wordpress pool found on ${node.name}`);
    return [...masters, ...workers];
}

/** Traces node's workers while `rounds` pages are asked of its own Nginx with Host `host`; returns per-page totals. */
async function traced(
    node: LabHost,
    host: string,
    rounds: number,
    out: string,
): Promise<{ perPage: SyscallTotals; pageMs: number }> {
    const perf = spawn("perf", ["trace", "-s", "-o", out, "-p", fpmPids(node).join(",")], { stdio: "ignore" });
    const exited = new Promise<number | null>(res => perf.on("close", res));
    try {
        // perf attaches to each thread before it counts; a page asked earlier would be half counted.
        await new Promise(res => setTimeout(res, 2_000));
        const page = await load<{ samples: Sample[] }>(node, {
            kind: "sequence",
            host: "127.0.0.1",
            port: 8080,
            reqs: [{ path: `/?syscalls=${Date.now()}-@@N@@`, headers: { Host: host } }],
            rounds,
            timeoutMs: 30_000,
            deadlineMs: 300_000,
        });
        const ok = page.samples.filter(s => s.status === 200);
        if (ok.length !== rounds)
            throw new Error(`${rounds - ok.length} of ${rounds} traced pages failed (Host ${host})`);
        perf.kill("SIGINT");
        const code = await Promise.race([exited, new Promise(res => setTimeout(() => res("timeout"), 30_000))]);
        if (code !== 0) throw new Error(`perf trace ended with ${code}`);
        const perPage: SyscallTotals = new Map();
        for (const [k, v] of parsePerfSummary(fs.readFileSync(out, "utf8")))
            perPage.set(k, { calls: v.calls / rounds, ms: v.ms / rounds });
        return {
            perPage,
            pageMs: percentile(
                ok.map(s => s.ms),
                50,
            ),
        };
    } finally {
        if (perf.exitCode === null) perf.kill("SIGKILL");
    }
}

/** The part: the table of system calls by the time the volume adds per page, and a check naming the largest. */
export async function syscallsPart(
    node: LabHost,
    hosts: { volume: string; local: string },
    rounds: number,
    tmp: string,
): Promise<Check> {
    const name = "site: where the volume's extra time per page goes (system calls of node 1's PHP-FPM)";
    if ((await run("perf", ["--version"])).code !== 0)
        return { name, pass: undefined, detail: "not measured: perf is not installed (Debian package linux-perf)" };
    // Warm both copies on this node (opcache, Gluster's caches) so the trace sees a running site.
    for (const h of [hosts.volume, hosts.local])
        await load(node, {
            kind: "sequence",
            host: "127.0.0.1",
            port: 8080,
            reqs: [{ path: `/?warm=${Date.now()}-@@N@@`, headers: { Host: h } }],
            rounds: 5,
            timeoutMs: 30_000,
            deadlineMs: 120_000,
        });
    const vol = await traced(node, hosts.volume, rounds, path.join(tmp, "perf-volume.txt"));
    const loc = await traced(node, hosts.local, rounds, path.join(tmp, "perf-local.txt"));
    const names = [...new Set([...vol.perPage.keys(), ...loc.perPage.keys()])].filter(n => MEANING[n] !== undefined);
    const rows = names
        .map(n => {
            const v = vol.perPage.get(n) ?? { calls: 0, ms: 0 };
            const l = loc.perPage.get(n) ?? { calls: 0, ms: 0 };
            return { n, v, l, extra: v.ms - l.ms };
        })
        .sort((a, b) => b.extra - a.extra);
    const sum = (f: (r: (typeof rows)[number]) => number) => rows.reduce((s, r) => s + f(r), 0);
    console.log(
        `\nsite: system calls of ${node.name}'s PHP-FPM workers per uncached page (${rounds} pages each, perf trace; ` +
            `page p50 under the trace: volume ${fmtMs(vol.pageMs)}, local ${fmtMs(loc.pageMs)})`,
    );
    const f1 = (x: number) => x.toFixed(1);
    const f2 = (x: number) => x.toFixed(2);
    console.log(
        table(
            ["system call", "what it is on the volume", "calls", "volume ms", "local ms", "extra ms"],
            [
                ...rows.map(r => [r.n, MEANING[r.n], f1(r.v.calls), f2(r.v.ms), f2(r.l.ms), f2(r.extra)]),
                [
                    "all of them",
                    "",
                    f1(sum(r => r.v.calls)),
                    f2(sum(r => r.v.ms)),
                    f2(sum(r => r.l.ms)),
                    f2(sum(r => r.extra)),
                ],
            ],
        ),
    );
    return {
        name,
        pass: undefined,
        detail:
            `file-system calls take ${f1(sum(r => r.extra))} ms more per page on the volume; most: ` +
            rows
                .slice(0, 3)
                .map(r => `${r.n} +${f1(r.extra)} ms (${f1(r.v.calls)} calls)`)
                .join(", "),
    };
}
