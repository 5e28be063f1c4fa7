// Fail2BanJail in the prod stack under mocks: the binary shipped once through S3, the jail steps, shared bans.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import {
    Recorded,
    REPO,
    Runtime,
    isSecretWrapped,
    loadProgram,
    pulumiRuntime,
    unwrapSecret,
    valueOf,
} from "./support/pulumiRuntime";
import {
    SEED_XMLRPC_JAIL,
    WEB_NODE_PORTS,
    configSha256,
    defaultJails,
    encodeBundle,
    fail2banPlan,
    jailOverridesText,
    jailStepIds,
    sha256,
    shippedConfig,
    unitFile,
} from "../../components/fail2banPlan";

const NODES = ["node-gfs1", "node-gfs2", "node-gfs3"];
const CMD = "command:remote:Command";
const STUB = path.join(REPO, "tests/unit/fixtures/jailwatch-linux-x64.stub");

/** A parameter's value in a rendered command text (`NAME=value` or `NAME='value'`). */
function param(text: string, name: string): string {
    const m = new RegExp(`(?:^| )${name}=('(?:[^']|'\\\\'')*'|\\S*)`).exec(text);
    assert.ok(m, `${name} in command text`);
    const v = m[1];
    return v.startsWith("'") ? v.slice(1, -1).replace(/'\\''/g, "'") : v;
}
const text = (c: Recorded) => String(unwrapSecret(c.inputs.create));

describe("Fail2BanJail in the prod stack (mocks)", () => {
    let rt: Runtime;
    let program: Record<string, any>;
    let commands: Recorded[];
    const cmd = (step: string) => rt.byName(`jail-${step}`);

    before(async () => {
        rt = await pulumiRuntime();
        program = await loadProgram();
        commands = rt.byType(CMD).filter(c => c.name.startsWith("jail-"));
    });

    it("declares binary, config and service steps on every node", () => {
        const want = NODES.flatMap(n => [jailStepIds.binary(n), jailStepIds.config(n), jailStepIds.service(n)]).sort();
        assert.deepStrictEqual(commands.map(c => c.name.replace(/^jail-/, "")).sort(), want);
        for (const c of commands) {
            assert.ok(isSecretWrapped(c.inputs.connection), `${c.name} connection secret`);
            assert.strictEqual(c.inputs.addPreviousOutputInEnv, false);
            assert.strictEqual(c.inputs.delete, undefined, `${c.name}: removing the stack never touches the host`);
        }
    });

    it("uploads the binary once, keyed by its SHA-256, into a private encrypted bucket", () => {
        const hash = sha256(fs.readFileSync(STUB));
        const objects = rt.byType("aws:s3/bucketObjectv2:BucketObjectv2");
        assert.strictEqual(objects.length, 1, "one object for three nodes");
        assert.strictEqual(objects[0].inputs.key, `jailwatch/${hash}/jailwatch`);
        assert.strictEqual(objects[0].inputs.serverSideEncryption, "AES256");
        const block = rt.byType("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")[0].inputs;
        assert.deepStrictEqual(
            [block.blockPublicAcls, block.blockPublicPolicy, block.ignorePublicAcls, block.restrictPublicBuckets],
            [true, true, true, true],
        );
        const sse = rt.byType(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        )[0].inputs;
        assert.strictEqual(sse.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm, "AES256");
        assert.strictEqual(program.jailwatchSha256, hash);
    });

    it("lets the nodes read it only through the VPC's S3 gateway endpoint, over TLS", () => {
        const endpoint = rt.byType("aws:ec2/vpcEndpoint:VpcEndpoint")[0];
        assert.strictEqual(endpoint.inputs.vpcEndpointType, "Gateway");
        assert.strictEqual(endpoint.inputs.serviceName, "com.amazonaws.us-east-1.s3");
        assert.deepStrictEqual(
            endpoint.inputs.routeTableIds,
            [rt.byName("net-public").id],
            "the nodes' own route table, from Network",
        );
        const policy = JSON.parse(rt.byType("aws:s3/bucketPolicy:BucketPolicy")[0].inputs.policy);
        const allow = policy.Statement.filter((s: any) => s.Effect === "Allow");
        assert.strictEqual(allow.length, 1);
        assert.strictEqual(allow[0].Action, "s3:GetObject");
        assert.match(allow[0].Resource, /\/jailwatch\/\*$/);
        assert.deepStrictEqual(allow[0].Condition, { StringEquals: { "aws:SourceVpce": endpoint.id } });
        const deny = policy.Statement.find((s: any) => s.Effect === "Deny");
        assert.deepStrictEqual(deny.Condition, { Bool: { "aws:SecureTransport": "false" } });
    });

    it("has every node fetch that object and verify its hash", () => {
        const hash = sha256(fs.readFileSync(STUB));
        for (const n of NODES) {
            const t = text(cmd(jailStepIds.binary(n)));
            assert.strictEqual(param(t, "BINARY_SHA256"), hash);
            assert.strictEqual(
                param(t, "BINARY_URL"),
                `https://jail-artifacts-bucket.s3.us-east-1.amazonaws.com/jailwatch/${hash}/jailwatch`,
            );
        }
    });

    it("opens the peer port only between members of the nodes' group", () => {
        const sgId = rt.byType("aws:ec2/securityGroup:SecurityGroup").find(s => s.name === "gluster-nodes")!.id;
        const peer = rt
            .byType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
            .filter(r => r.inputs.fromPort === 7478);
        assert.strictEqual(peer.length, 1);
        assert.deepStrictEqual(
            [
                peer[0].inputs.securityGroupId,
                peer[0].inputs.referencedSecurityGroupId,
                peer[0].inputs.toPort,
                peer[0].inputs.cidrIpv4,
            ],
            [sgId, sgId, 7478, undefined],
        );
    });

    it("gives each node the other two as peers, the shared secret (on stdin, secret), and the VPC CIDR as ignoreip", () => {
        const instances = rt.byType("aws:ec2/instance:Instance");
        const ip = (n: string) => instances.find(i => i.inputs.tags.Name === n)!.state.privateIp;
        const secret = rt
            .byType("random:index/randomPassword:RandomPassword")
            .find(r => r.name === "jail-peer-secret")!;
        for (const n of NODES) {
            const c = cmd(jailStepIds.config(n));
            assert.ok(!isSecretWrapped(c.inputs.create), `${c.name} text carries no secret, so it need not be one`);
            assert.ok(isSecretWrapped(c.inputs.stdin), `${c.name} stdin (the peer secret) is secret`);
            const t = text(c);
            assert.ok(!t.includes(secret.state.result), "the peer secret is not in the command text");
            assert.deepStrictEqual(
                param(t, "PEERS").split(" ").sort(),
                NODES.filter(o => o !== n)
                    .map(ip)
                    .sort(),
            );
            assert.strictEqual(param(t, "PEER_LISTEN"), ip(n));
            assert.strictEqual(param(t, "PEER_PORT"), "7478");
            assert.strictEqual(
                String(unwrapSecret(c.inputs.stdin)),
                `PEER_SECRET ${Buffer.from(secret.state.result).toString("base64")}\n`,
            );
            assert.strictEqual(param(t, "IGNORE_IP"), "10.20.0.0/16");
        }
        assert.ok(secret.inputs.length >= 32);
    });

    it("ships the seed's jail: 20 POSTs in 120 s ban for 43200 s, on 80, 81 (TLS listener) and 443", () => {
        const overrides = param(text(cmd(jailStepIds.config("node-gfs2"))), "JAIL_OVERRIDES");
        assert.match(
            overrides,
            /\[nginx-wp-xmlrpc\]\nport = http,https,81\nmaxretry = 20\nfindtime = 120\nbantime = 43200/,
        );
        const files = param(text(cmd(jailStepIds.config("node-gfs2"))), "FILES")
            .split("\n")
            .map(l => l.split(" ")[0]);
        assert.ok(
            files.includes("filter.d/nginx-wp-xmlrpc.conf") && files.includes("jail.d/01-nginx-wp-xmlrpc.conf"),
            files.join(","),
        );
        const jail = Buffer.from(
            param(text(cmd(jailStepIds.config("node-gfs2"))), "FILES")
                .split("\n")
                .find(l => l.startsWith("jail.d/01-nginx-wp-xmlrpc.conf "))!
                .split(" ")[1],
            "base64",
        ).toString();
        assert.match(jail, /maxretry = 20/);
        assert.strictEqual(WEB_NODE_PORTS, "http,https,81");
    });

    it("orders the steps: Nginx (log exists) -> binary -> config -> service, per node", () => {
        for (const n of NODES) {
            assert.ok(
                cmd(jailStepIds.binary(n)).deps.includes(`web-nginx-${n}`),
                `binary-${n} after nginx: ${cmd(jailStepIds.binary(n)).deps}`,
            );
            assert.ok(cmd(jailStepIds.config(n)).deps.includes(`jail-${jailStepIds.binary(n)}`));
            assert.ok(cmd(jailStepIds.service(n)).deps.includes(`jail-${jailStepIds.config(n)}`));
            // The binary step also waits for the uploaded object (its URL is one of the object's outputs).
            assert.ok(cmd(jailStepIds.binary(n)).deps.includes("jail-jailwatch"), `binary-${n} after the S3 object`);
        }
    });

    it("triggers each step on the content hashes it deploys (and on its instance)", () => {
        const binHash = sha256(fs.readFileSync(STUB));
        const cfgHash = configSha256(
            encodeBundle(shippedConfig()),
            jailOverridesText(defaultJails(SEED_XMLRPC_JAIL)),
            unitFile(),
        );
        const instances = rt.byType("aws:ec2/instance:Instance");
        for (const n of NODES) {
            const instanceId = instances.find(i => i.inputs.tags.Name === n)!.id;
            assert.deepStrictEqual(cmd(jailStepIds.binary(n)).inputs.triggers, [instanceId, binHash]);
            assert.deepStrictEqual(cmd(jailStepIds.config(n)).inputs.triggers, [instanceId, cfgHash]);
            const service = (unwrapSecret(cmd(jailStepIds.service(n)).inputs.triggers) as unknown[]).map(unwrapSecret);
            assert.deepStrictEqual(service.slice(0, 3), [instanceId, binHash, cfgHash]);
            assert.strictEqual(
                service[3],
                sha256(text(cmd(jailStepIds.config(n)))),
                "and on this node's whole config text (peers)",
            );
            const secret = rt
                .byType("random:index/randomPassword:RandomPassword")
                .find(r => r.name === "jail-peer-secret")!;
            assert.strictEqual(service[4], secret.state.result, "and on the peer secret (a secret trigger)");
            assert.ok(
                isSecretWrapped(cmd(jailStepIds.service(n)).inputs.triggers),
                "triggers holding the secret are secret",
            );
            assert.match(
                param(text(cmd(jailStepIds.service(n))), "DEPLOY_ID"),
                new RegExp(`binary=${binHash.slice(0, 16)} config=${cfgHash.slice(0, 16)}`),
            );
        }
    });

    it("never shows the peer secret outside a secret", async () => {
        const secret = rt.byType("random:index/randomPassword:RandomPassword").find(r => r.name === "jail-peer-secret")!
            .state.result;
        const leaks: string[] = [];
        const walk = (v: unknown, where: string) => {
            if (isSecretWrapped(v)) return;
            if (typeof v === "string" && v.includes(secret)) leaks.push(where);
            else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${where}[${i}]`));
            else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, `${where}.${k}`);
        };
        for (const r of rt.resources)
            if (r.type !== "random:index/randomPassword:RandomPassword") walk(r.inputs, r.name);
        for (const [k, v] of Object.entries(program)) walk(await valueOf(v as any), `output ${k}`);
        assert.deepStrictEqual(leaks, []);
    });
});

describe("fail2banPlan (pure)", () => {
    const args = {
        nodes: ["a", "b"],
        addresses: { a: "10.0.0.1", b: "10.0.0.2" },
        peers: { a: "10.0.0.2", b: "10.0.0.1" },
        peerSecret: "s3cret",
        binaryUrl: "https://x/jailwatch",
        binarySha256: "a".repeat(64),
        ignoreIp: "10.0.0.0/16",
    };

    it("rejects a binary hash that is not SHA-256 and a privileged peer port", () => {
        assert.throws(() => fail2banPlan({ ...args, binarySha256: "abc" }), /binarySha256 must be 64 hex digits/);
        assert.throws(() => fail2banPlan({ ...args, peerPort: 80 }), /peerPort 80 must be 1024-65535/);
    });

    it("round-trips every shipped config file through the FILES bundle", () => {
        const files = shippedConfig();
        assert.ok(Object.keys(files).length >= 4);
        const bundle = encodeBundle(files);
        for (const line of bundle.split("\n")) {
            const [rel, b64] = line.split(" ");
            assert.strictEqual(Buffer.from(b64, "base64").toString("utf8"), files[rel], rel);
        }
        assert.throws(() => encodeBundle({ "../etc/passwd": "x" }), /bad config path/);
    });

    it("changes the config hash when, and only when, the config changes", () => {
        const bundle = encodeBundle(shippedConfig()),
            unit = unitFile();
        const base = configSha256(bundle, jailOverridesText(defaultJails()), unit);
        assert.strictEqual(configSha256(bundle, jailOverridesText(defaultJails()), unit), base);
        assert.notStrictEqual(
            configSha256(bundle, jailOverridesText(defaultJails({ ...SEED_XMLRPC_JAIL, maxretry: 10 })), unit),
            base,
        );
        assert.notStrictEqual(configSha256(bundle + "\n", jailOverridesText(defaultJails()), unit), base);
    });

    it("refuses jail overrides that would write a broken jail.local", () => {
        assert.throws(() => jailOverridesText({ "x y": {} }), /jail name/);
        assert.throws(() => jailOverridesText({ j: { maxretry: 0 } }), /maxretry must be a positive whole number/);
        assert.throws(() => jailOverridesText({ j: { port: "80; rm -rf /" } }), /not a port list/);
        assert.strictEqual(jailOverridesText({ j: { bantime: -1 } }), "[j]\nbantime = -1");
    });
});
