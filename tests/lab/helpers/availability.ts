// Availability as a visitor sees it: a client host polls the site through the lab's load balancer every 100 ms
// while a test reboots or powers off nodes, and reports the requests that failed and the longest gap without an
// answer. The loop runs on the client host itself, bounded in count and time, and stops by itself.
import * as crypto from "crypto";
import { LabHost, exec, sh } from "../../../lab/hosts";
import { RunResult } from "../../../lab/proc";

export interface PollReport {
    sent: number;
    failed: number;
    /** Longest time without a successful answer (ms), from the start of polling to its end. */
    longestGapMs: number;
    /** The first failures, as `HH:MM:SS.mmm code`. */
    failures: string[];
}

export interface Poller {
    /** Stops polling (at once) and reports. */
    stop(): Promise<PollReport>;
}

/**
 * Starts polling `url` from `host` every `intervalMs` (each request times out after 2 s), for at most `maxSeconds`
 * and at most `maxSeconds * 1000 / intervalMs` requests.
 */
export function startPoller(host: LabHost, url: string, maxSeconds: number, intervalMs = 100): Poller {
    const id = crypto.randomBytes(4).toString("hex");
    const stopFile = `/tmp/poll-${id}.stop`;
    const maxCount = Math.ceil((maxSeconds * 1000) / intervalMs);
    const script = `end=$(( $(date +%s) + ${maxSeconds} )); i=0
while [ ! -e ${stopFile} ] && [ "$(date +%s)" -lt "$end" ] && [ "$i" -lt ${maxCount} ]; do
  t=$(date +%s%3N); code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' '${url}'); echo "$t \${code:-000}"
  i=$((i + 1)); sleep ${(intervalMs / 1000).toFixed(3)}
done; echo "end $(date +%s%3N)"; rm -f ${stopFile}`;
    const started = Date.now();
    const running: Promise<RunResult> = exec(host, ["bash", "-c", script], { timeoutMs: (maxSeconds + 30) * 1000 });
    return {
        async stop(): Promise<PollReport> {
            await sh(host, `touch ${stopFile}`).catch(() => undefined);
            const r = await running;
            return summarize(r.stdout, started);
        },
    };
}

export function summarize(output: string, startedMs: number): PollReport {
    let sent = 0,
        failed = 0,
        lastOk = startedMs,
        gap = 0,
        end = startedMs;
    const failures: string[] = [];
    for (const line of output.split("\n")) {
        const [a, b] = line.trim().split(/\s+/);
        if (a === "end") {
            end = Number(b);
            continue;
        }
        const t = Number(a);
        if (!Number.isFinite(t) || !b) continue;
        sent++;
        if (b === "200") {
            gap = Math.max(gap, t - lastOk);
            lastOk = t;
        } else {
            failed++;
            if (failures.length < 20) failures.push(`${new Date(t).toISOString().slice(11, 23)} ${b}`);
        }
    }
    gap = Math.max(gap, end - lastOk);
    return { sent, failed, longestGapMs: gap, failures };
}

/** One line for the test log: what a visitor polling every 100 ms saw. */
export function describePoll(what: string, p: PollReport): string {
    return (
        `      availability (${what}): ${p.sent} requests, ${p.failed} failed, longest gap ${(p.longestGapMs / 1000).toFixed(1)} s` +
        (p.failures.length
            ? `; failures: ${p.failures.slice(0, 8).join(", ")}${p.failures.length > 8 ? ", ..." : ""}`
            : "")
    );
}
