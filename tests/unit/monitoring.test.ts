// Monitoring under the Pulumi mocks, wired as index.ts is to wire it (tests/unit/fixtures/monitoringStack.ts): the
// SNS topic and e-mail, every alarm on the right metric, resource and action, the dashboard, the nodes' role and
// profile, the publisher steps. Ids and ARNs come from the mock's recording of the resources they must point at,
// so an alarm on the wrong topic, target group, instance or database identifier fails here.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { Recorded, Runtime, isSecretWrapped, pulumiRuntime, unwrapSecret } from "./support/pulumiRuntime";
import { ALARM_EMAIL, HEALTH_FIXTURE, MonitoringStack, monitoringStack } from "./fixtures/monitoringStack";
import { Monitoring } from "../../components/monitoring";
import { MonitoringRole } from "../../components/monitoringRole";
import { GlusterClusterInfo } from "../../components/glusterCluster";
import { METRICS_NAMESPACE, metricLine } from "../../components/monitoringPlan";
import { monitoringStepIds } from "../../components/monitoringSteps";
import { webStepIds } from "../../components/wordpressPlan";

const NODES = ["node-gfs1", "node-gfs2", "node-gfs3"];
const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";

/** A parameter's value in a rendered command text (`NAME=value` or `NAME='value'`). */
function param(text: string, name: string): string {
    const m = new RegExp(`(?:^| )${name}=('(?:[^']|'\\\\'')*'|\\S*)`).exec(text);
    assert.ok(m, `${name} in command text`);
    const v = m[1];
    return v.startsWith("'") ? v.slice(1, -1).replace(/'\\''/g, "'") : v;
}

describe("Monitoring in the prod wiring (mocks)", () => {
    let rt: Runtime;
    let stack: MonitoringStack;
    let alarms: Recorded[];
    let topicArn: string;
    const mine = (type: string, prefix = "t-mon-") =>
        rt.resources.filter(r => r.type === type && r.name.startsWith(prefix));
    const alarm = (id: string) => {
        const a = alarms.find(x => x.name === `t-mon-${id}`);
        assert.ok(a, `alarm ${id}; have ${alarms.map(x => x.name).join(", ")}`);
        return a.inputs;
    };
    const instanceOf = (node: string) =>
        mine("aws:ec2/instance:Instance", "t-mon-gluster-").find(i => i.inputs.tags.Name === node)!;

    before(async function () {
        this.timeout(300000); // the program and a second full stack register under the mocks first
        rt = await pulumiRuntime();
        stack = await monitoringStack();
        alarms = mine(ALARM);
        const topics = mine("aws:sns/topic:Topic");
        assert.strictEqual(topics.length, 1);
        topicArn = topics[0].state.arn;
    });

    it("has one SNS topic, e-mailed to alarmEmail", () => {
        const subs = mine("aws:sns/topicSubscription:TopicSubscription");
        assert.strictEqual(subs.length, 1);
        assert.deepStrictEqual(
            [subs[0].inputs.topic, subs[0].inputs.protocol, subs[0].inputs.endpoint],
            [topicArn, "email", ALARM_EMAIL],
        );
    });

    it("declares every alarm of the plan, named per stack, each notifying that topic on ALARM and on OK", () => {
        // 2 target groups x 2, 3 nodes x 2 EC2, 4 RDS, 3 nodes x 5 own metrics, 2 backup.
        assert.strictEqual(alarms.length, 4 + 6 + 4 + 15 + 2);
        for (const a of alarms) {
            assert.strictEqual(a.inputs.name, `ha-wordpress-prod-${a.name}`);
            assert.ok(a.inputs.alarmActions.includes(topicArn), `${a.name} notifies the stack's topic`);
            assert.deepStrictEqual(a.inputs.okActions, [topicArn], a.name);
            assert.ok(a.inputs.alarmDescription.length > 30, a.name);
            assert.deepStrictEqual(a.inputs.tags, { project: "ha-wordpress", stack: "prod" });
        }
    });

    it("watches each target group of the load balancer (unhealthy > 0, healthy < 2) by its and the balancer's ARN suffix", () => {
        const lb = rt.byName("t-mon-web-nlb").state.arnSuffix;
        for (const port of [80, 81]) {
            const tg = rt.byName(`t-mon-web-tg${port}`).state.arnSuffix;
            assert.match(tg, /^targetgroup\//);
            const u = alarm(`tg${port}-unhealthy-hosts`),
                h = alarm(`tg${port}-healthy-hosts`);
            assert.deepStrictEqual(
                [u.namespace, u.metricName, u.dimensions, u.comparisonOperator, u.threshold, u.statistic],
                [
                    "AWS/NetworkELB",
                    "UnHealthyHostCount",
                    { TargetGroup: tg, LoadBalancer: lb },
                    "GreaterThanThreshold",
                    0,
                    "Maximum",
                ],
            );
            assert.deepStrictEqual(
                [
                    h.namespace,
                    h.metricName,
                    h.dimensions,
                    h.comparisonOperator,
                    h.threshold,
                    h.statistic,
                    h.treatMissingData,
                ],
                [
                    "AWS/NetworkELB",
                    "HealthyHostCount",
                    { TargetGroup: tg, LoadBalancer: lb },
                    "LessThanThreshold",
                    2,
                    "Minimum",
                    "breaching",
                ],
            );
        }
    });

    it("recovers a node whose system check fails and reboots one whose instance check fails, every node, its own instance", () => {
        for (const n of NODES) {
            const id = instanceOf(n).id;
            const sys = alarm(`${n}-system-check`),
                inst = alarm(`${n}-instance-check`);
            assert.deepStrictEqual(
                [
                    sys.namespace,
                    sys.metricName,
                    sys.dimensions,
                    sys.threshold,
                    sys.comparisonOperator,
                    sys.evaluationPeriods,
                    sys.period,
                ],
                ["AWS/EC2", "StatusCheckFailed_System", { InstanceId: id }, 1, "GreaterThanOrEqualToThreshold", 2, 60],
            );
            assert.deepStrictEqual(sys.alarmActions, [topicArn, "arn:aws:automate:us-east-1:ec2:recover"]);
            assert.deepStrictEqual(
                [inst.metricName, inst.dimensions, inst.evaluationPeriods],
                ["StatusCheckFailed_Instance", { InstanceId: id }, 3],
            );
            assert.deepStrictEqual(inst.alarmActions, [topicArn, "arn:aws:automate:us-east-1:ec2:reboot"]);
            assert.strictEqual(sys.treatMissingData, "missing", "a stopped node is not recovered");
        }
        // Only those two kinds act on instances.
        const acting = alarms.filter(a => a.inputs.alarmActions.some((x: string) => x.includes(":automate:")));
        assert.strictEqual(acting.length, 2 * NODES.length);
    });

    it("watches the database by its RDS identifier (not the resource id): CPU, storage, memory, connections", () => {
        const db = mine("aws:rds/instance:Instance").find(r => r.name === "t-mon-web-db")!;
        assert.notStrictEqual(db.state.identifier, db.id);
        const dims = { DBInstanceIdentifier: db.state.identifier };
        const got = ["db-cpu", "db-free-storage", "db-freeable-memory", "db-connections"].map(id => {
            const a = alarm(id);
            assert.deepStrictEqual(a.dimensions, dims, id);
            assert.strictEqual(a.namespace, "AWS/RDS");
            return [a.metricName, a.comparisonOperator, a.threshold];
        });
        assert.deepStrictEqual(got, [
            ["CPUUtilization", "GreaterThanThreshold", 80],
            ["FreeStorageSpace", "LessThanThreshold", 5 * 1024 ** 3], // 10% of prod's 50 GiB
            ["FreeableMemory", "LessThanThreshold", 256 * 1024 ** 2],
            ["DatabaseConnections", "GreaterThanThreshold", 153], // 80% of 3 nodes x 64 children (php-fpm.sh clamp)
        ]);
    });

    it("watches each node's own metrics in HaWordPress by InstanceId and Node; a silent node counts as unmounted", () => {
        for (const n of NODES) {
            const dims = { InstanceId: instanceOf(n).id, Node: n };
            const got = ["brick-disk", "heal-backlog", "split-brain", "volume-mounted", "jailwatch-bans"].map(k => {
                const a = alarm(`${n}-${k}`);
                assert.deepStrictEqual([a.namespace, a.dimensions], [METRICS_NAMESPACE, dims], `${n}-${k}`);
                return [a.metricName, a.comparisonOperator, a.threshold, a.treatMissingData];
            });
            assert.deepStrictEqual(got, [
                ["BrickDiskUsedPercent", "GreaterThanThreshold", 80, "missing"],
                ["HealPending", "GreaterThanThreshold", 0, "missing"],
                ["SplitBrainEntries", "GreaterThanThreshold", 0, "missing"],
                ["VolumeMounted", "LessThanThreshold", 1, "breaching"],
                ["JailwatchBansLastMinute", "GreaterThanThreshold", 30, "notBreaching"],
            ]);
        }
    });

    it("draws one dashboard with every alarm's metric and every alarm", () => {
        const dashboards = mine("aws:cloudwatch/dashboard:Dashboard");
        assert.strictEqual(dashboards.length, 1);
        assert.strictEqual(dashboards[0].inputs.dashboardName, "ha-wordpress-prod-t-mon");
        const body = JSON.parse(dashboards[0].inputs.dashboardBody);
        // A metric is its namespace, name and dimension set (CloudWatch does not order dimensions).
        const key = (line: string[]) => {
            const pairs: string[] = [];
            for (let i = 2; i < line.length; i += 2) pairs.push(`${line[i]}=${line[i + 1]}`);
            return `${line[0]} ${line[1]} ${pairs.sort().join(",")}`;
        };
        const lines = body.widgets
            .filter((w: any) => w.type === "metric")
            .flatMap((w: any) => w.properties.metrics.map((m: any[]) => key(m.filter(x => typeof x === "string"))));
        for (const a of alarms) {
            const want = key(
                metricLine({
                    namespace: a.inputs.namespace,
                    metricName: a.inputs.metricName,
                    dimensions: a.inputs.dimensions,
                }),
            );
            assert.ok(lines.includes(want), `${a.name}: ${want}`);
        }
        assert.deepStrictEqual(
            body.widgets.find((w: any) => w.type === "alarm").properties.alarms.sort(),
            alarms.map(a => a.state.arn).sort(),
        );
    });

    it("gives the nodes a role that may only PutMetricData into HaWordPress, through an instance profile on every instance", () => {
        const roles = mine("aws:iam/role:Role", "t-mon-role-");
        assert.strictEqual(roles.length, 1);
        assert.deepStrictEqual(JSON.parse(roles[0].inputs.assumeRolePolicy).Statement, [
            { Effect: "Allow", Action: "sts:AssumeRole", Principal: { Service: "ec2.amazonaws.com" } },
        ]);
        const policies = rt.resources.filter(
            r => r.type === "aws:iam/rolePolicy:RolePolicy" && r.inputs.role === roles[0].state.name,
        );
        assert.strictEqual(policies.length, 1, "one inline policy");
        assert.deepStrictEqual(JSON.parse(policies[0].inputs.policy), {
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
        assert.ok(
            !rt.resources.some(
                r =>
                    r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment" &&
                    r.inputs.role === roles[0].state.name,
            ),
            "no managed policy on the nodes' role",
        );
        const profile = mine("aws:iam/instanceProfile:InstanceProfile", "t-mon-role-");
        assert.strictEqual(profile.length, 1);
        assert.strictEqual(profile[0].inputs.role, roles[0].state.name);
        const instances = mine("aws:ec2/instance:Instance", "t-mon-gluster-");
        assert.strictEqual(instances.length, 3);
        for (const i of instances) {
            assert.strictEqual(i.inputs.iamInstanceProfile, profile[0].state.name, i.name);
            assert.ok(
                !i.ignoreChanges.includes("iamInstanceProfile"),
                "the profile reaches existing instances (an in-place association)",
            );
            assert.strictEqual(
                i.inputs.metadataOptions.httpTokens,
                "required",
                "IMDSv2 only: the publisher uses tokens",
            );
        }
    });

    it("runs the publisher step on every node after its web tier (Nginx, after the packages) and the role's policy, with no secret in its text", () => {
        const secrets = rt.resources
            .filter(r => r.type === "random:index/randomPassword:RandomPassword")
            .map(r => r.state.result);
        const hostKeys = rt.resources
            .filter(r => r.type === "tls:index/privateKey:PrivateKey")
            .map(r => r.state.privateKeyOpenssh);
        for (const n of NODES) {
            const c = rt.byName(`t-mon-${monitoringStepIds.metrics(n)}`);
            assert.ok(isSecretWrapped(c.inputs.connection));
            assert.strictEqual(c.inputs.stdin, undefined);
            assert.strictEqual(c.inputs.delete, undefined, "removing the stack leaves the host alone");
            const text = String(unwrapSecret(c.inputs.create));
            assert.deepStrictEqual(
                [param(text, "MODE"), param(text, "NAMESPACE"), param(text, "NODE"), param(text, "REGION")],
                ["aws", "HaWordPress", n, "us-east-1"],
            );
            assert.strictEqual(param(text, "HEALTH_SCRIPT"), HEALTH_FIXTURE);
            assert.ok(!/PRIVATE KEY/.test(text), "no key in the text");
            for (const s of [...secrets, ...hostKeys]) assert.ok(!text.includes(s), `${n}: a secret in the text`);
            assert.ok(c.deps.includes(`t-mon-web-${webStepIds.nginx(n)}`), `${n} after its web tier: ${c.deps}`);
            assert.ok(c.deps.includes("t-mon-role-put-metric-data"), `${n} after the role's policy: ${c.deps}`);
            const conn = unwrapSecret(c.inputs.connection) as Record<string, unknown>;
            assert.strictEqual(conn.host, instanceOf(n).state.publicIp, `${n}'s own connection`);
            assert.strictEqual(
                (unwrapSecret(c.inputs.triggers) as unknown[])[0],
                instanceOf(n).id,
                "a replaced instance gets the step again",
            );
        }
    });

    it("refuses a hand-built bundle without brick volumes or their backup tag, and a retention RDS cannot keep", () => {
        const role = stack.role as MonitoringRole;
        const base = {
            role,
            ssh: { user: "admin", privateKey: "k" },
            region: "us-east-1",
            loadBalancerArnSuffix: "net/x/1",
            targetGroups: [{ port: 80, arnSuffix: "targetgroup/x/1" }],
            dbInstanceIdentifier: "db",
            healthScript: HEALTH_FIXTURE,
        };
        const bare: GlusterClusterInfo = { ...stack.cluster.cluster, brickBackupTag: undefined };
        assert.throws(
            () => new Monitoring("t-monbad1", { ...base, cluster: bare }),
            /lacks the brick volumes or their backup tag/,
        );
        assert.throws(
            () => new Monitoring("t-monbad2", { ...base, cluster: stack.cluster.cluster, backupRetentionDays: 36 }),
            /between 1 and 35/,
        );
        assert.throws(
            () => new Monitoring("t-monbad3", { ...base, cluster: { ...stack.cluster.cluster, nodes: [] } }),
            /no nodes/,
        );
        void pulumi;
    });
});
