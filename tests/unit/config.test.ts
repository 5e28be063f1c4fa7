// Stack configuration: Pulumi.yaml declarations, the prod/dev stack files, and the validator's messages.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import {
    CONFIG_DEFAULTS,
    CONFIG_KEYS,
    StackConfigError,
    cidrProblem,
    fileLocator,
    findKeyLine,
    validateConfig,
} from "../../components/config";
import { WEB_CONFIG_DEFAULTS, WEB_CONFIG_KEYS } from "../../components/webConfig";
import { subnetCidrs } from "../../components/network";
import { OPERATOR_CONFIG, REPO, effectiveConfig, readYaml } from "./support/pulumiRuntime";

const SECRET = ["ha-wordpress:sshPrivateKey"];
const valid = (overrides: Record<string, string | undefined> = {}) =>
    validateConfig({ ...effectiveConfig("prod", OPERATOR_CONFIG), ...overrides }, { secretKeys: SECRET });

/** The validator's message for a config, or a failure if it accepts it. */
function rejection(overrides: Record<string, string | undefined>, secretKeys = SECRET): string {
    try {
        validateConfig({ ...effectiveConfig("prod", OPERATOR_CONFIG), ...overrides }, { secretKeys });
    } catch (e) {
        assert.ok(e instanceof StackConfigError, `threw ${e}`);
        return (e as Error).message;
    }
    assert.fail(`config accepted: ${JSON.stringify(overrides)}`);
}

describe("Pulumi.yaml", () => {
    const project = readYaml("Pulumi.yaml");

    it("is the TypeScript nodejs project ha-wordpress, whose program is package.json's main, index.ts", () => {
        assert.strictEqual(project.name, "ha-wordpress");
        assert.strictEqual(project.runtime.name, "nodejs");
        assert.strictEqual(project.runtime.options.typescript, true);
        const pkg = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8"));
        assert.strictEqual(project.main ?? pkg.main, "index.ts");
        assert.ok(fs.existsSync(path.join(REPO, "index.ts")));
    });

    it("declares exactly the keys the program reads, each with a type, a description and a default", () => {
        assert.deepStrictEqual(Object.keys(project.config).sort(), [...CONFIG_KEYS, ...WEB_CONFIG_KEYS].sort());
        for (const [key, decl] of Object.entries<any>(project.config)) {
            assert.ok(["string", "integer", "boolean", "array"].includes(decl.type), `${key} type`);
            if (decl.type === "array") assert.strictEqual(decl.items?.type, "string", `${key} items`);
            assert.ok(typeof decl.description === "string" && decl.description.length > 20, `${key} description`);
            assert.ok("default" in decl, `${key} default`);
        }
    });

    it("has the same defaults as the validator", () => {
        for (const [key, decl] of Object.entries<any>(project.config)) {
            const d = decl.default;
            assert.strictEqual(
                typeof d === "string" ? d : JSON.stringify(d),
                { ...CONFIG_DEFAULTS, ...WEB_CONFIG_DEFAULTS }[key],
                key,
            );
        }
    });
});

describe("stack files", () => {
    it("prod puts every node in its own zone of us-east-1 (the seed's two-in-one-zone layout lost quorum with that zone)", () => {
        const file = readYaml("Pulumi.prod.yaml").config;
        assert.strictEqual(file["ha-wordpress:region"], "us-east-1");
        assert.deepStrictEqual(file["ha-wordpress:azs"], ["us-east-1b", "us-east-1c", "us-east-1d"]);
        const c = valid();
        assert.deepStrictEqual(
            c.nodeNames.map((n, i) => `${n}@${c.azs[i]}`),
            ["node-gfs1@us-east-1b", "node-gfs2@us-east-1c", "node-gfs3@us-east-1d"],
        );
        assert.deepStrictEqual(c.zonesInUse, ["us-east-1b", "us-east-1c", "us-east-1d"]);
        assert.deepStrictEqual(c.warnings, []);
        assert.strictEqual(c.volumeName, "wp");
        assert.strictEqual(c.brickPath, "/glusterfs/bricks/brick1/gv");
        assert.strictEqual(c.brickMountPoint, "/glusterfs/bricks/brick1");
        assert.strictEqual(c.mountPoint, "/var/www/html");
        assert.strictEqual(c.retainBricks, true);
    });

    it("dev is a valid, cheaper layout: smaller instances and bricks, not retained, still two zones", () => {
        const prod = valid();
        const dev = validateConfig(effectiveConfig("dev", OPERATOR_CONFIG), { secretKeys: SECRET });
        assert.strictEqual(dev.zonesInUse.length, 2, "the web tier's database and load balancer need two zones");
        assert.strictEqual(dev.azs.length, 3);
        assert.ok(dev.brickVolume.sizeGiB < prod.brickVolume.sizeGiB);
        assert.notStrictEqual(dev.instanceType, prod.instanceType);
        assert.match(dev.instanceType, /^t3\./);
        assert.strictEqual(dev.retainBricks, false);
    });

    it("leaves no secret or operator-specific value in any stack file", () => {
        for (const stack of ["prod", "dev"]) {
            const text = fs.readFileSync(path.join(REPO, `Pulumi.${stack}.yaml`), "utf8");
            assert.doesNotMatch(text, /PRIVATE KEY|ha-wordpress:(sshPrivateKey|adminCidr|keyName):/, stack);
        }
    });
});

describe("validateConfig", () => {
    it("turns raw strings into a typed config with defaults", () => {
        const c = valid();
        assert.deepStrictEqual(c.brickVolume, { sizeGiB: 100, type: "gp3", iops: 3000, throughput: 125 });
        assert.strictEqual(c.pingTimeout, 10);
        assert.strictEqual(c.sshUser, "admin");
        assert.strictEqual(c.ami, undefined);
        assert.strictEqual(c.architecture, "x86_64");
        assert.strictEqual(c.existingNetwork, undefined);
        assert.strictEqual(valid({ instanceType: "t4g.medium" }).architecture, "arm64");
        assert.strictEqual(valid({ instanceType: "m7gd.large" }).architecture, "arm64");
        assert.strictEqual(valid({ instanceType: "g4dn.xlarge" }).architecture, "x86_64");
    });

    it("rejects anything but 3 nodes' zones, naming the key and the fix", () => {
        const m = rejection({ azs: JSON.stringify(["us-east-1a", "us-east-1b"]) });
        assert.match(m, /ha-wordpress:azs: needs exactly 3 availability zones, one per node .* got 2\. Fix: /);
        assert.match(
            rejection({ azs: JSON.stringify(["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"]) }),
            /got 4/,
        );
        assert.match(
            rejection({ azs: "us-east-1a" }),
            /azs: 'us-east-1a' is not a list of zone names\. Fix: pulumi config set --path/,
        );
    });

    it("rejects a zone outside the region", () => {
        const m = rejection({ azs: JSON.stringify(["us-east-1b", "us-west-2a", "us-east-1d"]) });
        assert.match(
            m,
            /azs: zone 'us-west-2a' \(node node-gfs2\) is not in region us-east-1\. Fix: use zones of us-east-1/,
        );
        assert.match(
            rejection({ region: "eu-west-1" }),
            /zone 'us-east-1b' \(node node-gfs1\) is not in region eu-west-1/,
        );
        assert.match(rejection({ region: "mars" }), /region: 'mars' is not an AWS region name/);
    });

    it("rejects a brick path that is a bare mount point, and asks for a sub-directory", () => {
        const m = rejection({ brickPath: "/glusterfs/bricks/brick1" });
        assert.match(m, /brickPath: '\/glusterfs\/bricks\/brick1' is a bare mount point/);
        assert.match(
            m,
            /Fix: use a sub-directory below the brick mount point: pulumi config set brickPath \/glusterfs\/bricks\/brick1\/gv/,
        );
        assert.match(rejection({ brickPath: "/gv" }), /bare mount point/);
        assert.match(rejection({ brickPath: "glusterfs/gv" }), /not an absolute path/);
        assert.match(rejection({ brickPath: "/var/gv" }), /mount point \/var is a system directory/);
        assert.match(rejection({ brickPath: "/glusterfs/bricks/brick1/../gv" }), /brickPath/);
    });

    it("rejects a mount point that is a system directory or overlaps the brick", () => {
        assert.match(rejection({ mountPoint: "/var" }), /mountPoint: '\/var' is a system directory/);
        assert.match(rejection({ mountPoint: "/glusterfs/bricks/brick1/www" }), /overlaps the brick mount point/);
    });

    it("rejects a missing key pair name and private key, each with the command that fixes it", () => {
        const m = rejection({ keyName: undefined, sshPrivateKey: undefined });
        assert.match(m, /ha-wordpress:keyName: is not set.*Fix: aws ec2 import-key-pair .* pulumi config set keyName/);
        assert.match(m, /ha-wordpress:sshPrivateKey: is not set.*Fix: pulumi config set --secret sshPrivateKey < /);
        assert.match(rejection({ sshPrivateKey: "hunter2" }), /does not look like a private key/);
    });

    it("refuses a private key stored in plain text", () => {
        assert.match(
            rejection({}, []),
            /sshPrivateKey: is stored in plain text\. Fix: pulumi config rm sshPrivateKey; pulumi config set --secret/,
        );
    });

    it("rejects a missing, malformed or world-open admin CIDR", () => {
        assert.match(
            rejection({ adminCidr: undefined }),
            /adminCidr: is not set.*Fix: pulumi config set adminCidr 203\.0\.113\.7\/32/,
        );
        assert.match(rejection({ adminCidr: "1.2.3.4" }), /adminCidr: '1\.2\.3\.4' is not an IPv4 CIDR block/);
        assert.match(
            rejection({ adminCidr: "198.51.100.7/24" }),
            /has host bits set \(did you mean 198\.51\.100\.0\/24\?\)/,
        );
        assert.match(rejection({ adminCidr: "0.0.0.0/0" }), /would open SSH to the whole internet/);
        assert.strictEqual(cidrProblem("10.0.0.0/8"), undefined);
        assert.ok(cidrProblem("300.0.0.0/8"));
    });

    it("rejects bad brick volume settings", () => {
        assert.match(rejection({ brickVolumeType: "st1" }), /brickVolumeType: 'st1' is not supported/);
        assert.match(rejection({ brickVolumeIops: "100" }), /gp3 takes 3000 to 16000 IOPS, got 100/);
        assert.match(rejection({ brickVolumeSize: "0" }), /brickVolumeSize: '0' is not a size/);
        assert.match(rejection({ brickVolumeThroughput: "900" }), /at most 0\.25 MiB\/s per IOPS/);
        assert.match(rejection({ brickVolumeType: "io2", brickVolumeIops: "" }), /io2 needs provisioned IOPS/);
    });

    it("rejects half an existing network, and wrong subnet counts", () => {
        assert.match(rejection({ vpcId: "vpc-0123456789abcdef0" }), /subnetIds: needs one subnet per node \(3/);
        assert.match(
            rejection({
                subnetIds: JSON.stringify([
                    "subnet-0123456789abcdef0",
                    "subnet-0123456789abcdef1",
                    "subnet-0123456789abcdef2",
                ]),
            }),
            /vpcId: is not set but subnetIds is/,
        );
        const c = valid({
            vpcId: "vpc-0123456789abcdef0",
            subnetIds: JSON.stringify([
                "subnet-0123456789abcdef0",
                "subnet-0123456789abcdef1",
                "subnet-0123456789abcdef1",
            ]),
        });
        assert.deepStrictEqual(c.existingNetwork?.subnetIds.length, 3);
        assert.match(rejection({ vpcCidr: "10.0.0.0/8" }), /vpcCidr: a VPC needs a prefix between \/16 and \/24/);
    });

    it("rejects other malformed values", () => {
        assert.match(rejection({ pingTimeout: "0" }), /pingTimeout: '0' is not a number of seconds/);
        assert.match(rejection({ volumeName: "w p" }), /volumeName: 'w p' is not a valid Gluster volume name/);
        assert.match(rejection({ connectVia: "both" }), /connectVia: 'both' must be 'public' or 'private'/);
        assert.match(rejection({ ami: "debian" }), /ami: 'debian' is not an AMI id/);
        assert.match(rejection({ retainBricks: "yes" }), /retainBricks: 'yes' must be true or false/);
    });

    it("lists every problem in one error", () => {
        const m = rejection({ azs: "[]", keyName: "", adminCidr: "", brickPath: "/glusterfs/bricks/brick1" });
        assert.match(m, /^invalid stack configuration \(4 problems\):/);
        for (const key of ["azs", "keyName", "adminCidr", "brickPath"])
            assert.match(m, new RegExp(`ha-wordpress:${key}: `));
    });

    it("says in which file and line a bad key is set", () => {
        const stackText = fs.readFileSync(path.join(REPO, "Pulumi.prod.yaml"), "utf8");
        const projectText = fs.readFileSync(path.join(REPO, "Pulumi.yaml"), "utf8");
        const locate = fileLocator(
            { name: "Pulumi.prod.yaml", text: stackText },
            { name: "Pulumi.yaml", text: projectText },
        );
        const azsLine = stackText.split("\n").findIndex(l => l.startsWith("  ha-wordpress:azs:")) + 1;
        assert.strictEqual(locate("azs"), `Pulumi.prod.yaml:${azsLine}`);
        const cidrLine = projectText.split("\n").findIndex(l => l === "  adminCidr:") + 1;
        assert.strictEqual(locate("adminCidr"), `Pulumi.yaml:${cidrLine} (default)`);
        assert.strictEqual(findKeyLine("config:\n  other: 1\n", "azs", "project"), undefined);
        try {
            validateConfig({ ...effectiveConfig("prod", OPERATOR_CONFIG), azs: "[]" }, { secretKeys: SECRET, locate });
            assert.fail("accepted");
        } catch (e) {
            assert.match(
                (e as Error).message,
                new RegExp(`- Pulumi\\.prod\\.yaml:${azsLine}: ha-wordpress:azs: needs exactly 3`),
            );
        }
    });
});

describe("validateConfig: backups and alarms (issue 11)", () => {
    it("keeps 30 days of backups and e-mails no one by default", () => {
        const c = valid();
        assert.strictEqual(c.backupRetentionDays, 30);
        assert.strictEqual(c.alarmEmail, undefined);
        assert.strictEqual(valid({ backupRetentionDays: "35" }).backupRetentionDays, 35);
        assert.strictEqual(valid({ backupRetentionDays: "1" }).backupRetentionDays, 1);
        assert.strictEqual(valid({ alarmEmail: " ops+alarms@example.co.uk " }).alarmEmail, "ops+alarms@example.co.uk");
    });

    it("rejects a retention RDS cannot keep (1 to 35 days) and a malformed address, with the fix", () => {
        for (const bad of ["0", "36", "-3", "30d", "", "2.5"]) {
            assert.match(
                rejection({ backupRetentionDays: bad }),
                new RegExp(
                    `ha-wordpress:backupRetentionDays: '${bad.replace(".", "\\.")}' is not a number of days between 1 and 35 \\(RDS keeps automated backups at most 35 days\\)\\. Fix: pulumi config set backupRetentionDays 30`,
                ),
                bad,
            );
        }
        for (const bad of [
            "ops",
            "ops@",
            "@example.com",
            "ops@example",
            "a b@example.com",
            "ops@example.com,boss@example.com",
            "<ops@example.com>",
        ]) {
            assert.match(
                rejection({ alarmEmail: bad }),
                /ha-wordpress:alarmEmail: '.*' is not an e-mail address\. Fix: pulumi config set alarmEmail ops@example\.com, or leave it empty/,
                bad,
            );
        }
    });

    it("names the file and line of a bad value: the stack file's line, or Pulumi.yaml's default", () => {
        const projectText = fs.readFileSync(path.join(REPO, "Pulumi.yaml"), "utf8");
        const stackText =
            fs.readFileSync(path.join(REPO, "Pulumi.prod.yaml"), "utf8") + "  ha-wordpress:backupRetentionDays: 90\n";
        const locate = fileLocator(
            { name: "Pulumi.prod.yaml", text: stackText },
            { name: "Pulumi.yaml", text: projectText },
        );
        const line = stackText.split("\n").length - 1;
        try {
            validateConfig(
                { ...effectiveConfig("prod", OPERATOR_CONFIG), backupRetentionDays: "90", alarmEmail: "nobody" },
                { secretKeys: SECRET, locate },
            );
            assert.fail("accepted");
        } catch (e) {
            const m = (e as Error).message;
            assert.match(
                m,
                new RegExp(
                    `- Pulumi\\.prod\\.yaml:${line}: ha-wordpress:backupRetentionDays: '90' is not a number of days`,
                ),
            );
            const emailLine = projectText.split("\n").findIndex(l => l === "  alarmEmail:") + 1;
            assert.ok(emailLine > 0);
            assert.match(
                m,
                new RegExp(
                    `- Pulumi\\.yaml:${emailLine} \\(default\\): ha-wordpress:alarmEmail: 'nobody' is not an e-mail address`,
                ),
            );
        }
    });

    it("is set in no stack file (the defaults are the values; an address is the operator's)", () => {
        for (const stack of ["prod", "dev"]) {
            const file = readYaml(`Pulumi.${stack}.yaml`).config;
            assert.strictEqual(file["ha-wordpress:alarmEmail"], undefined, stack);
        }
    });
});

describe("subnetCidrs", () => {
    it("splits the VPC into equal non-overlapping subnets", () => {
        assert.deepStrictEqual(subnetCidrs("10.20.0.0/16", 3), ["10.20.0.0/20", "10.20.16.0/20", "10.20.32.0/20"]);
        assert.deepStrictEqual(subnetCidrs("10.1.2.0/24", 2), ["10.1.2.0/28", "10.1.2.16/28"]);
        assert.throws(() => subnetCidrs("10.1.2.0/24", 17), /cannot hold/);
    });
});

describe("index.ts with a bad stack config (child process)", function () {
    this.timeout(60_000);
    const runProgram = (bad: Record<string, string>, secretKeys: string[]) => {
        const r = spawnSync(
            process.execPath,
            [
                "-r",
                "ts-node/register/transpile-only",
                path.join(__dirname, "fixtures", "badConfigProgram.ts"),
                JSON.stringify(bad),
                JSON.stringify(secretKeys),
            ],
            { cwd: REPO, encoding: "utf8" },
        );
        assert.ok(r.stdout.startsWith("{"), `child output: ${r.stdout}${r.stderr}`);
        return JSON.parse(r.stdout) as { ok: boolean; runError?: boolean; message?: string; resources: number };
    };

    it("fails before declaring any resource, naming file:line, key and fix for every problem", () => {
        const out = runProgram({ azs: JSON.stringify(["us-east-1b", "us-west-2a"]) }, []);
        assert.strictEqual(out.ok, false);
        assert.strictEqual(out.runError, true, "a RunError: Pulumi reports it without a stack trace");
        assert.match(out.message!, /^invalid stack configuration \(3 problems\)/);
        assert.strictEqual(out.resources, 0);
        const stackText = fs.readFileSync(path.join(REPO, "Pulumi.prod.yaml"), "utf8");
        const azsLine = stackText.split("\n").findIndex(l => l.startsWith("  ha-wordpress:azs:")) + 1;
        assert.match(out.message!, new RegExp(`Pulumi\\.prod\\.yaml:${azsLine}: ha-wordpress:azs: needs exactly 3`));
        assert.match(out.message!, /zone 'us-west-2a' \(node node-gfs2\) is not in region us-east-1/);
        // the test key was not set with --secret: refused as plain text (the SDK's secret-key list is honoured)
        assert.match(out.message!, /sshPrivateKey: is stored in plain text/);
    });
});
