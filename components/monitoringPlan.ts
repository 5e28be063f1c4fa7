// What Monitoring declares, as pure data (no Pulumi import): the CloudWatch alarms, the dashboard body built from
// them, and the IAM policy the nodes' metrics publisher needs. `V` is the value type of ids and ARN suffixes:
// `pulumi.Input<string>` in the component, plain strings in tests and in dashboardBody.
import * as fs from "fs";
import * as path from "path";

/** CloudWatch namespace of the metrics the nodes publish (scripts/ops/publish-metrics.sh). */
export const METRICS_NAMESPACE = "HaWordPress";

/**
 * The facts `health.sh --metrics` prints (one `NAME VALUE` line each) and the unit each is published with. The
 * publisher sends exactly these names; the alarms below use five of them, the dashboard shows all seven.
 */
export const HEALTH_METRICS: Record<string, "Count" | "Percent" | "None"> = {
    PeersConnected: "Count",
    BricksOnline: "Count",
    HealPending: "Count",
    SplitBrainEntries: "Count",
    VolumeMounted: "None",
    BrickDiskUsedPercent: "Percent",
    JailwatchBansLastMinute: "Count",
};

/** AWS partition of a region: the first field of every ARN built here. */
export function partitionOf(region: string): "aws" | "aws-us-gov" | "aws-cn" {
    if (region.startsWith("us-gov-")) return "aws-us-gov";
    if (region.startsWith("cn-")) return "aws-cn";
    return "aws";
}

/** The CloudWatch alarm action that has EC2 recover (move to healthy hardware, same id, addresses, volumes) or reboot an instance. */
export function ec2ActionArn(region: string, action: "recover" | "reboot"): string {
    return `arn:${partitionOf(region)}:automate:${region}:ec2:${action}`;
}

export type AlarmAction = "notify" | "recover" | "reboot";
export type Comparison =
    "GreaterThanThreshold" | "GreaterThanOrEqualToThreshold" | "LessThanThreshold" | "LessThanOrEqualToThreshold";
export type MissingData = "breaching" | "notBreaching" | "ignore" | "missing";

/** One CloudWatch alarm, fully specified. */
export interface AlarmSpec<V = string> {
    /** Unique id in the plan, e.g. `node-gfs1-volume-mounted`; also the alarm's name after the stack prefix. */
    id: string;
    /** Dashboard group the metric is shown in. */
    group: "Load balancer" | "Nodes (EC2)" | "Database (RDS)" | "Gluster" | "jailwatch" | "Backups";
    namespace: string;
    metricName: string;
    dimensions: Record<string, V>;
    statistic: "Minimum" | "Maximum" | "Average" | "Sum";
    /** Seconds per datapoint. */
    period: number;
    evaluationPeriods: number;
    /** Datapoints out of `evaluationPeriods` that must breach. */
    datapointsToAlarm: number;
    threshold: number;
    comparison: Comparison;
    treatMissingData: MissingData;
    /** What happens on ALARM: always notify (the SNS topic); EC2 status alarms also recover or reboot. */
    actions: AlarmAction[];
    /** What the operator reads in the notification: what it means and why this threshold. */
    description: string;
}

/** The inputs of alarmPlan. */
export interface AlarmPlanInput<V> {
    /** The nodes: name and EC2 instance id. */
    nodes: { name: string; instanceId: V }[];
    /** The load balancer's ARN suffix (`net/NAME/ID`): dimension LoadBalancer. */
    loadBalancerArnSuffix: V;
    /** Each target group (listener port 80, and 81 behind TLS) with its ARN suffix (`targetgroup/NAME/ID`). */
    targetGroups: { port: number; arnSuffix: V }[];
    /** The RDS instance identifier: dimension DBInstanceIdentifier. */
    dbInstanceIdentifier: V;
    /** Initial RDS storage, GiB: the free-storage threshold is 10% of it. */
    dbAllocatedStorageGiB: number;
    /** FreeableMemory threshold, MiB. */
    dbFreeableMemoryMiB: number;
    /** DatabaseConnections threshold. */
    dbConnections: number;
    /** AWS Backup vault of the brick snapshots: dimension BackupVaultName. */
    backupVaultName: V;
    /** Namespace of the nodes' own metrics. */
    namespace: string;
    /** jailwatch bans per minute on one node above which the (informational) alarm fires. */
    bansPerMinute: number;
}

/** jailwatch: bans per minute on one node worth telling the operator about (see alarmPlan for why 30). */
export const DEFAULT_BANS_PER_MINUTE = 30;
/** RDS FreeableMemory threshold, MiB. */
export const DEFAULT_DB_FREEABLE_MEMORY_MIB = 256;

/**
 * The most PHP-FPM children one node can run: the php-fpm step sizes pm.max_children from the instance's memory
 * and clamps it (scripts/web/php-fpm.sh), so the clamp is the most connections one node's WordPress opens.
 */
export function phpFpmMaxChildren(file = path.join(__dirname, "..", "scripts", "web", "php-fpm.sh")): number {
    const m = /^\[ "\$children" -le (\d+) \] \|\| children=\1$/m.exec(fs.readFileSync(file, "utf8"));
    if (!m) throw new Error(`no upper bound of max_children in ${file}`);
    return Number(m[1]);
}

/** DatabaseConnections threshold: 80% of what every node's PHP-FPM pool together can open. */
export function dbConnectionsThreshold(nodeCount: number, maxChildren = phpFpmMaxChildren()): number {
    return Math.floor(nodeCount * maxChildren * 0.8);
}

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/**
 * Every alarm of the stack. Thresholds and missing-data rules, and why:
 * - Load balancer (per target group; Minimum/Maximum, because with cross-zone load balancing each zone's NLB node
 *   counts every target and a Sum would multiply them): any unhealthy host for 2 minutes, fewer than 2 healthy
 *   hosts for 2 minutes (one more loss then takes the site down). Missing UnHealthyHostCount is not breaching
 *   (nothing reported unhealthy; the healthy alarm covers a silent balancer), missing HealthyHostCount is.
 * - EC2 status checks, per node, 1-minute data (free): a failed system check (AWS hardware, network, power) for 2
 *   minutes recovers the instance onto other hardware with its id, addresses and EBS volumes; a failed instance
 *   check (kernel, OS, our node hung) for 3 minutes reboots it. Missing data keeps the state ("missing"): a
 *   stopped node reports nothing and must not be recovered or rebooted.
 * - RDS: CPU above 80% for 15 minutes; free storage below 10% of the allocation (storage autoscaling starts at
 *   10% too, so this fires when autoscaling is at its ceiling or lagging); freeable memory below 256 MiB for 15
 *   minutes; connections above 80% of what the nodes' PHP-FPM pools can open (more means a stuck pool or a client
 *   that is not WordPress). Missing data "missing": RDS publishes every minute, a gap is AWS's, not ours.
 * - Gluster, per node, from the publisher: brick disk above 80% (the volume fills on all three at once); heal
 *   backlog not back to 0 within any 5 minutes, three periods running (transient entries of writes in flight clear
 *   within seconds; a backlog that stays means a brick is down or not healing); any split-brain entry (needs an
 *   operator); the volume not mounted for 3 minutes (the watchdog remounts within seconds), and missing data IS
 *   breaching there: a node whose publisher, role or instance died reports nothing, which must page. The other
 *   node metrics treat missing data as "missing" so that one dead publisher pages once, not five times.
 * - jailwatch, informational: more than 30 bans a minute on a node. The seed's jail bans after 20 POSTs in 120 s;
 *   a normal site sees a few bans an hour from scanners, so 30 a minute is many distinct addresses at once (a
 *   distributed flood): jailwatch copes, but the operator may want a CDN or WAF in front. Missing: not breaching.
 * - Backups: any failed or aborted brick backup job in the vault within an hour. The metrics exist only while jobs
 *   run, so missing data is not breaching.
 */
export function alarmPlan<V>(input: AlarmPlanInput<V>): AlarmSpec<V>[] {
    if (input.nodes.length === 0) throw new Error("alarmPlan: no nodes");
    if (input.targetGroups.length === 0) throw new Error("alarmPlan: no target groups");
    const names = new Set(input.nodes.map(n => n.name));
    if (names.size !== input.nodes.length) throw new Error("alarmPlan: node names must be unique");
    const alarms: AlarmSpec<V>[] = [];
    const healthyMin = Math.min(2, input.nodes.length);

    for (const tg of input.targetGroups) {
        const dimensions = { TargetGroup: tg.arnSuffix, LoadBalancer: input.loadBalancerArnSuffix };
        alarms.push({
            id: `tg${tg.port}-unhealthy-hosts`,
            group: "Load balancer",
            namespace: "AWS/NetworkELB",
            metricName: "UnHealthyHostCount",
            dimensions,
            statistic: "Maximum",
            period: 60,
            evaluationPeriods: 2,
            datapointsToAlarm: 2,
            threshold: 0,
            comparison: "GreaterThanThreshold",
            treatMissingData: "notBreaching",
            actions: ["notify"],
            description: `A node fails the load balancer's health check (GET /healthz on port ${tg.port}) for 2 minutes: it gets no traffic.`,
        });
        alarms.push({
            id: `tg${tg.port}-healthy-hosts`,
            group: "Load balancer",
            namespace: "AWS/NetworkELB",
            metricName: "HealthyHostCount",
            dimensions,
            statistic: "Minimum",
            period: 60,
            evaluationPeriods: 2,
            datapointsToAlarm: 2,
            threshold: healthyMin,
            comparison: "LessThanThreshold",
            treatMissingData: "breaching",
            actions: ["notify"],
            description: `Fewer than ${healthyMin} healthy nodes behind port ${tg.port} for 2 minutes: one more failure takes the site down.`,
        });
    }

    for (const n of input.nodes) {
        const dimensions = { InstanceId: n.instanceId };
        alarms.push({
            id: `${n.name}-system-check`,
            group: "Nodes (EC2)",
            namespace: "AWS/EC2",
            metricName: "StatusCheckFailed_System",
            dimensions,
            statistic: "Maximum",
            period: 60,
            evaluationPeriods: 2,
            datapointsToAlarm: 2,
            threshold: 1,
            comparison: "GreaterThanOrEqualToThreshold",
            treatMissingData: "missing",
            actions: ["notify", "recover"],
            description: `${n.name}: AWS's system status check failed for 2 minutes (host hardware, power or network); EC2 recovers the instance onto healthy hardware with the same id, addresses and volumes.`,
        });
        alarms.push({
            id: `${n.name}-instance-check`,
            group: "Nodes (EC2)",
            namespace: "AWS/EC2",
            metricName: "StatusCheckFailed_Instance",
            dimensions,
            statistic: "Maximum",
            period: 60,
            evaluationPeriods: 3,
            datapointsToAlarm: 3,
            threshold: 1,
            comparison: "GreaterThanOrEqualToThreshold",
            treatMissingData: "missing",
            actions: ["notify", "reboot"],
            description: `${n.name}: the instance status check failed for 3 minutes (kernel or OS not answering); EC2 reboots it, and the node rejoins by itself.`,
        });
    }

    const db = { DBInstanceIdentifier: input.dbInstanceIdentifier };
    const freeStorageGiB = Math.max(1, Math.round(input.dbAllocatedStorageGiB * 0.1));
    alarms.push(
        {
            id: "db-cpu",
            group: "Database (RDS)",
            namespace: "AWS/RDS",
            metricName: "CPUUtilization",
            dimensions: db,
            statistic: "Average",
            period: 300,
            evaluationPeriods: 3,
            datapointsToAlarm: 3,
            threshold: 80,
            comparison: "GreaterThanThreshold",
            treatMissingData: "missing",
            actions: ["notify"],
            description:
                "Database CPU above 80% for 15 minutes: slow pages; a bigger dbInstanceClass or a look at slow queries.",
        },
        {
            id: "db-free-storage",
            group: "Database (RDS)",
            namespace: "AWS/RDS",
            metricName: "FreeStorageSpace",
            dimensions: db,
            statistic: "Minimum",
            period: 300,
            evaluationPeriods: 2,
            datapointsToAlarm: 2,
            threshold: freeStorageGiB * GIB,
            comparison: "LessThanThreshold",
            treatMissingData: "missing",
            actions: ["notify"],
            description: `Database free storage below ${freeStorageGiB} GiB for 10 minutes: storage autoscaling is at dbMaxAllocatedStorage or cannot keep up; a full disk stops the site.`,
        },
        {
            id: "db-freeable-memory",
            group: "Database (RDS)",
            namespace: "AWS/RDS",
            metricName: "FreeableMemory",
            dimensions: db,
            statistic: "Average",
            period: 300,
            evaluationPeriods: 3,
            datapointsToAlarm: 3,
            threshold: input.dbFreeableMemoryMiB * MIB,
            comparison: "LessThanThreshold",
            treatMissingData: "missing",
            actions: ["notify"],
            description: `Database freeable memory below ${input.dbFreeableMemoryMiB} MiB for 15 minutes: it swaps soon; a bigger dbInstanceClass.`,
        },
        {
            id: "db-connections",
            group: "Database (RDS)",
            namespace: "AWS/RDS",
            metricName: "DatabaseConnections",
            dimensions: db,
            statistic: "Maximum",
            period: 300,
            evaluationPeriods: 2,
            datapointsToAlarm: 2,
            threshold: input.dbConnections,
            comparison: "GreaterThanThreshold",
            treatMissingData: "missing",
            actions: ["notify"],
            description: `More than ${input.dbConnections} database connections for 10 minutes (80% of what the nodes' PHP-FPM pools can open): pools saturated, or a client that is not WordPress.`,
        },
    );

    for (const n of input.nodes) {
        const dimensions = { InstanceId: n.instanceId, Node: n.name as unknown as V };
        const node = (metricName: string) => ({
            group: "Gluster" as const,
            namespace: input.namespace,
            metricName,
            dimensions,
        });
        alarms.push(
            {
                id: `${n.name}-brick-disk`,
                ...node("BrickDiskUsedPercent"),
                statistic: "Maximum",
                period: 300,
                evaluationPeriods: 2,
                datapointsToAlarm: 2,
                threshold: 80,
                comparison: "GreaterThanThreshold",
                treatMissingData: "missing",
                actions: ["notify"],
                description: `${n.name}: its brick is more than 80% full; the replicas fill together. Raise brickVolumeSize (the filesystem grows on the next run).`,
            },
            {
                id: `${n.name}-heal-backlog`,
                ...node("HealPending"),
                statistic: "Minimum",
                period: 300,
                evaluationPeriods: 3,
                datapointsToAlarm: 3,
                threshold: 0,
                comparison: "GreaterThanThreshold",
                treatMissingData: "missing",
                actions: ["notify"],
                description: `${n.name}: the heal backlog has not reached 0 for 15 minutes: a brick is down or not healing. gluster volume heal <vol> info.`,
            },
            {
                id: `${n.name}-split-brain`,
                ...node("SplitBrainEntries"),
                statistic: "Maximum",
                period: 300,
                evaluationPeriods: 1,
                datapointsToAlarm: 1,
                threshold: 0,
                comparison: "GreaterThanThreshold",
                treatMissingData: "missing",
                actions: ["notify"],
                description: `${n.name}: files in split-brain; they need an operator (README: resolve a split-brain).`,
            },
            {
                id: `${n.name}-volume-mounted`,
                ...node("VolumeMounted"),
                statistic: "Minimum",
                period: 60,
                evaluationPeriods: 3,
                datapointsToAlarm: 3,
                threshold: 1,
                comparison: "LessThanThreshold",
                treatMissingData: "breaching",
                actions: ["notify"],
                description: `${n.name}: the volume is not mounted, or the node has published nothing, for 3 minutes; the node answers 503 and gets no traffic.`,
            },
            {
                id: `${n.name}-jailwatch-bans`,
                group: "jailwatch",
                namespace: input.namespace,
                metricName: "JailwatchBansLastMinute",
                dimensions,
                statistic: "Maximum",
                period: 300,
                evaluationPeriods: 1,
                datapointsToAlarm: 1,
                threshold: input.bansPerMinute,
                comparison: "GreaterThanThreshold",
                treatMissingData: "notBreaching",
                actions: ["notify"],
                description: `${n.name}: informational: more than ${input.bansPerMinute} bans in a minute, a distributed attack; jailwatch is banning it. Consider a CDN or WAF if the site slows.`,
            },
        );
    }

    const vault = { BackupVaultName: input.backupVaultName };
    for (const [id, metricName, what] of [
        ["backup-failed", "NumberOfBackupJobsFailed", "failed"],
        ["backup-aborted", "NumberOfBackupJobsAborted", "did not start (aborted)"],
    ] as const) {
        alarms.push({
            id,
            group: "Backups",
            namespace: "AWS/Backup",
            metricName,
            dimensions: vault,
            statistic: "Sum",
            period: 3600,
            evaluationPeriods: 1,
            datapointsToAlarm: 1,
            threshold: 0,
            comparison: "GreaterThanThreshold",
            treatMissingData: "notBreaching",
            actions: ["notify"],
            description: `A brick snapshot job ${what}: that day has no restore point for that brick. See AWS Backup's job list.`,
        });
    }

    const ids = new Set<string>();
    for (const a of alarms) {
        if (ids.has(a.id)) throw new Error(`alarmPlan: duplicate alarm id ${a.id}`);
        ids.add(a.id);
        if (a.datapointsToAlarm > a.evaluationPeriods)
            throw new Error(`alarmPlan: ${a.id} needs more datapoints than it evaluates`);
    }
    return alarms;
}

/** A dashboard metric line: namespace, name, then dimension name/value pairs (CloudWatch's widget syntax). */
export function metricLine(a: Pick<AlarmSpec<string>, "namespace" | "metricName" | "dimensions">): string[] {
    return [a.namespace, a.metricName, ...Object.entries(a.dimensions).flatMap(([k, v]) => [k, v])];
}

/**
 * The dashboard body: one row per group, one graph per metric name with every node's (or target group's) line,
 * each graph with the alarm thresholds drawn in, plus the node metrics no alarm uses (peers, bricks online) and an
 * alarm status widget. Built from the alarm list itself, so an alarm can never be missing from the dashboard.
 */
export function dashboardBody(
    alarms: AlarmSpec<string>[],
    region: string,
    extra: { title: string; nodes: { name: string; instanceId: string }[]; namespace: string },
): string {
    const widgets: object[] = [];
    let y = 0;
    widgets.push({
        type: "text",
        x: 0,
        y,
        width: 24,
        height: 2,
        properties: {
            markdown: `# ${extra.title}\nAlarms go to the stack's SNS topic. Node metrics (namespace ${extra.namespace}) come from each node's publisher every minute.`,
        },
    });
    y += 2;
    widgets.push({
        type: "alarm",
        x: 0,
        y,
        width: 24,
        height: 4,
        properties: { title: "Alarms", alarms: [] as string[] },
    });
    const alarmWidget = widgets[widgets.length - 1] as { properties: { alarms: string[] } };
    y += 4;
    const groups = [...new Set(alarms.map(a => a.group))];
    for (const group of groups) {
        const mine = alarms.filter(a => a.group === group);
        const byMetric = new Map<string, AlarmSpec<string>[]>();
        for (const a of mine)
            byMetric.set(`${a.namespace}/${a.metricName}`, [
                ...(byMetric.get(`${a.namespace}/${a.metricName}`) ?? []),
                a,
            ]);
        let x = 0;
        widgets.push({ type: "text", x: 0, y, width: 24, height: 1, properties: { markdown: `## ${group}` } });
        y += 1;
        for (const [, list] of byMetric) {
            if (x + 8 > 24) {
                x = 0;
                y += 6;
            }
            widgets.push({
                type: "metric",
                x,
                y,
                width: 8,
                height: 6,
                properties: {
                    title: list[0].metricName,
                    region,
                    view: "timeSeries",
                    stacked: false,
                    stat: list[0].statistic,
                    period: list[0].period,
                    metrics: list.map(a => [...metricLine(a), { label: labelOf(a) }]),
                    annotations: {
                        horizontal: [
                            {
                                label: `alarm: ${comparisonSign(list[0].comparison)} ${list[0].threshold}`,
                                value: list[0].threshold,
                            },
                        ],
                    },
                },
            });
            x += 8;
        }
        if (group === "Gluster") {
            for (const metricName of Object.keys(HEALTH_METRICS).filter(
                m => !alarms.some(a => a.namespace === extra.namespace && a.metricName === m),
            )) {
                if (x + 8 > 24) {
                    x = 0;
                    y += 6;
                }
                widgets.push({
                    type: "metric",
                    x,
                    y,
                    width: 8,
                    height: 6,
                    properties: {
                        title: metricName,
                        region,
                        view: "timeSeries",
                        stacked: false,
                        stat: "Minimum",
                        period: 60,
                        metrics: extra.nodes.map(n => [
                            extra.namespace,
                            metricName,
                            "InstanceId",
                            n.instanceId,
                            "Node",
                            n.name,
                            { label: n.name },
                        ]),
                    },
                });
                x += 8;
            }
        }
        y += 6;
    }
    // The alarm status widget gets the alarm ARNs from the component (withAlarmArns), known once they exist.
    void alarmWidget;
    return JSON.stringify({ widgets });
}

function labelOf(a: AlarmSpec<string>): string {
    const node = a.dimensions.Node;
    if (node) return node;
    const m = /^(node-[^-]+\d*|tg\d+)/.exec(a.id);
    return m ? m[1] : a.metricName;
}

function comparisonSign(c: Comparison): string {
    return {
        GreaterThanThreshold: ">",
        GreaterThanOrEqualToThreshold: ">=",
        LessThanThreshold: "<",
        LessThanOrEqualToThreshold: "<=",
    }[c];
}

/** Adds the alarm ARNs to the dashboard's alarm status widget. */
export function withAlarmArns(body: string, alarmArns: string[]): string {
    const parsed = JSON.parse(body) as { widgets: { type: string; properties: { alarms?: string[] } }[] };
    for (const w of parsed.widgets) if (w.type === "alarm") w.properties.alarms = [...alarmArns];
    return JSON.stringify(parsed);
}

/** Trust policy: EC2 instances may take the role. */
export function ec2AssumeRolePolicy(region: string): object {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Effect: "Allow",
                Action: "sts:AssumeRole",
                Principal: { Service: partitionOf(region) === "aws-cn" ? "ec2.amazonaws.com.cn" : "ec2.amazonaws.com" },
            },
        ],
    };
}

/**
 * What the nodes' publisher may do, and nothing more: PutMetricData into its own namespace. PutMetricData has no
 * resource-level permissions (the resource is always "*"); the `cloudwatch:namespace` condition is what scopes it.
 */
export function metricsPublisherPolicy(namespace: string): object {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "PublishNodeHealth",
                Effect: "Allow",
                Action: "cloudwatch:PutMetricData",
                Resource: "*",
                Condition: { StringEquals: { "cloudwatch:namespace": namespace } },
            },
        ],
    };
}
