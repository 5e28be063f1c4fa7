// A small HTTP load generator the lab benches run INSIDE a lab host's network namespace (nsenter -n, this
// machine's node), so its traffic starts where a visitor's would and leaves from that host's own addresses.
// Input: one JSON job as argv[2] (see LoadJob); output: one JSON result line on stdout. Every job is bounded in
// request count and in time; targets are lab addresses only (checked: 10.77.x.x).
import * as fs from "fs";
import * as http from "http";

export interface Req {
    path: string;
    /** Default GET. */
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    /** Tag for the result (e.g. "volume", "local"). */
    tag?: string;
}

export type LoadJob =
    /** Requests one after the other (the list repeated `rounds` times), each timed; `pauseMs` between them. */
    | {
          kind: "sequence";
          host: string;
          port?: number;
          reqs: Req[];
          rounds: number;
          timeoutMs: number;
          deadlineMs: number;
          pauseMs?: number;
      }
    /** `total` requests of one kind with `concurrency` in flight on keep-alive connections. */
    | {
          kind: "throughput";
          host: string;
          port?: number;
          req: Req;
          total: number;
          concurrency: number;
          timeoutMs: number;
          deadlineMs: number;
      }
    /**
     * Every source address starts a request on a fresh connection (as a botnet does) every `intervalMs`, whether
     * or not the earlier ones were answered (open loop), with at most `maxInFlight` of its own pending, until
     * `perSource` requests or the deadline. Records each request's start time and outcome.
     */
    | {
          kind: "flood";
          host: string;
          port?: number;
          req: Req;
          sources: string[];
          perSource: number;
          intervalMs: number;
          maxInFlight: number;
          timeoutMs: number;
          deadlineMs: number;
      }
    /**
     * Polls until the request answers `status` (default 200) or the deadline, every `everyMs`; prints when. After
     * its first answer it creates `readyFile` (on this machine: only the network namespace is the host's), so the
     * caller knows the poller is running before it acts.
     */
    | {
          kind: "poll";
          host: string;
          port?: number;
          req: Req;
          everyMs: number;
          deadlineMs: number;
          status?: number;
          readyFile?: string;
      };

export interface Sample {
    tag: string;
    start: number;
    ms: number;
    status: number;
    error?: string;
}

function checkTarget(host: string): void {
    if (!/^10\.77\.\d{1,3}\.\d{1,3}$/.test(host) && host !== "127.0.0.1") throw new Error(`not a lab address: ${host}`);
}

function once(
    job: { host: string; port?: number },
    r: Req,
    timeoutMs: number,
    agent: http.Agent | false,
    localAddress?: string,
): Promise<Sample> {
    const start = Date.now();
    const t0 = process.hrtime.bigint();
    return new Promise(resolve => {
        let done = false;
        const finish = (status: number, error?: string) => {
            if (done) return;
            done = true;
            resolve({ tag: r.tag ?? "", start, ms: Number(process.hrtime.bigint() - t0) / 1e6, status, error });
        };
        const req = http.request(
            {
                host: job.host,
                port: job.port ?? 80,
                path: r.path,
                method: r.method ?? "GET",
                agent,
                localAddress,
                headers: {
                    "User-Agent": "ha-wordpress-bench",
                    ...(r.body ? { "Content-Length": Buffer.byteLength(r.body) } : {}),
                    ...r.headers,
                },
            },
            res => {
                res.on("data", () => undefined);
                res.on("end", () => finish(res.statusCode ?? 0));
                res.on("error", e => finish(0, e.message));
            },
        );
        // A whole-request bound, not req.setTimeout: that one is armed only once the socket has connected, so a
        // SYN the firewall drops (a banned attacker) would wait for the kernel's retries, about two minutes.
        const timer = setTimeout(() => req.destroy(new Error("timeout")), timeoutMs);
        req.on("close", () => clearTimeout(timer));
        req.on("error", e => finish(0, e.message));
        req.end(r.body);
    });
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

async function main(): Promise<void> {
    const job = JSON.parse(process.argv[2]) as LoadJob;
    checkTarget(job.host);
    const deadline = Date.now() + job.deadlineMs;
    const out: Record<string, unknown> = { kind: job.kind };
    if (job.kind === "sequence") {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const samples: Sample[] = [];
        for (let i = 0; i < job.rounds && Date.now() < deadline; i++) {
            for (const r of job.reqs) {
                samples.push(await once(job, { ...r, path: r.path.replace("@@N@@", String(i)) }, job.timeoutMs, agent));
                if (job.pauseMs) await sleep(job.pauseMs);
            }
        }
        agent.destroy();
        out.samples = samples;
    } else if (job.kind === "throughput") {
        const agent = new http.Agent({ keepAlive: true, maxSockets: job.concurrency });
        const samples: Sample[] = [];
        let next = 0;
        const t0 = Date.now();
        await Promise.all(
            Array.from({ length: job.concurrency }, async () => {
                while (next < job.total && Date.now() < deadline) {
                    next++;
                    samples.push(await once(job, job.req, job.timeoutMs, agent));
                }
            }),
        );
        out.elapsedMs = Date.now() - t0;
        agent.destroy();
        out.samples = samples;
    } else if (job.kind === "flood") {
        // Per source: [start ms, status (0: no answer), duration ms] of every request, in the order started.
        const perSource: Record<string, Array<[number, number, number]>> = {};
        await Promise.all(
            job.sources.map(async (src, k) => {
                const log: Array<[number, number, number]> = (perSource[src] = []);
                const pending = new Set<Promise<void>>();
                await sleep((k * 7) % Math.max(1, job.intervalMs)); // spread the first wave
                for (let i = 0; i < job.perSource && Date.now() < deadline; i++) {
                    if (pending.size >= job.maxInFlight) await Promise.race(pending);
                    const entry: [number, number, number] = [Date.now(), 0, 0];
                    log.push(entry);
                    const p: Promise<void> = once(job, job.req, job.timeoutMs, false, src).then(s => {
                        entry[1] = s.status;
                        entry[2] = Math.round(s.ms);
                        pending.delete(p);
                    });
                    pending.add(p);
                    await sleep(job.intervalMs);
                }
                await Promise.all(pending);
            }),
        );
        out.perSource = perSource;
    } else {
        let first = true;
        while (Date.now() < deadline) {
            const s = await once(job, job.req, 1000, false);
            if (first && job.readyFile) fs.writeFileSync(job.readyFile, "");
            first = false;
            if (s.status === (job.status ?? 200)) {
                out.at = Date.now();
                break;
            }
            await sleep(job.everyMs);
        }
    }
    process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch(e => {
    process.stderr.write(`${e instanceof Error ? e.message : e}\n`);
    process.exit(1);
});
