// WordPressTier under mocks: the prod stack's database, load balancer, security rules, secrets and step order; a
// dev-like tier with TLS built directly.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import {
    Recorded,
    Runtime,
    effectiveConfig,
    isSecretWrapped,
    loadProgram,
    pulumiRuntime,
    settle,
    unwrapSecret,
    valueOf,
} from "./support/pulumiRuntime";
import { WordPressTier } from "../../components/wordpressTier";
import { validateWebConfig } from "../../components/webConfig";
import { renderStep } from "../../components/hostStep";
import { stateDirOf, webRootOf, webStepIds, wordpressPlan } from "../../components/wordpressPlan";

const NODES = ["node-gfs1", "node-gfs2", "node-gfs3"];
const CMD = "command:remote:Command";
const param = (text: string, name: string): string => {
    const m = new RegExp(`(?:^| )${name}=('(?:[^']|'\\\\'')*'|\\S*)`).exec(text);
    assert.ok(m, `${name} in command text`);
    return m[1].startsWith("'") ? m[1].slice(1, -1).replace(/'\\''/g, "'") : m[1];
};

describe("WordPressTier in the prod stack (mocks)", () => {
    let rt: Runtime;
    let program: Record<string, any>;
    let web: Recorded[];
    const cmd = (step: string) => rt.byName(`web-${step}`);
    const nodeSg = () => rt.byType("aws:ec2/securityGroup:SecurityGroup").find(s => s.name === "gluster-nodes")!;
    const dbSg = () => rt.byType("aws:ec2/securityGroup:SecurityGroup").find(s => s.name === "web-db")!;

    before(async () => {
        rt = await pulumiRuntime();
        program = await loadProgram();
        web = rt.byType(CMD).filter(c => c.name.startsWith("web-"));
    });

    describe("database", () => {
        const db = () => rt.byType("aws:rds/instance:Instance").find(r => r.name === "web-db")!;

        it("is MySQL 8.4 (8.0 costs Extended Support), Multi-AZ, encrypted, backed up, private, with storage autoscaling", () => {
            const i = db().inputs;
            assert.deepStrictEqual(
                [i.engine, i.engineVersion, i.multiAz, i.storageEncrypted, i.publiclyAccessible],
                ["mysql", "8.4", true, true, false],
            );
            assert.deepStrictEqual([i.allocatedStorage, i.maxAllocatedStorage], [50, 500]);
            assert.strictEqual(i.backupRetentionPeriod, 30, "backupRetentionDays, the bricks' retention too");
            assert.strictEqual(i.storageType, "gp3");
            assert.strictEqual(i.instanceClass, "db.m6g.large");
            assert.strictEqual(i.dbName, "wordpress");
        });

        it("is protected in prod: Pulumi protect, deletion protection, a uniquely named final snapshot, backups kept on delete", () => {
            const i = db().inputs;
            assert.strictEqual(db().protect, true, "pulumi destroy / a replacement stops before AWS is asked");
            assert.strictEqual(i.deletionProtection, true);
            assert.strictEqual(i.skipFinalSnapshot, false);
            const suffix = rt.byName("web-db-final-snapshot");
            assert.strictEqual(suffix.type, "random:index/randomId:RandomId");
            assert.strictEqual(i.finalSnapshotIdentifier, `prod-web-db-final-${suffix.state.hex}`);
            assert.match(i.finalSnapshotIdentifier, /^[a-z][a-z0-9-]{0,254}$/);
            assert.strictEqual(i.deleteAutomatedBackups, false);
        });

        it("has WordPress use its own least-privileged user, made by a host step with the master user", () => {
            const i = db().inputs;
            assert.strictEqual(i.username, "dbmaster");
            const master = rt
                .byType("random:index/randomPassword:RandomPassword")
                .find(r => r.name === "web-db-password")!.state.result;
            const dbUser = cmd("db-user");
            assert.strictEqual(param(String(dbUser.inputs.create), "DB_MASTER_USER"), "dbmaster");
            assert.strictEqual(param(String(dbUser.inputs.create), "DB_APP_USER"), "wordpress");
            assert.ok(
                String(unwrapSecret(dbUser.inputs.stdin)).includes(Buffer.from(master).toString("base64")),
                "master password on the db-user step's stdin",
            );
            assert.ok(cmd("wordpress-site").deps.includes("web-db-user"), "the site install waits for the user");
            for (const c of web.filter(x => x.name !== "web-db-user")) {
                const all = String(unwrapSecret(c.inputs.create)) + String(unwrapSecret(c.inputs.stdin) ?? "");
                assert.ok(
                    !all.includes(master) && !all.includes(Buffer.from(master).toString("base64")),
                    `${c.name} never gets the master password`,
                );
                assert.ok(!/DB_USER=dbmaster/.test(all), `${c.name} does not log in as the master user`);
            }
        });

        it("gets its master password from @pulumi/random, as a secret", () => {
            const i = db().inputs;
            assert.ok(isSecretWrapped(i.password), "password is secret");
            const pw = rt.byType("random:index/randomPassword:RandomPassword").find(r => r.name === "web-db-password")!;
            assert.strictEqual(unwrapSecret(i.password), pw.state.result);
            assert.ok(pw.inputs.length >= 32);
            // RDS refuses / @ " and space in master passwords; PHP and my.cnf quoting refuse quotes and backslashes.
            assert.ok(!/[/@"' \\]/.test(pw.inputs.overrideSpecial), pw.inputs.overrideSpecial);
        });

        it("lives in a subnet group over the stack's subnets (two zones)", () => {
            const group = rt.byType("aws:rds/subnetGroup:SubnetGroup")[0];
            const subnets = rt
                .byType("aws:ec2/subnet:Subnet")
                .map(s => s.id)
                .sort();
            assert.deepStrictEqual([...group.inputs.subnetIds].sort(), subnets);
            assert.strictEqual(subnets.length, 3);
        });

        it("admits 3306 only from the web nodes' group, and the nodes may reach it", () => {
            const ingress = rt
                .byType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
                .filter(r => r.inputs.securityGroupId === dbSg().id);
            assert.strictEqual(ingress.length, 1);
            const r = ingress[0].inputs;
            assert.deepStrictEqual(
                [r.ipProtocol, r.fromPort, r.toPort, r.referencedSecurityGroupId, r.cidrIpv4],
                ["tcp", 3306, 3306, nodeSg().id, undefined],
            );
            assert.deepStrictEqual(db().inputs.vpcSecurityGroupIds, [dbSg().id]);
            const out = rt
                .byType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
                .filter(e => e.inputs.referencedSecurityGroupId === dbSg().id);
            assert.deepStrictEqual(
                out.map(e => [e.inputs.securityGroupId, e.inputs.fromPort, e.inputs.toPort]),
                [[nodeSg().id, 3306, 3306]],
            );
        });
    });

    describe("load balancer", () => {
        it("is an internet-facing network load balancer over the stack's subnets", () => {
            const lb = rt.byType("aws:lb/loadBalancer:LoadBalancer");
            assert.strictEqual(lb.length, 1);
            assert.deepStrictEqual([lb[0].inputs.loadBalancerType, lb[0].inputs.internal], ["network", false]);
            assert.strictEqual(lb[0].inputs.subnets.length, 3);
        });

        it("targets the three instances themselves, keeping the client's address, health-checked over HTTP", () => {
            const tg = rt.byType("aws:lb/targetGroup:TargetGroup");
            assert.strictEqual(tg.length, 1, "no TLS target group without a certificate");
            const t = tg[0].inputs;
            assert.deepStrictEqual(
                [t.protocol, t.port, t.targetType, t.preserveClientIp],
                ["TCP", 80, "instance", "true"],
            );
            assert.deepStrictEqual(
                [t.healthCheck.protocol, t.healthCheck.path, t.healthCheck.matcher],
                ["HTTP", "/healthz", "200"],
            );
            const attachments = rt.byType("aws:lb/targetGroupAttachment:TargetGroupAttachment");
            const instanceIds = rt
                .byType("aws:ec2/instance:Instance")
                .map(i => i.id)
                .sort();
            assert.deepStrictEqual(attachments.map(a => a.inputs.targetId).sort(), instanceIds);
            for (const a of attachments) assert.strictEqual(a.inputs.port, 80);
        });

        it("listens on TCP 80 only (no certificate configured)", () => {
            const listeners = rt.byType("aws:lb/listener:Listener");
            assert.deepStrictEqual(
                listeners.map(l => [l.inputs.port, l.inputs.protocol]),
                [[80, "TCP"]],
            );
        });

        it("gives the load balancer a security group; the nodes take only 80, only from it (no 81 without a certificate)", () => {
            const lb = rt.byType("aws:lb/loadBalancer:LoadBalancer")[0];
            const lbSg = rt.byName("web-lb");
            assert.deepStrictEqual(lb.inputs.securityGroups, [lbSg.id]);
            const rules = rt.byType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
            const open = rules.filter(r => r.inputs.cidrIpv4 === "0.0.0.0/0");
            assert.deepStrictEqual(
                open.map(r => `${r.inputs.securityGroupId === lbSg.id}/${r.inputs.fromPort}-${r.inputs.toPort}`),
                ["true/80-80"],
            );
            const toNodes = rules.filter(
                r => r.inputs.securityGroupId === nodeSg().id && [80, 81, 443].includes(r.inputs.fromPort),
            );
            assert.deepStrictEqual(
                toNodes.map(r => `${r.inputs.referencedSecurityGroupId === lbSg.id}/${r.inputs.fromPort}`),
                ["true/80"],
            );
            // Client IP preservation stays on: AWS lets a target rule that references the NLB's group admit it anyway.
            for (const tg of rt.byType("aws:lb/targetGroup:TargetGroup"))
                assert.strictEqual(tg.inputs.preserveClientIp, "true");
            const varnish = String(cmd(webStepIds.varnish("node-gfs1")).inputs.create);
            assert.deepStrictEqual([param(varnish, "TLS_PORT"), param(varnish, "HTTPS_REDIRECT")], ["", "0"]);
        });
    });

    describe("host steps", () => {
        it("declares the web steps on every node plus the site install on node 1", () => {
            const want = [
                ...NODES.flatMap(n => [
                    webStepIds.packages(n),
                    webStepIds.phpFpm(n),
                    webStepIds.nginx(n),
                    webStepIds.wordpress(n),
                    webStepIds.varnish(n),
                ]),
                webStepIds.dbUser,
                webStepIds.site,
            ].sort();
            assert.deepStrictEqual(web.map(c => c.name.replace(/^web-/, "")).sort(), want);
            for (const c of web) {
                assert.ok(isSecretWrapped(c.inputs.connection), `${c.name} connection secret`);
                assert.strictEqual(c.inputs.addPreviousOutputInEnv, false);
                assert.strictEqual(c.inputs.environment, undefined);
                assert.strictEqual(c.inputs.delete, undefined);
            }
        });

        it("orders them by real dependencies: apt after Gluster's install, WordPress and Nginx after the mount", () => {
            for (const n of NODES) {
                const deps = (s: string) => cmd(s).deps;
                assert.ok(
                    deps(webStepIds.packages(n)).includes(`gluster-install-${n}`),
                    "packages after gluster install",
                );
                assert.ok(deps(webStepIds.phpFpm(n)).includes(`web-${webStepIds.packages(n)}`));
                assert.ok(deps(webStepIds.nginx(n)).includes(`gluster-mount-${n}`), "nginx after the mount");
                assert.ok(deps(webStepIds.nginx(n)).includes(`web-${webStepIds.phpFpm(n)}`));
                assert.ok(deps(webStepIds.wordpress(n)).includes(`gluster-mount-${n}`), "wordpress after the mount");
                assert.ok(deps(webStepIds.varnish(n)).includes(`web-${webStepIds.nginx(n)}`));
                assert.ok(
                    deps(webStepIds.site).includes(`web-${webStepIds.wordpress(n)}`),
                    `site after wordpress-${n}`,
                );
            }
            assert.ok(cmd(webStepIds.site).deps.includes("web-db"), "site install waits for the database");
        });

        it("sends the same text the lab sends for the same values", () => {
            const c = cmd(webStepIds.nginx("node-gfs2"));
            const plan = wordpressPlan<string>({
                nodes: NODES,
                mountPoint: "/var/www/html",
                afterMount: Object.fromEntries(NODES.map(n => [n, []])),
                source: { kind: "debian" },
                dbHost: "h",
                dbName: "d",
                dbMasterUser: "m",
                dbMasterPassword: "mp",
                dbUser: "u",
                dbPassword: "p",
                salts: "s s s s s s s s",
                siteUrl: "",
                installUrl: "http://x",
                siteTitle: "t",
                adminUser: "a",
                adminPassword: "p",
                adminEmail: "a@b.c",
                cacheSize: "1g",
            });
            const step = plan.find(s => s.id === webStepIds.nginx("node-gfs2"))!;
            assert.strictEqual(
                unwrapSecret(c.inputs.create),
                renderStep(step.script, step.params as Record<string, string>),
            );
            const varnish = plan.find(s => s.id === webStepIds.varnish("node-gfs2"))!;
            assert.strictEqual(
                unwrapSecret(cmd(webStepIds.varnish("node-gfs2")).inputs.create),
                renderStep(varnish.script, varnish.params as Record<string, string>),
            );
        });

        it("writes wp-config with the endpoint, WordPress's own user and password and eight salts, the secrets on stdin", () => {
            const pw = rt
                .byType("random:index/randomPassword:RandomPassword")
                .find(r => r.name === "web-db-app-password")!.state.result;
            const salts = rt
                .byType("random:index/randomPassword:RandomPassword")
                .filter(r => /^web-salt-\d$/.test(r.name));
            assert.strictEqual(salts.length, 8);
            for (const s of salts)
                assert.ok(!/['"\\ ]/.test(s.inputs.overrideSpecial) && s.inputs.length >= 64, s.name);
            for (const n of NODES) {
                const c = cmd(webStepIds.wordpress(n));
                assert.ok(isSecretWrapped(c.inputs.stdin), `${c.name} stdin is secret`);
                const t = String(unwrapSecret(c.inputs.create));
                const stdin = Object.fromEntries(
                    String(unwrapSecret(c.inputs.stdin))
                        .trim()
                        .split("\n")
                        .map(l => l.split(" "))
                        .map(([k, v]) => [k, Buffer.from(v, "base64").toString()]),
                );
                assert.strictEqual(param(t, "DB_HOST"), "web-db.c0ffee.us-east-1.rds.amazonaws.com:3306");
                assert.strictEqual(param(t, "DB_USER"), "wordpress");
                assert.strictEqual(stdin.DB_PASSWORD, pw);
                assert.deepStrictEqual(
                    stdin.WP_SALTS.split(" "),
                    salts.map(s => s.state.result),
                );
                assert.strictEqual(param(t, "WEB_ROOT"), webRootOf("/var/www/html"));
                assert.strictEqual(param(t, "STATE_DIR"), stateDirOf("/var/www/html"));
                assert.strictEqual(param(t, "SOURCE"), "debian");
            }
            assert.ok(isSecretWrapped(cmd(webStepIds.site).inputs.stdin));
        });

        it("never shows the database password, a salt or the admin password outside a secret", async () => {
            const secrets = rt
                .byType("random:index/randomPassword:RandomPassword")
                .filter(r => r.name.startsWith("web-"))
                .map(r => r.state.result as string);
            assert.strictEqual(secrets.length, 11);
            const leaks: string[] = [];
            const walk = (v: unknown, where: string) => {
                if (isSecretWrapped(v)) return;
                if (typeof v === "string" && secrets.some(s => v.includes(s))) leaks.push(where);
                else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${where}[${i}]`));
                else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, `${where}.${k}`);
            };
            for (const r of rt.resources)
                if (r.type !== "random:index/randomPassword:RandomPassword") walk(r.inputs, r.name);
            for (const [k, v] of Object.entries(program))
                if (k !== "wordpressAdminPassword") walk(await valueOf(v as any), `output ${k}`);
            assert.deepStrictEqual(leaks, []);
            assert.strictEqual(await (program.wordpressAdminPassword as any).isSecret, true);
        });
    });

    it("exports the site URL, the load balancer's name, the database endpoint and the node addresses", async () => {
        assert.strictEqual(
            await valueOf(program.loadBalancerDnsName),
            "web-nlb-0123456789.elb.us-east-1.amazonaws.com",
        );
        assert.strictEqual(await valueOf(program.siteUrl), "http://web-nlb-0123456789.elb.us-east-1.amazonaws.com");
        assert.strictEqual(await valueOf(program.dbEndpoint), "web-db.c0ffee.us-east-1.rds.amazonaws.com:3306");
        assert.strictEqual((await valueOf<string[]>(program.privateIps)).length, 3);
        assert.strictEqual(program.wordpressAdminUser, "wpadmin");
    });
});

describe("WordPressTier built with the dev stack's settings and a certificate (mocks)", () => {
    let rt: Runtime;
    const prefix = "tdev";

    before(async () => {
        rt = await pulumiRuntime();
        await loadProgram(); // the program's resources first: other tests look at the first of each kind
        const dev = validateWebConfig(effectiveConfig("dev"));
        const dep = (id: string) => new random.RandomPet(`${prefix}-dep-${id}`, {});
        new WordPressTier(prefix, {
            cluster: {
                nodes: NODES.map((n, i) => ({
                    name: n,
                    zone: "us-east-1a",
                    instanceId: pulumi.output(`i-0dev${i}`),
                    privateIp: pulumi.output(`10.40.0.${i + 1}`),
                    sshHost: `192.0.2.${i + 1}`,
                    hostKey: "ssh-ed25519 AAAAdev",
                    installed: dep(`install-${n}`).id,
                    mounted: dep(`mount-${n}`).id,
                })),
                securityGroupId: pulumi.output("sg-0devnodes"),
                mountPoint: "/srv/site",
                architecture: "x86_64",
            },
            ssh: { user: "admin", privateKey: "test-key" },
            vpcId: "vpc-0dev",
            subnetIds: ["subnet-0a", "subnet-0b", "subnet-0b"],
            database: { ...dev.db, backupRetentionDays: 1 },
            source: { kind: "tarball", url: "https://wordpress.org/wordpress-6.8.3.tar.gz", sha256: "ab".repeat(32) },
            siteUrl: "https://www.example.com",
            siteTitle: "t",
            adminUser: "wpadmin",
            adminEmail: "a@example.com",
            certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/0b5c1f9e-1111-2222-3333-444455556666",
            webIngressCidr: "198.51.100.0/24",
            varnishCacheSize: "128m",
            tags: { project: "ha-wordpress", stack: "prod" },
        });
        await settle();
    });

    it("dev: single-AZ, no deletion protection, no final snapshot, a day of backups", () => {
        const i = rt.byType("aws:rds/instance:Instance").find(r => r.name === `${prefix}-db`)!.inputs;
        assert.deepStrictEqual(
            [i.multiAz, i.deletionProtection, i.skipFinalSnapshot, i.finalSnapshotIdentifier, i.backupRetentionPeriod],
            [false, false, true, undefined, 1],
        );
        assert.strictEqual(i.storageEncrypted, true, "encrypted in dev too");
    });

    it("adds a TLS listener on 443 with the certificate, forwarding to Varnish's :81 on the instances", () => {
        const https = rt.byName(`${prefix}-https`).inputs;
        assert.deepStrictEqual(
            [https.port, https.protocol, https.certificateArn],
            [443, "TLS", "arn:aws:acm:us-east-1:123456789012:certificate/0b5c1f9e-1111-2222-3333-444455556666"],
        );
        const tg = rt.byName(`${prefix}-tg81`).inputs;
        assert.deepStrictEqual(
            [tg.port, tg.protocol, tg.targetType, tg.preserveClientIp],
            [81, "TCP", "instance", "true"],
        );
        assert.strictEqual(
            rt
                .byType("aws:lb/targetGroupAttachment:TargetGroupAttachment")
                .filter(a => a.name.startsWith(`${prefix}-tg81-`)).length,
            3,
        );
    });

    it("admits the site's range at the load balancer only; the nodes take 80 and 81 from the load balancer's group", () => {
        const lbSg = rt.byName(`${prefix}-nlb`).inputs.securityGroups;
        assert.strictEqual(lbSg.length, 1);
        const nodeRules = rt
            .byType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
            .filter(r => r.name.startsWith(`${prefix}-`) && r.inputs.securityGroupId === "sg-0devnodes");
        assert.deepStrictEqual(
            nodeRules
                .map(r => `${r.inputs.cidrIpv4 ?? r.inputs.referencedSecurityGroupId}/${r.inputs.fromPort}`)
                .sort(),
            [`${lbSg[0]}/80`, `${lbSg[0]}/81`],
        );
        const lbRules = rt
            .byType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
            .filter(r => r.name.startsWith(`${prefix}-`) && r.inputs.securityGroupId === lbSg[0]);
        assert.deepStrictEqual(lbRules.map(r => `${r.inputs.cidrIpv4}/${r.inputs.fromPort}`).sort(), [
            "198.51.100.0/24/443",
            "198.51.100.0/24/80",
        ]);
    });

    it("drops duplicate subnets (two nodes sharing a zone) for the load balancer and the subnet group", () => {
        assert.deepStrictEqual(rt.byName(`${prefix}-nlb`).inputs.subnets, ["subnet-0a", "subnet-0b"]);
        assert.deepStrictEqual(
            rt.byType("aws:rds/subnetGroup:SubnetGroup").find(g => g.name === `${prefix}-db`)!.inputs.subnetIds,
            ["subnet-0a", "subnet-0b"],
        );
    });

    it("passes the pinned tarball, its checksum and the fixed site URL to the steps", () => {
        const t = String(unwrapSecret(rt.byName(`${prefix}-wordpress-node-gfs3`).inputs.create));
        assert.strictEqual(param(t, "SOURCE"), "tarball");
        assert.strictEqual(param(t, "TARBALL_SHA256"), "ab".repeat(32));
        assert.strictEqual(param(t, "SITE_URL"), "https://www.example.com");
        assert.strictEqual(param(t, "WEB_ROOT"), "/srv/site/wordpress");
        const pkgs = param(
            String(unwrapSecret(rt.byName(`${prefix}-web-packages-node-gfs1`).inputs.create)),
            "PACKAGES",
        ).split(" ");
        assert.ok(!pkgs.includes("wordpress"), "no Debian WordPress package with a tarball");
        assert.ok(pkgs.includes("varnish") && pkgs.includes("php8.2-mysql"));
    });

    it("re-runs every step on a replaced instance (the instance id is a trigger)", () => {
        const c = rt.byName(`${prefix}-varnish-node-gfs2`);
        assert.deepStrictEqual(c.inputs.triggers, ["i-0dev1"]);
        assert.strictEqual(param(String(c.inputs.create), "TLS_PORT"), "81");
        assert.strictEqual(param(String(c.inputs.create), "HTTPS_REDIRECT"), "1");
        assert.strictEqual(
            param(String(rt.byName(`${prefix}-wordpress-node-gfs1`).inputs.create), "FORCE_SSL_ADMIN"),
            "1",
        );
    });

    it("refuses to let WordPress use the master user", () => {
        assert.throws(
            () =>
                new WordPressTier(`${prefix}-bad`, {
                    cluster: {
                        nodes: [],
                        securityGroupId: pulumi.output("sg"),
                        mountPoint: "/m",
                        architecture: "x86_64",
                    },
                    ssh: { user: "admin", privateKey: "k" },
                    vpcId: "v",
                    subnetIds: [],
                    database: { ...validateWebConfig({}).db, appUser: "dbmaster" },
                    source: { kind: "debian" },
                    siteUrl: "",
                    siteTitle: "t",
                    adminUser: "a",
                    adminEmail: "a@b.c",
                    webIngressCidr: "0.0.0.0/0",
                    varnishCacheSize: "1m",
                }),
            /at least one node|must differ from the master user/,
        );
    });
});
