// The metrics publisher's host steps as a pure plan (no Pulumi): one step per node, scripts/ops/metrics.sh, which
// installs the health script, the publisher and its systemd timer. Monitoring maps it onto remote.Commands; the lab
// can run the same step with mode "dry-run" (the publisher then prints its payload instead of calling AWS).
//
// Why a small publisher and not the CloudWatch agent: the agent is not in Debian 12's archive (only Amazon's own
// .deb, downloaded from outside Debian, which the lab cannot install and the image would have to trust), and it
// would still need a script for the Gluster facts (heal backlog, split-brain, mount), which are not host counters
// it collects. Debian's `awscli` package plus one PutMetricData call a minute, signed with the instance role,
// does all of it with packages the nodes already trust, and the same health script feeds the lab's status command.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { HostStep, SCRIPTS_DIR, readScript } from "./hostStep";
import { METRICS_NAMESPACE } from "./monitoringPlan";

/** Where the health script lives in the repository (written for issue 11's status command and alarms). */
export const HEALTH_SCRIPT = "gluster/health.sh";

export const monitoringStepIds = {
    metrics: (node: string) => `metrics-${node}`,
};

export interface MetricsPlanArgs {
    /** Node names; one publisher each, with dimension Node = its name. */
    nodes: string[];
    /** `aws` publishes to CloudWatch; `dry-run` prints the payload (hosts without AWS, e.g. the lab). */
    mode: "aws" | "dry-run";
    /** CloudWatch namespace. Default METRICS_NAMESPACE. */
    namespace?: string;
    /** Region the publisher sends to. */
    region: string;
    /** The health script's text (`health.sh --metrics` prints `NAME VALUE` lines). Default: scripts/gluster/health.sh. */
    healthScript?: string;
    /** Steps each node's publisher waits for (e.g. its web packages: apt must not run twice at once), by node name. */
    after?: Record<string, string[]>;
}

/** Reads the health script from scripts/, with a clear message when it is not there. */
export function readHealthScript(file = path.join(SCRIPTS_DIR, HEALTH_SCRIPT)): string {
    if (!fs.existsSync(file))
        throw new Error(
            `metrics publisher: the health script ${file} is missing (it prints the node's facts the publisher sends)`,
        );
    return fs.readFileSync(file, "utf8");
}

/** A short hash of what a publisher step ships: its trigger, so the step runs again exactly when it changes. */
export function metricsStepSha256(step: HostStep<string>): string {
    return crypto
        .createHash("sha256")
        .update(JSON.stringify([step.script, step.params]))
        .digest("hex");
}

export function metricsPlan(args: MetricsPlanArgs): HostStep<string>[] {
    const namespace = args.namespace ?? METRICS_NAMESPACE;
    if (!/^[A-Za-z0-9._/#:-]{1,255}$/.test(namespace) || namespace.startsWith("AWS/")) {
        throw new Error(`metricsPlan: '${namespace}' is not a custom CloudWatch namespace`);
    }
    if (!/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(args.region))
        throw new Error(`metricsPlan: '${args.region}' is not a region`);
    const health = args.healthScript ?? readHealthScript();
    const publisher = readScript("ops/publish-metrics.sh");
    const service = readScript("ops/ha-wordpress-metrics.service");
    const timer = readScript("ops/ha-wordpress-metrics.timer");
    return args.nodes.map(node => {
        if (!/^[A-Za-z0-9._-]{1,64}$/.test(node))
            throw new Error(`metricsPlan: node name '${node}' cannot be a dimension value here`);
        return {
            id: monitoringStepIds.metrics(node),
            host: node,
            script: "ops/metrics.sh",
            params: {
                MODE: args.mode,
                NAMESPACE: namespace,
                NODE: node,
                REGION: args.region,
                PUBLISHER: publisher,
                HEALTH_SCRIPT: health,
                SERVICE_UNIT: service.replace(/\n$/, ""),
                TIMER_UNIT: timer.replace(/\n$/, ""),
            },
            dependsOn: [...(args.after?.[node] ?? [])],
        };
    });
}
