// The pure monitoring plan: every alarm's metric, dimensions, threshold, comparison, missing-data rule and action;
// the dashboard built from the alarms; the nodes' IAM policy; the publisher's host step.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { REPO } from "./support/pulumiRuntime";
import {
    AlarmPlanInput,
    AlarmSpec,
    HEALTH_METRICS,
    METRICS_NAMESPACE,
    alarmPlan,
    dashboardBody,
    dbConnectionsThreshold,
    ec2ActionArn,
    ec2AssumeRolePolicy,
    metricLine,
    metricsPublisherPolicy,
    partitionOf,
    phpFpmMaxChildren,
    withAlarmArns,
} from "../../components/monitoringPlan";
import { metricsPlan, metricsStepSha256, monitoringStepIds, readHealthScript } from "../../components/monitoringSteps";
import { renderHostStep } from "../../components/hostStep";

const NODES = ["node-gfs1", "node-gfs2", "node-gfs3"];
const FIXTURE_HEALTH = fs.readFileSync(path.join(REPO, "tests/unit/fixtures/health-metrics.sh"), "utf8");

const input = (over: Partial<AlarmPlanInput<string>> = {}): AlarmPlanInput<string> => ({
    nodes: NODES.map((name, i) => ({ name, instanceId: `i-0${i}` })),
    loadBalancerArnSuffix: "net/web-nlb/abc",
    targetGroups: [
        { port: 80, arnSuffix: "targetgroup/web-tg80/t80" },
        { port: 81, arnSuffix: "targetgroup/web-tg81/t81" },
    ],
    dbInstanceIdentifier: "web-db-1234",
    dbAllocatedStorageGiB: 50,
    dbFreeableMemoryMiB: 256,
    dbConnections: 38,
    backupVaultName: "ha-wordpress-prod-monitoring-bricks",
    namespace: METRICS_NAMESPACE,
    bansPerMinute: 30,
    ...over,
});

/** The alarm's defining fields, in one comparable tuple. */
const shape = (a: AlarmSpec) => [
    a.namespace,
    a.metricName,
    a.dimensions,
    a.statistic,
    a.period,
    a.evaluationPeriods,
    a.datapointsToAlarm,
    a.comparison,
    a.threshold,
    a.treatMissingData,
    a.actions,
];

describe("monitoring plan: alarms", () => {
    const alarms = alarmPlan(input());
    const byId = (id: string) => {
        const a = alarms.find(x => x.id === id);
        assert.ok(a, `alarm ${id}; have ${alarms.map(x => x.id).join(", ")}`);
        return a;
    };

    it("has exactly the alarms of the issue: 2 per target group, 2 per node (EC2), 4 RDS, 5 per node (own metrics), 2 backup", () => {
        assert.strictEqual(alarms.length, 2 * 2 + 2 * 3 + 4 + 5 * 3 + 2);
        assert.strictEqual(new Set(alarms.map(a => a.id)).size, alarms.length);
        for (const a of alarms) {
            assert.ok(a.actions.includes("notify"), `${a.id} notifies`);
            assert.ok(a.datapointsToAlarm <= a.evaluationPeriods && a.period % 60 === 0, a.id);
            assert.ok(a.description.length > 30, a.id);
        }
    });

    it("load balancer: any unhealthy host, fewer than 2 healthy, per target group, with both NLB dimensions", () => {
        for (const tg of input().targetGroups) {
            const dims = { TargetGroup: tg.arnSuffix, LoadBalancer: "net/web-nlb/abc" };
            assert.deepStrictEqual(shape(byId(`tg${tg.port}-unhealthy-hosts`)), [
                "AWS/NetworkELB",
                "UnHealthyHostCount",
                dims,
                "Maximum",
                60,
                2,
                2,
                "GreaterThanThreshold",
                0,
                "notBreaching",
                ["notify"],
            ]);
            assert.deepStrictEqual(shape(byId(`tg${tg.port}-healthy-hosts`)), [
                "AWS/NetworkELB",
                "HealthyHostCount",
                dims,
                "Minimum",
                60,
                2,
                2,
                "LessThanThreshold",
                2,
                "breaching",
                ["notify"],
            ]);
        }
    });

    it("EC2: per node, a failed system check recovers the instance and a failed instance check reboots it", () => {
        NODES.forEach((n, i) => {
            assert.deepStrictEqual(shape(byId(`${n}-system-check`)), [
                "AWS/EC2",
                "StatusCheckFailed_System",
                { InstanceId: `i-0${i}` },
                "Maximum",
                60,
                2,
                2,
                "GreaterThanOrEqualToThreshold",
                1,
                "missing",
                ["notify", "recover"],
            ]);
            assert.deepStrictEqual(shape(byId(`${n}-instance-check`)), [
                "AWS/EC2",
                "StatusCheckFailed_Instance",
                { InstanceId: `i-0${i}` },
                "Maximum",
                60,
                3,
                3,
                "GreaterThanOrEqualToThreshold",
                1,
                "missing",
                ["notify", "reboot"],
            ]);
        });
        assert.strictEqual(ec2ActionArn("us-east-1", "recover"), "arn:aws:automate:us-east-1:ec2:recover");
        assert.strictEqual(ec2ActionArn("eu-west-1", "reboot"), "arn:aws:automate:eu-west-1:ec2:reboot");
        assert.strictEqual(
            ec2ActionArn("us-gov-west-1", "recover"),
            "arn:aws-us-gov:automate:us-gov-west-1:ec2:recover",
        );
        assert.deepStrictEqual([partitionOf("cn-north-1"), partitionOf("ap-south-1")], ["aws-cn", "aws"]);
    });

    it("RDS: CPU, free storage (10% of the allocation), freeable memory and connections on the instance identifier", () => {
        const db = { DBInstanceIdentifier: "web-db-1234" };
        assert.deepStrictEqual(shape(byId("db-cpu")), [
            "AWS/RDS",
            "CPUUtilization",
            db,
            "Average",
            300,
            3,
            3,
            "GreaterThanThreshold",
            80,
            "missing",
            ["notify"],
        ]);
        assert.deepStrictEqual(shape(byId("db-free-storage")), [
            "AWS/RDS",
            "FreeStorageSpace",
            db,
            "Minimum",
            300,
            2,
            2,
            "LessThanThreshold",
            5 * 1024 ** 3,
            "missing",
            ["notify"],
        ]);
        assert.deepStrictEqual(shape(byId("db-freeable-memory")), [
            "AWS/RDS",
            "FreeableMemory",
            db,
            "Average",
            300,
            3,
            3,
            "LessThanThreshold",
            256 * 1024 ** 2,
            "missing",
            ["notify"],
        ]);
        assert.deepStrictEqual(shape(byId("db-connections")), [
            "AWS/RDS",
            "DatabaseConnections",
            db,
            "Maximum",
            300,
            2,
            2,
            "GreaterThanThreshold",
            38,
            "missing",
            ["notify"],
        ]);
        assert.strictEqual(
            alarmPlan(input({ dbAllocatedStorageGiB: 20 })).find(a => a.id === "db-free-storage")!.threshold,
            2 * 1024 ** 3,
        );
    });

    it("derives the connections threshold from the PHP-FPM pool size the php-fpm step can choose (80% of 3 x its clamp)", () => {
        const step = fs.readFileSync(path.join(REPO, "scripts/web/php-fpm.sh"), "utf8");
        const max = Number(/^\[ "\$children" -le (\d+) \] \|\| children=\d+$/m.exec(step)![1]);
        assert.strictEqual(phpFpmMaxChildren(), max);
        assert.strictEqual(dbConnectionsThreshold(3), Math.floor(3 * max * 0.8));
        assert.strictEqual(dbConnectionsThreshold(3, 16), 38);
    });

    it("nodes' own metrics: brick disk, heal backlog, split-brain, mount (missing = breaching), bans; InstanceId + Node", () => {
        NODES.forEach((n, i) => {
            const dims = { InstanceId: `i-0${i}`, Node: n };
            assert.deepStrictEqual(shape(byId(`${n}-brick-disk`)), [
                METRICS_NAMESPACE,
                "BrickDiskUsedPercent",
                dims,
                "Maximum",
                300,
                2,
                2,
                "GreaterThanThreshold",
                80,
                "missing",
                ["notify"],
            ]);
            assert.deepStrictEqual(shape(byId(`${n}-heal-backlog`)), [
                METRICS_NAMESPACE,
                "HealPending",
                dims,
                "Minimum",
                300,
                3,
                3,
                "GreaterThanThreshold",
                0,
                "missing",
                ["notify"],
            ]);
            assert.deepStrictEqual(shape(byId(`${n}-split-brain`)), [
                METRICS_NAMESPACE,
                "SplitBrainEntries",
                dims,
                "Maximum",
                300,
                1,
                1,
                "GreaterThanThreshold",
                0,
                "missing",
                ["notify"],
            ]);
            assert.deepStrictEqual(shape(byId(`${n}-volume-mounted`)), [
                METRICS_NAMESPACE,
                "VolumeMounted",
                dims,
                "Minimum",
                60,
                3,
                3,
                "LessThanThreshold",
                1,
                "breaching",
                ["notify"],
            ]);
            assert.deepStrictEqual(shape(byId(`${n}-jailwatch-bans`)), [
                METRICS_NAMESPACE,
                "JailwatchBansLastMinute",
                dims,
                "Maximum",
                300,
                1,
                1,
                "GreaterThanThreshold",
                30,
                "notBreaching",
                ["notify"],
            ]);
        });
        // Every metric an alarm reads from the nodes is one the publisher sends.
        for (const a of alarms.filter(x => x.namespace === METRICS_NAMESPACE))
            assert.ok(a.metricName in HEALTH_METRICS, a.metricName);
    });

    it("backups: a failed or an aborted brick backup job in the vault", () => {
        const vault = { BackupVaultName: "ha-wordpress-prod-monitoring-bricks" };
        assert.deepStrictEqual(shape(byId("backup-failed")), [
            "AWS/Backup",
            "NumberOfBackupJobsFailed",
            vault,
            "Sum",
            3600,
            1,
            1,
            "GreaterThanThreshold",
            0,
            "notBreaching",
            ["notify"],
        ]);
        assert.deepStrictEqual(shape(byId("backup-aborted")), [
            "AWS/Backup",
            "NumberOfBackupJobsAborted",
            vault,
            "Sum",
            3600,
            1,
            1,
            "GreaterThanThreshold",
            0,
            "notBreaching",
            ["notify"],
        ]);
    });

    it("follows the inputs: one target group gives one pair of host alarms, two nodes ask for 2 healthy at most", () => {
        const one = alarmPlan(input({ targetGroups: [{ port: 80, arnSuffix: "tg/x" }] }));
        assert.deepStrictEqual(
            one.filter(a => a.namespace === "AWS/NetworkELB").map(a => a.id),
            ["tg80-unhealthy-hosts", "tg80-healthy-hosts"],
        );
        const solo = alarmPlan(input({ nodes: [{ name: "node-gfs1", instanceId: "i-01" }] }));
        assert.strictEqual(solo.find(a => a.id === "tg80-healthy-hosts")!.threshold, 1);
        assert.throws(() => alarmPlan(input({ nodes: [] })), /no nodes/);
        assert.throws(
            () =>
                alarmPlan(
                    input({
                        nodes: [
                            { name: "a", instanceId: "1" },
                            { name: "a", instanceId: "2" },
                        ],
                    }),
                ),
            /unique/,
        );
    });
});

describe("monitoring plan: dashboard", () => {
    const alarms = alarmPlan(input());
    const nodes = NODES.map((name, i) => ({ name, instanceId: `i-0${i}` }));
    const body = JSON.parse(
        withAlarmArns(
            dashboardBody(alarms, "us-east-1", { title: "t", nodes, namespace: METRICS_NAMESPACE }),
            alarms.map(a => `arn:alarm:${a.id}`),
        ),
    );
    const lines: string[][] = body.widgets
        .filter((w: any) => w.type === "metric")
        .flatMap((w: any) => w.properties.metrics.map((m: any[]) => m.filter(x => typeof x === "string")));

    it("shows every alarm's metric with its exact dimensions", () => {
        for (const a of alarms) {
            const want = metricLine(a);
            assert.ok(
                lines.some(l => JSON.stringify(l) === JSON.stringify(want)),
                `${a.id}: ${want.join(" ")}`,
            );
        }
    });

    it("shows the node facts no alarm reads (peers connected, bricks online) for every node", () => {
        for (const m of ["PeersConnected", "BricksOnline"]) {
            for (const n of nodes)
                assert.ok(
                    lines.some(
                        l =>
                            JSON.stringify(l) ===
                            JSON.stringify([METRICS_NAMESPACE, m, "InstanceId", n.instanceId, "Node", n.name]),
                    ),
                    `${m} ${n.name}`,
                );
        }
        for (const m of Object.keys(HEALTH_METRICS))
            assert.ok(
                lines.some(l => l[1] === m),
                m,
            );
    });

    it("lists every alarm in its alarm status widget, and every widget is in the region, on a 24-column grid", () => {
        const widget = body.widgets.find((w: any) => w.type === "alarm");
        assert.deepStrictEqual(
            widget.properties.alarms,
            alarms.map(a => `arn:alarm:${a.id}`),
        );
        for (const w of body.widgets) {
            assert.ok(w.x + w.width <= 24, JSON.stringify(w));
            if (w.type === "metric") assert.strictEqual(w.properties.region, "us-east-1");
        }
    });
});

describe("monitoring plan: the nodes' IAM policy", () => {
    it("allows exactly cloudwatch:PutMetricData, only into the namespace", () => {
        assert.deepStrictEqual(metricsPublisherPolicy("HaWordPress"), {
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "PublishNodeHealth",
                    Effect: "Allow",
                    Action: "cloudwatch:PutMetricData",
                    Resource: "*",
                    Condition: { StringEquals: { "cloudwatch:namespace": "HaWordPress" } },
                },
            ],
        });
        assert.deepStrictEqual(ec2AssumeRolePolicy("us-east-1"), {
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Principal: { Service: "ec2.amazonaws.com" } }],
        });
    });
});

describe("monitoring plan: the publisher host step", () => {
    const plan = metricsPlan({
        nodes: NODES,
        mode: "aws",
        region: "us-east-1",
        healthScript: FIXTURE_HEALTH,
        after: { "node-gfs2": ["web-packages-node-gfs2"] },
    });

    it("is one ops/metrics.sh step per node with its own Node and the shared namespace", () => {
        assert.deepStrictEqual(
            plan.map(s => [s.id, s.host, s.script]),
            NODES.map(n => [monitoringStepIds.metrics(n), n, "ops/metrics.sh"]),
        );
        for (const s of plan) {
            assert.deepStrictEqual(
                [s.params.MODE, s.params.NAMESPACE, s.params.NODE, s.params.REGION],
                ["aws", "HaWordPress", s.host, "us-east-1"],
            );
            assert.strictEqual(
                s.params.PUBLISHER,
                fs.readFileSync(path.join(REPO, "scripts/ops/publish-metrics.sh"), "utf8"),
            );
            assert.strictEqual(s.params.HEALTH_SCRIPT, FIXTURE_HEALTH);
            assert.match(s.params.TIMER_UNIT, /^OnUnitActiveSec=60s$/m);
            assert.match(s.params.SERVICE_UNIT, /^ExecStart=\/usr\/local\/lib\/ha-wordpress\/publish-metrics$/m);
            assert.strictEqual(s.secrets, undefined, "nothing secret: the instance role signs the calls");
        }
        assert.deepStrictEqual(plan[1].dependsOn, ["web-packages-node-gfs2"]);
        assert.deepStrictEqual(plan[0].dependsOn, []);
    });

    it("renders for the lab as a dry run, with the same text but MODE", () => {
        const lab = metricsPlan({ nodes: NODES, mode: "dry-run", region: "us-east-1", healthScript: FIXTURE_HEALTH });
        const a = renderHostStep(plan[0]),
            b = renderHostStep(lab[0]);
        assert.strictEqual(a.stdin, "");
        assert.strictEqual(a.command.replace("MODE=aws", "MODE=dry-run"), b.command);
        assert.notStrictEqual(metricsStepSha256(plan[0]), metricsStepSha256(lab[0]));
        assert.strictEqual(
            metricsStepSha256(plan[0]),
            metricsStepSha256(
                metricsPlan({ nodes: NODES, mode: "aws", region: "us-east-1", healthScript: FIXTURE_HEALTH })[0],
            ),
        );
    });

    it("publishes the same metric names the plan alarms on (one list in TypeScript, one in the publisher)", () => {
        const text = fs.readFileSync(path.join(REPO, "scripts/ops/publish-metrics.sh"), "utf8");
        const block = /declare -A unit=\(([\s\S]*?)\n\)/.exec(text)![1];
        const inScript = Object.fromEntries([...block.matchAll(/\[(\w+)\]=(\w+)/g)].map(m => [m[1], m[2]]));
        assert.deepStrictEqual(inScript, HEALTH_METRICS);
    });

    it("refuses what would not be a valid dimension, namespace or region, and says when health.sh is missing", () => {
        assert.throws(
            () => metricsPlan({ nodes: ["node 1"], mode: "aws", region: "us-east-1", healthScript: "x" }),
            /node name 'node 1'/,
        );
        assert.throws(
            () =>
                metricsPlan({
                    nodes: NODES,
                    mode: "aws",
                    region: "us-east-1",
                    namespace: "AWS/EC2",
                    healthScript: "x",
                }),
            /not a custom CloudWatch namespace/,
        );
        assert.throws(
            () => metricsPlan({ nodes: NODES, mode: "aws", region: "mars", healthScript: "x" }),
            /not a region/,
        );
        assert.throws(
            () => readHealthScript("/nonexistent/health.sh"),
            /health script \/nonexistent\/health.sh is missing/,
        );
    });
});
