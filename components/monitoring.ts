// Monitoring: what the operator needs the day after. Daily snapshots of every brick (AWS Backup, see backupPlan.ts
// for the choice and what is consistent), an SNS topic with an optional e-mail subscription, the CloudWatch alarms
// of monitoringPlan.ts (load balancer, EC2 status checks with recover/reboot, RDS, the nodes' Gluster and jailwatch
// metrics, backup jobs), one dashboard built from the same alarm list, and the metrics publisher on every node
// (monitoringSteps.ts). The nodes' IAM role is MonitoringRole, created before the cluster.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import { GlusterClusterInfo, SshArgs, clusterConnections } from "./glusterCluster";
import { hostCommands } from "./hostCommands";
import { MonitoringRole } from "./monitoringRole";
import {
    AlarmSpec,
    DEFAULT_BANS_PER_MINUTE,
    DEFAULT_DB_FREEABLE_MEMORY_MIB,
    alarmPlan,
    dashboardBody,
    dbConnectionsThreshold,
    ec2ActionArn,
    partitionOf,
    withAlarmArns,
} from "./monitoringPlan";
import { backupServiceRole, brickBackupRule, brickSelection, checkRetentionDays } from "./backupPlan";
import { metricsPlan, metricsStepSha256 } from "./monitoringSteps";

export interface MonitoringArgs {
    /** The Gluster cluster (GlusterCluster.cluster): nodes with instance and brick volume ids, the bricks' backup tag. */
    cluster: GlusterClusterInfo;
    /** How the publisher steps log in to the nodes (the same as the other tiers'). */
    ssh: SshArgs;
    /** The nodes' role (MonitoringRole): the publisher publishes into its namespace and waits for its policy. */
    role: MonitoringRole;
    /** Region of the stack: the EC2 recover/reboot action ARNs and the dashboard. */
    region: string;
    /** The load balancer's ARN suffix (WordPressTier.loadBalancerArnSuffix). */
    loadBalancerArnSuffix: pulumi.Input<string>;
    /** The target groups with their ARN suffixes (WordPressTier.targetGroups); one pair of host-count alarms each. */
    targetGroups: { port: number; arnSuffix: pulumi.Input<string> }[];
    /** The RDS instance identifier (WordPressTier.dbInstanceIdentifier). */
    dbInstanceIdentifier: pulumi.Input<string>;
    /** Initial RDS storage in GiB: the free-storage alarm fires below 10% of it. Default 20. */
    dbAllocatedStorageGiB?: number;
    /** RDS FreeableMemory alarm threshold, MiB. Default 256. */
    dbFreeableMemoryMiB?: number;
    /** Days the brick snapshots are kept, 1-35 (use the same for the RDS automated backups). Default 30. */
    backupRetentionDays?: number;
    /** E-mail address subscribed to the alarm topic (AWS mails a confirmation link first). Default none. */
    alarmEmail?: string;
    /** jailwatch bans per minute on a node above which the informational alarm fires. Default 30. */
    bansPerMinute?: number;
    /** Resources each node's publisher step waits for, by node name (its web packages step: apt runs one at a time). Default none. */
    after?: Record<string, (pulumi.Resource | pulumi.Input<string>)[]>;
    /** The health script's text (`--metrics` prints `NAME VALUE` lines). Default: scripts/gluster/health.sh. */
    healthScript?: string;
    /** Tags for every AWS resource. Default none. */
    tags?: Record<string, string>;
}

export class Monitoring extends pulumi.ComponentResource {
    /** The topic every alarm notifies. */
    public readonly topic!: aws.sns.Topic;
    /** The alarms, by plan id (monitoringPlan.ts alarmPlan). */
    public readonly alarms!: Record<string, aws.cloudwatch.MetricAlarm>;
    /** The alarm plan the alarms were made from. */
    public readonly alarmSpecs!: AlarmSpec<pulumi.Input<string>>[];
    /** The dashboard. */
    public readonly dashboard!: aws.cloudwatch.Dashboard;
    /** The vault holding the brick snapshots (kept by `pulumi destroy`). */
    public readonly backupVault!: aws.backup.Vault;
    /** The daily brick backup plan. */
    public readonly backupPlan!: aws.backup.Plan;
    /** The publisher's host-step commands by step id. */
    public readonly commands!: Record<string, command.remote.Command>;
    /** The console address of the dashboard. */
    public readonly dashboardUrl!: pulumi.Output<string>;

    constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ha-wordpress:index:Monitoring", name, args, opts);
        Object.assign(this, createMonitoring(this, name, args));
        this.registerOutputs({
            topicArn: this.topic.arn,
            dashboardUrl: this.dashboardUrl,
            backupVaultName: this.backupVault.name,
        });
    }
}

function createMonitoring(parent: pulumi.Resource, name: string, args: MonitoringArgs) {
    const tags = args.tags ?? {};
    const nodes = args.cluster.nodes;
    if (nodes.length === 0) throw new Error(`Monitoring ${name}: the cluster has no nodes`);
    const tag = args.cluster.brickBackupTag;
    if (!tag || nodes.some(n => !n.brickVolumeId)) {
        throw new Error(
            `Monitoring ${name}: the cluster bundle lacks the brick volumes or their backup tag (build it with GlusterCluster)`,
        );
    }
    const retention = checkRetentionDays(args.backupRetentionDays ?? 30);
    const partition = partitionOf(args.region);
    const prefix = `${pulumi.getProject()}-${pulumi.getStack()}-${name}`;

    // ---- notifications ----------------------------------------------------------------------------------------
    // Not KMS-encrypted: CloudWatch cannot publish to a topic under the AWS managed SNS key, and alarm messages
    // carry no secret (names, metrics, thresholds).
    const topic = new aws.sns.Topic(`${name}-alarms`, { displayName: `${prefix} alarms`, tags }, { parent });
    if (args.alarmEmail) {
        new aws.sns.TopicSubscription(
            `${name}-alarm-email`,
            { topic: topic.arn, protocol: "email", endpoint: args.alarmEmail },
            { parent },
        );
    }

    // ---- backups ----------------------------------------------------------------------------------------------
    const vault = new aws.backup.Vault(
        `${name}-bricks`,
        { name: `${prefix}-bricks`, tags },
        {
            parent,
            // The snapshots outlive the stack: a destroy must neither delete them nor fail on a vault that holds them.
            retainOnDelete: true,
        },
    );
    const service = backupServiceRole(partition);
    const backupRole = new aws.iam.Role(
        `${name}-backup`,
        {
            description: "AWS Backup: snapshot and restore the ha-wordpress brick volumes",
            assumeRolePolicy: JSON.stringify(service.assumeRolePolicy),
            tags,
        },
        { parent },
    );
    const attachments = service.managedPolicyArns.map(
        (arn, i) =>
            new aws.iam.RolePolicyAttachment(
                `${name}-backup-${i === 0 ? "backup" : "restore"}`,
                {
                    role: backupRole.name,
                    policyArn: arn,
                },
                { parent },
            ),
    );
    const rule = brickBackupRule(retention);
    const plan = new aws.backup.Plan(
        `${name}-bricks`,
        {
            name: `${prefix}-bricks`,
            rules: [
                {
                    ruleName: rule.ruleName,
                    targetVaultName: vault.name,
                    schedule: rule.schedule,
                    scheduleExpressionTimezone: rule.scheduleExpressionTimezone,
                    startWindow: rule.startWindow,
                    completionWindow: rule.completionWindow,
                    lifecycle: { deleteAfter: rule.deleteAfter },
                    recoveryPointTags: { ...tags, [tag.key]: tag.value },
                },
            ],
            tags,
        },
        { parent },
    );
    const selection = brickSelection(partition, tag.value);
    new aws.backup.Selection(
        `${name}-bricks`,
        {
            name: `${pulumi.getStack()}-${name}-bricks`.slice(0, 50),
            planId: plan.id,
            iamRoleArn: backupRole.arn,
            resources: selection.resources,
            conditions: [{ stringEquals: selection.conditions }],
        },
        { parent, dependsOn: attachments },
    );

    // ---- alarms -----------------------------------------------------------------------------------------------
    const specs = alarmPlan<pulumi.Input<string>>({
        nodes: nodes.map(n => ({ name: n.name, instanceId: n.instanceId })),
        loadBalancerArnSuffix: args.loadBalancerArnSuffix,
        targetGroups: args.targetGroups,
        dbInstanceIdentifier: args.dbInstanceIdentifier,
        dbAllocatedStorageGiB: args.dbAllocatedStorageGiB ?? 20,
        dbFreeableMemoryMiB: args.dbFreeableMemoryMiB ?? DEFAULT_DB_FREEABLE_MEMORY_MIB,
        dbConnections: dbConnectionsThreshold(nodes.length),
        backupVaultName: vault.name,
        namespace: args.role.namespace,
        bansPerMinute: args.bansPerMinute ?? DEFAULT_BANS_PER_MINUTE,
    });
    const actionArn = (a: string): pulumi.Input<string> =>
        a === "notify" ? topic.arn : ec2ActionArn(args.region, a as "recover" | "reboot");
    const alarms: Record<string, aws.cloudwatch.MetricAlarm> = {};
    for (const s of specs) {
        alarms[s.id] = new aws.cloudwatch.MetricAlarm(
            `${name}-${s.id}`,
            {
                name: `${prefix}-${s.id}`,
                alarmDescription: s.description,
                namespace: s.namespace,
                metricName: s.metricName,
                dimensions: s.dimensions,
                statistic: s.statistic,
                period: s.period,
                evaluationPeriods: s.evaluationPeriods,
                datapointsToAlarm: s.datapointsToAlarm,
                threshold: s.threshold,
                comparisonOperator: s.comparison,
                treatMissingData: s.treatMissingData,
                alarmActions: s.actions.map(actionArn),
                // Back to OK is news too (the node recovered, the backlog healed); EC2 actions run on ALARM only.
                okActions: [topic.arn],
                tags,
            },
            { parent },
        );
    }

    // ---- dashboard --------------------------------------------------------------------------------------------
    const resolvedSpecs = pulumi.output(specs as unknown as pulumi.Input<AlarmSpec<string>[]>);
    const resolvedNodes = pulumi.output(nodes.map(n => ({ name: n.name, instanceId: n.instanceId })));
    const dashboard = new aws.cloudwatch.Dashboard(
        `${name}-dashboard`,
        {
            dashboardName: prefix,
            dashboardBody: pulumi
                .all([resolvedSpecs, resolvedNodes, pulumi.all(Object.values(alarms).map(a => a.arn))])
                .apply(([s, ns, arns]) =>
                    withAlarmArns(
                        dashboardBody(s, args.region, { title: prefix, nodes: ns, namespace: args.role.namespace }),
                        arns,
                    ),
                ),
        },
        { parent },
    );
    const dashboardUrl = pulumi.interpolate`https://${args.region}.console.aws.amazon.com/cloudwatch/home?region=${args.region}#dashboards:name=${dashboard.dashboardName}`;

    // ---- the publisher on every node --------------------------------------------------------------------------
    const names = nodes.map(n => n.name);
    const stepPlan = metricsPlan({
        nodes: names,
        mode: "aws",
        namespace: args.role.namespace,
        region: args.region,
        healthScript: args.healthScript,
        after: Object.fromEntries(names.map(n => [n, (args.after?.[n] ?? []).map((_, i) => `after-${n}-${i}`)])),
    });
    const external: Record<string, pulumi.Resource | pulumi.Input<string>> = {};
    for (const n of names)
        (args.after?.[n] ?? []).forEach((r, i) => {
            external[`after-${n}-${i}`] = r;
        });
    const commands = hostCommands(parent, {
        plan: stepPlan,
        connections: clusterConnections(args.cluster, args.ssh),
        external,
        prefix: name,
        // Runs again exactly when what it ships changes (publisher, health script, units, namespace).
        triggers: Object.fromEntries(stepPlan.map(s => [s.id, [metricsStepSha256(s)]])),
        extraDependsOn: Object.fromEntries(stepPlan.map(s => [s.id, [args.role.policy, args.role.instanceProfile]])),
        hostTriggers: Object.fromEntries(nodes.map(n => [n.name, [n.instanceId]])),
    });

    return {
        topic,
        alarms,
        alarmSpecs: specs,
        dashboard,
        backupVault: vault,
        backupPlan: plan,
        commands,
        dashboardUrl,
    };
}
