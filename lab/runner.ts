// Runs a plan of host steps on lab hosts over SSH, in the order the plan declares: the same command text a
// remote.Command would send (renderStep), never a copy of a script.
import * as fs from "fs";
import * as path from "path";
import { HostStep, renderHostStep, topoOrder } from "../components/hostStep";
import { LabHost, ssh } from "./hosts";
import { tail } from "./proc";

/** How one step went. */
export interface StepReport {
    id: string;
    host: string;
    script: string;
    status: "ok" | "failed" | "skipped";
    /** Wall time of the SSH command in milliseconds (0 when skipped). */
    durationMs: number;
    /** When the step started (epoch milliseconds; when it was skipped, for skipped steps). */
    startedAt: number;
    /** Exit code of the remote command; null when it timed out or was not run. */
    exitCode: number | null;
    stdout: string;
    /** Last lines of stderr (failed steps), or why the step was skipped. */
    stderrTail: string;
}

export interface RunReport {
    ok: boolean;
    steps: StepReport[];
    durationMs: number;
}

export interface RunPlanOptions {
    /** Only these steps run; dependencies on steps left out count as met (e.g. re-running one node's steps). */
    select?: (step: HostStep<string>) => boolean;
    /** Called with each step's report as it finishes (the CLI prints it). */
    onStep?: (report: StepReport) => void;
    /** Time limit per step in milliseconds. Default 5 minutes. */
    stepTimeoutMs?: number;
}

/**
 * Runs the plan: a step starts once every step it depends on has succeeded; steps on different hosts run at the
 * same time when the plan allows, one step at a time per host. A failed step fails the run and skips everything
 * that depends on it; independent steps still run, so one report shows every failure.
 */
export async function runPlan(
    plan: HostStep<string>[],
    hosts: Record<string, LabHost> | LabHost[],
    opts: RunPlanOptions = {},
): Promise<RunReport> {
    const byName: Record<string, LabHost> = Array.isArray(hosts)
        ? Object.fromEntries(hosts.map(h => [h.name, h]))
        : hosts;
    const ordered = topoOrder(plan);
    const selected = ordered.filter(s => !opts.select || opts.select(s));
    const chosen = new Set(selected.map(s => s.id));
    for (const s of selected) {
        if (!byName[s.host]) throw new Error(`step ${s.id} runs on ${s.host}, which is not a lab host`);
    }
    const started = Date.now();
    const reports = new Map<string, StepReport>();
    const busy = new Set<string>();
    const running = new Map<string, Promise<void>>();
    const finish = (r: StepReport) => {
        reports.set(r.id, r);
        opts.onStep?.(r);
    };

    const launch = (step: HostStep<string>) => {
        busy.add(step.host);
        const startedAt = Date.now();
        // The same text a remote.Command sends, and its secret parameters on stdin, as the component does.
        const { command, stdin } = renderHostStep(step);
        recordStepRun(byName[step.host], step.id, startedAt);
        const p = ssh(byName[step.host], command, {
            timeoutMs: opts.stepTimeoutMs ?? 300_000,
            input: stdin || undefined,
        })
            .then(
                r => {
                    const ok = r.code === 0;
                    finish({
                        id: step.id,
                        host: step.host,
                        script: step.script,
                        status: ok ? "ok" : "failed",
                        durationMs: r.durationMs,
                        startedAt,
                        exitCode: r.code,
                        stdout: r.stdout,
                        // A step that hangs usually says on stdout what it was waiting for.
                        stderrTail: ok
                            ? ""
                            : (r.timedOut ? `timed out after ${Math.round(r.durationMs / 1000)}s\n` : "") +
                              tail(r.stderr.trim() ? r.stderr : r.stdout),
                    });
                },
                (e: Error) => {
                    finish({
                        id: step.id,
                        host: step.host,
                        script: step.script,
                        status: "failed",
                        durationMs: 0,
                        startedAt,
                        exitCode: null,
                        stdout: "",
                        stderrTail: e.message,
                    });
                },
            )
            .finally(() => {
                busy.delete(step.host);
                running.delete(step.id);
            });
        running.set(step.id, p);
    };

    for (;;) {
        for (const step of selected) {
            if (reports.has(step.id) || running.has(step.id)) continue;
            const deps = step.dependsOn.filter(d => chosen.has(d));
            const bad = deps.find(d => reports.get(d) && reports.get(d)!.status !== "ok");
            if (bad) {
                finish({
                    id: step.id,
                    host: step.host,
                    script: step.script,
                    status: "skipped",
                    durationMs: 0,
                    startedAt: Date.now(),
                    exitCode: null,
                    stdout: "",
                    stderrTail: `not run: ${bad} did not succeed`,
                });
                continue;
            }
            if (deps.every(d => reports.get(d)?.status === "ok") && !busy.has(step.host)) launch(step);
        }
        if (running.size === 0) break;
        await Promise.race(running.values());
    }
    const steps = selected.map(s => reports.get(s.id)!);
    return { ok: steps.every(s => s.status === "ok"), steps, durationMs: Date.now() - started };
}

/** Where the lab notes every step it sends to a host: tests prove "no step ran" (a node recovered by itself) by it. */
export function stepLogOf(host: LabHost): string {
    return path.join(host.dir, "steps.log");
}

function recordStepRun(host: LabHost, id: string, at: number): void {
    fs.appendFileSync(stepLogOf(host), `${new Date(at).toISOString()} ${id}\n`);
}

/** How many steps the lab has sent to a host so far. */
export function stepRunsOn(host: LabHost): number {
    try {
        return fs.readFileSync(stepLogOf(host), "utf8").split("\n").filter(Boolean).length;
    } catch {
        return 0;
    }
}

/** One line per step, plus the stderr tail of each failure: what `npm run lab` prints. */
export function formatStep(r: StepReport): string {
    const secs = (r.durationMs / 1000).toFixed(1).padStart(5);
    const head =
        `  ${r.status === "ok" ? "ok    " : r.status === "failed" ? "FAILED" : "skip  "} ${secs}s  ` +
        `${r.host.padEnd(10)} ${r.id}`;
    return r.status === "ok"
        ? head
        : `${head}\n${r.stderrTail
              .split("\n")
              .map(l => `         | ${l}`)
              .join("\n")}`;
}
