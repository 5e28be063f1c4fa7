// Shared pieces of the lab benches (site, attack): the lab brought up (or found), the load generator run inside a lab
// host's network namespace, percentiles and tables.
import * as path from "path";
import { LabHost, getHost, leaderOf } from "../lab/hosts";
import { run } from "../lab/proc";
import { STACK_HOSTS, stackUp } from "../lab/stack";
import { LAB_DIR } from "../lab/state";
import type { LoadJob } from "./labLoadGen";

const TS_NODE = require.resolve("ts-node/register/transpile-only");
const GEN = path.join(__dirname, "labLoadGen.ts");

/**
 * The lab's stack, running. `--no-up`: use the lab as it is (e.g. one brought up from another branch, to measure
 * its host steps); otherwise the stack plan runs first (idempotent: on a lab that is up it changes nothing).
 */
export async function labStack(args: string[]): Promise<Record<string, LabHost>> {
    if (process.getuid?.() !== 0)
        throw new Error("the lab benches need root (the lab boots hosts with systemd-nspawn)");
    if (!args.includes("--no-up")) {
        console.log(
            `lab: bringing the stack up in ${LAB_DIR} (re-runs every host step; changes nothing on a lab that is up)`,
        );
        const { report } = await stackUp();
        if (!report.ok)
            throw new Error(
                `lab: stack plan failed (${report.steps
                    .filter(s => s.status === "failed")
                    .map(s => s.id)
                    .join(", ")}); logs in ${LAB_DIR}/hosts/*/log`,
            );
    }
    const hosts: Record<string, LabHost> = {};
    for (const spec of STACK_HOSTS) {
        const h = getHost(spec.name);
        if (!h || leaderOf(h) === undefined)
            throw new Error(`lab host ${spec.name} is not running (HA_LAB_DIR=${LAB_DIR}; run \`npm run lab -- up\`)`);
        hosts[spec.name] = h;
    }
    return hosts;
}

/** Runs one load job with this machine's node inside `host`'s network namespace; returns its JSON result. */
export async function load<T = Record<string, unknown>>(host: LabHost, job: LoadJob): Promise<T> {
    const pid = leaderOf(host);
    if (pid === undefined) throw new Error(`lab host ${host.name} is not running`);
    const r = await run(
        "nsenter",
        ["-t", String(pid), "-n", "--", process.execPath, "-r", TS_NODE, GEN, JSON.stringify(job)],
        { timeoutMs: job.deadlineMs + 60_000 },
    );
    if (r.code !== 0) throw new Error(`load generator on ${host.name} failed (${r.code}): ${r.stderr.slice(-500)}`);
    return JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as T;
}

export function percentile(values: number[], p: number): number {
    if (values.length === 0) return NaN;
    const s = [...values].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export function fmtMs(ms: number): string {
    if (!Number.isFinite(ms)) return "-";
    return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
}

/** A plain-text table (also valid Markdown), columns padded. */
export function table(head: string[], rows: string[][]): string {
    const w = head.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? "").length)));
    const line = (cells: string[]) => `| ${cells.map((c, i) => (c ?? "").padEnd(w[i])).join(" | ")} |`;
    return [line(head), `|${w.map(n => "-".repeat(n + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

/** The machine's load as the report should state it: cores, load averages, other labs running. */
export async function machineNote(): Promise<string> {
    const os = await import("os");
    const [l1, l5] = os.loadavg();
    const labs = (await run("bash", ["-c", "ls -d /tmp/ha-lab*/control.json 2>/dev/null | wc -l"])).stdout.trim();
    return `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load average ${l1.toFixed(1)} / ${l5.toFixed(1)} (1 / 5 min), ${labs} lab(s) present on the machine`;
}
