// The lab's plan runner on two small hosts: order, parallelism across hosts, one step at a time per host, failure
// reports, and that what reaches a host is renderStep's text. Uses the Gluster "names" step (fast, harmless).
import * as assert from "assert";
import { HostStep } from "../../components/hostStep";
import { LabHost, createHost, destroyLab, sh } from "../../lab/hosts";
import { RunReport, StepReport, runPlan } from "../../lab/runner";
import { requireRoot } from "./helpers/lab";

const names = (count: string, pairs: [string, string][] = []) => {
    const p: Record<string, string> = { NODE_COUNT: count };
    pairs.forEach(([name, ip], i) => {
        p[`NODE_NAME_${i + 1}`] = name;
        p[`NODE_IP_${i + 1}`] = ip;
    });
    return p;
};
const step = (
    id: string,
    host: string,
    params: Record<string, string>,
    dependsOn: string[] = [],
): HostStep<string> => ({ id, host, script: "gluster/hosts.sh", params, dependsOn });

describe("lab: the plan runner (over SSH, on two hosts)", function () {
    this.timeout(120_000);
    let hosts: LabHost[];
    let report: RunReport;
    const byId = (id: string): StepReport => report.steps.find(s => s.id === id)!;
    const end = (s: StepReport) => s.startedAt + s.durationMs;

    before(async function () {
        requireRoot();
        await destroyLab();
        hosts = await Promise.all([
            createHost({ name: "runner-a", ip: "10.77.0.31" }),
            createHost({ name: "runner-b", ip: "10.77.0.32" }),
        ]);
        const plan = [
            // Listed out of order on purpose: the runner must follow dependsOn, not the list.
            step("b-second", "runner-b", names("1", [["node-second", "10.77.0.98"]]), ["b-first"]),
            step("a-bad", "runner-a", names("0")),
            step("a-after-bad", "runner-a", names("1", [["node-never", "10.77.0.97"]]), ["a-bad"]),
            step("b-first", "runner-b", names("1", [["node-first", "10.77.0.99"]])),
            step("a-other", "runner-a", names("1", [["node-other", "10.77.0.96"]])),
        ];
        report = await runPlan(plan, hosts);
    });

    after(async function () {
        await destroyLab();
    });

    it("reports every step with its host, and fails the run when one step fails", () => {
        assert.strictEqual(report.ok, false);
        assert.deepStrictEqual(report.steps.map(s => [s.id, s.host, s.status]).sort(), [
            ["a-after-bad", "runner-a", "skipped"],
            ["a-bad", "runner-a", "failed"],
            ["a-other", "runner-a", "ok"],
            ["b-first", "runner-b", "ok"],
            ["b-second", "runner-b", "ok"],
        ]);
        for (const s of report.steps.filter(r => r.status !== "skipped")) assert.ok(s.durationMs > 0, s.id);
    });

    it("a failed step carries its exit code and the tail of stderr naming host, step and cause", () => {
        const bad = byId("a-bad");
        assert.strictEqual(bad.exitCode, 1);
        assert.match(
            bad.stderrTail,
            /step gluster\/hosts\.sh failed on host runner-a: NODE_COUNT '0' is not a positive number/,
        );
        assert.match(byId("a-after-bad").stderrTail, /not run: a-bad did not succeed/);
    });

    it("runs a step only after its dependencies, hosts in parallel, one step at a time per host", () => {
        assert.ok(byId("b-second").startedAt >= end(byId("b-first")), "b-second started before b-first ended");
        const a = report.steps.filter(s => s.host === "runner-a" && s.status !== "skipped");
        assert.strictEqual(a.length, 2);
        assert.ok(a[0].startedAt >= end(a[1]) || a[1].startedAt >= end(a[0]), "two steps overlapped on runner-a");
        // The first step on each host started together: neither waited for the other host.
        const firstA = Math.min(...a.map(s => s.startedAt));
        assert.ok(
            firstA < end(byId("b-first")) && byId("b-first").startedAt < end(a.find(s => s.startedAt === firstA)!),
            "steps on different hosts did not run at the same time",
        );
    });

    it("the host ran the rendered script with its parameters (the same text a remote command gets)", async () => {
        const hostsB = await sh(hosts[1], "cat /etc/hosts");
        assert.match(hostsB, /^10\.77\.0\.98 node-second$/m);
        assert.doesNotMatch(hostsB, /node-first/, "the second run of the names step replaces the managed block");
        assert.doesNotMatch(await sh(hosts[0], "cat /etc/hosts"), /node-never/);
    });
});
