// Backups under the Pulumi mocks (the prod wiring of tests/unit/fixtures/monitoringStack.ts) and the pure rules:
// daily snapshots of every brick by tag into a kept vault, backupRetentionDays for them and for RDS.
import * as assert from "assert";
import { Recorded, Runtime, pulumiRuntime } from "./support/pulumiRuntime";
import { MonitoringStack, monitoringStack } from "./fixtures/monitoringStack";
import {
    BACKUP_TAG_KEY,
    MAX_RETENTION_DAYS,
    backupServiceRole,
    brickBackupRule,
    brickBackupTagValue,
    brickSelection,
    checkRetentionDays,
} from "../../components/backupPlan";

const NODES = ["node-gfs1", "node-gfs2", "node-gfs3"];

describe("backup rules (pure)", () => {
    it("snapshots daily at 05:00 UTC, after the database's backup window, kept the retention", () => {
        assert.deepStrictEqual(brickBackupRule(30), {
            ruleName: "daily-bricks",
            schedule: "cron(0 5 * * ? *)",
            scheduleExpressionTimezone: "Etc/UTC",
            startWindow: 60,
            completionWindow: 240,
            deleteAfter: 30,
        });
        assert.strictEqual(brickBackupRule(7).deleteAfter, 7);
    });

    it("keeps 1 to 35 days (RDS's maximum for automated backups), nothing else", () => {
        assert.strictEqual(MAX_RETENTION_DAYS, 35);
        assert.strictEqual(checkRetentionDays(1), 1);
        assert.strictEqual(checkRetentionDays(35), 35);
        for (const bad of [0, 36, 2.5, -1, NaN])
            assert.throws(() => checkRetentionDays(bad), /between 1 and 35/, String(bad));
    });

    it("selects EBS volumes carrying the cluster's tag, whose value differs per stack", () => {
        const prod = brickBackupTagValue("ha-wordpress", "prod", "gluster");
        assert.strictEqual(prod, "ha-wordpress/prod/gluster");
        assert.notStrictEqual(brickBackupTagValue("ha-wordpress", "dev", "gluster"), prod);
        assert.deepStrictEqual(brickSelection("aws", prod), {
            resources: ["arn:aws:ec2:*:*:volume/*"],
            conditions: [{ key: "aws:ResourceTag/ha-wordpress:backup", value: prod }],
        });
        assert.throws(() => brickBackupTagValue("p", "st*ck", "c"), /characters AWS tags do not allow/);
    });

    it("gives AWS Backup its own role with the managed backup and restore policies", () => {
        const r = backupServiceRole("aws");
        assert.deepStrictEqual(r.assumeRolePolicy, {
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Principal: { Service: "backup.amazonaws.com" } }],
        });
        assert.deepStrictEqual(r.managedPolicyArns, [
            "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
            "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
        ]);
    });
});

describe("backups in the prod wiring (mocks)", () => {
    let rt: Runtime;
    let stack: MonitoringStack;
    const mine = (type: string, prefix = "t-mon-") =>
        rt.resources.filter(r => r.type === type && r.name.startsWith(prefix));
    const one = (type: string): Recorded => {
        const found = mine(type);
        assert.strictEqual(found.length, 1, `${type}: ${found.map(r => r.name)}`);
        return found[0];
    };

    before(async function () {
        this.timeout(300000); // the program and a second full stack register under the mocks first
        rt = await pulumiRuntime();
        stack = await monitoringStack();
    });

    it("tags every brick volume, and only the bricks, with the cluster's backup tag", () => {
        const tag = stack.cluster.cluster.brickBackupTag!;
        assert.deepStrictEqual(tag, { key: BACKUP_TAG_KEY, value: "ha-wordpress/prod/t-mon-gluster" });
        const volumes = mine("aws:ebs/volume:Volume", "t-mon-gluster-");
        assert.deepStrictEqual(
            volumes.map(v => v.inputs.tags.Name).sort(),
            NODES.map(n => `${n}-brick`),
        );
        for (const v of volumes) assert.strictEqual(v.inputs.tags[BACKUP_TAG_KEY], tag.value, v.name);
        for (const i of mine("aws:ec2/instance:Instance", "t-mon-gluster-"))
            assert.strictEqual(i.inputs.tags[BACKUP_TAG_KEY], undefined, i.name);
        // The bundle names each node's own brick volume.
        for (const n of stack.cluster.cluster.nodes) assert.ok(n.brickVolumeId, n.name);
    });

    it("the program's own bricks carry their stack-unique tag too", () => {
        for (const v of rt.byType("aws:ebs/volume:Volume").filter(x => x.name.startsWith("gluster-"))) {
            assert.strictEqual(v.inputs.tags[BACKUP_TAG_KEY], "ha-wordpress/prod/gluster", v.name);
        }
        assert.strictEqual(rt.byType("aws:ebs/volume:Volume").filter(x => x.name.startsWith("gluster-")).length, 3);
    });

    it("selects exactly those volumes: EBS only AND that tag, for the plan, with AWS Backup's role", () => {
        const sel = one("aws:backup/selection:Selection");
        const plan = one("aws:backup/plan:Plan");
        const role = mine("aws:iam/role:Role").find(r => r.name === "t-mon-backup")!;
        assert.deepStrictEqual([sel.inputs.planId, sel.inputs.iamRoleArn], [plan.id, role.state.arn]);
        assert.deepStrictEqual(sel.inputs.resources, ["arn:aws:ec2:*:*:volume/*"]);
        assert.deepStrictEqual(sel.inputs.conditions, [
            {
                stringEquals: [
                    { key: "aws:ResourceTag/ha-wordpress:backup", value: "ha-wordpress/prod/t-mon-gluster" },
                ],
            },
        ]);
        assert.strictEqual(sel.inputs.selectionTags, undefined, "no OR'd tag list that could widen the selection");
        assert.ok(
            sel.deps.includes("t-mon-backup-backup") && sel.deps.includes("t-mon-backup-restore"),
            `after the role's policies: ${sel.deps}`,
        );
        assert.deepStrictEqual(JSON.parse(role.inputs.assumeRolePolicy).Statement[0].Principal, {
            Service: "backup.amazonaws.com",
        });
        const attached = rt.resources.filter(
            r => r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment" && r.inputs.role === role.state.name,
        );
        assert.deepStrictEqual(
            attached.map(a => a.inputs.policyArn).sort(),
            backupServiceRole("aws").managedPolicyArns.sort(),
        );
    });

    it("snapshots daily into the stack's vault, kept backupRetentionDays (30), tagged", () => {
        const plan = one("aws:backup/plan:Plan");
        const vault = one("aws:backup/vault:Vault");
        assert.strictEqual(stack.backupRetentionDays, 30, "the default");
        assert.strictEqual(plan.inputs.rules.length, 1);
        const r = plan.inputs.rules[0];
        assert.deepStrictEqual(
            [r.ruleName, r.schedule, r.scheduleExpressionTimezone, r.startWindow, r.completionWindow, r.lifecycle],
            ["daily-bricks", "cron(0 5 * * ? *)", "Etc/UTC", 60, 240, { deleteAfter: 30 }],
        );
        assert.strictEqual(r.targetVaultName, vault.inputs.name);
        assert.deepStrictEqual(r.recoveryPointTags, {
            project: "ha-wordpress",
            stack: "prod",
            [BACKUP_TAG_KEY]: "ha-wordpress/prod/t-mon-gluster",
        });
        assert.strictEqual(vault.inputs.name, "ha-wordpress-prod-t-mon-bricks");
        assert.strictEqual(vault.retainOnDelete, true, "pulumi destroy keeps the snapshots");
    });

    it("keeps the database's automated backups the same backupRetentionDays", () => {
        const db = mine("aws:rds/instance:Instance").find(r => r.name === "t-mon-web-db")!;
        assert.strictEqual(db.inputs.backupRetentionPeriod, 30);
        assert.strictEqual(db.inputs.deleteAutomatedBackups, false);
    });

    it("pages when a brick backup job fails or is aborted in that vault", () => {
        const vault = one("aws:backup/vault:Vault");
        for (const [id, metric] of [
            ["backup-failed", "NumberOfBackupJobsFailed"],
            ["backup-aborted", "NumberOfBackupJobsAborted"],
        ]) {
            const a = rt.byName(`t-mon-${id}`).inputs;
            assert.deepStrictEqual(
                [a.namespace, a.metricName, a.dimensions, a.comparisonOperator, a.threshold],
                ["AWS/Backup", metric, { BackupVaultName: vault.inputs.name }, "GreaterThanThreshold", 0],
            );
        }
    });
});
