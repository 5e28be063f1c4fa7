// Issue 10 under mocks: each block is one numbered point; every test failed on the code before the fix.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import {
    Recorded,
    REPO,
    Runtime,
    isSecretWrapped,
    loadProgram,
    pulumiRuntime,
    settle,
    unwrapSecret,
    valueOf,
} from "./support/pulumiRuntime";
import { Network } from "../../components/network";
import { executableProblem, JAILWATCH_BUILDS } from "../../components/elf";
import { readNodeExecutable } from "../../components/fail2banJail";
import { validateConfig } from "../../components/config";
import { jailStepIds } from "../../components/fail2banPlan";
import { webStepIds } from "../../components/wordpressPlan";

const NODES = ["node-gfs1", "node-gfs2", "node-gfs3"];
const CMD = "command:remote:Command";
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n";
const OPTS = { secretKeys: ["sshPrivateKey"] };
const base = { adminCidr: "198.51.100.7/32", keyName: "k", sshPrivateKey: KEY };

describe("issue 10 (mocks)", () => {
    let rt: Runtime;
    before(async () => {
        rt = await pulumiRuntime();
        await loadProgram();
    });

    describe("1. S3 endpoint on the nodes' route table, binary step after policy and endpoint", () => {
        it("routes the endpoint through Network's own route table (a dependency, not a lookup)", () => {
            const endpoint = rt.byType("aws:ec2/vpcEndpoint:VpcEndpoint")[0];
            assert.ok(endpoint.deps.includes("net-public"), `endpoint deps: ${endpoint.deps}`);
            assert.deepStrictEqual(endpoint.inputs.routeTableIds, [rt.byName("net-public").id]);
            assert.ok(
                !rt.calls.some(c => c.token === "aws:ec2/getRouteTables:getRouteTables"),
                "no lookup of the VPC's tables",
            );
        });

        it("runs every binary step only after the bucket policy and the endpoint exist", () => {
            for (const n of NODES) {
                const deps = rt.byName(`jail-${jailStepIds.binary(n)}`).deps;
                assert.ok(deps.includes("jail-artifacts") && deps.includes("net-s3"), `${n}: ${deps}`);
                assert.ok(
                    rt.resources.some(
                        r => r.name === "jail-artifacts" && r.type === "aws:s3/bucketPolicy:BucketPolicy",
                    ),
                );
            }
        });

        it("reuses an existing VPC's own S3 gateway endpoint instead of adding a second (RouteAlreadyExists)", async () => {
            const withEp = new Network("t-net-own", {
                region: "us-east-1",
                zones: ["us-east-1a"],
                vpcCidr: "10.0.0.0/16",
                existing: {
                    vpcId: "vpc-05e0000000000001",
                    subnetIds: ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"],
                },
            });
            const without = new Network("t-net-none", {
                region: "us-east-1",
                zones: ["us-east-1a"],
                vpcCidr: "10.0.0.0/16",
                existing: {
                    vpcId: "vpc-0000000000000002",
                    subnetIds: ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"],
                },
            });
            assert.strictEqual(await valueOf(withEp.s3EndpointId), "vpce-0existing00000001");
            await settle();
            assert.ok(!rt.resources.some(r => r.name === "t-net-own-s3"), "no second endpoint");
            const made = rt.byName("t-net-none-s3");
            assert.deepStrictEqual(made.inputs.routeTableIds, ["rtb-0aaaaaaaaaaaaaaa1", "rtb-0bbbbbbbbbbbbbbb2"]);
            assert.strictEqual(await valueOf(without.s3EndpointId), made.id);
        });
    });

    describe("2. the binary matches the nodes", () => {
        const stub = (arch: string) =>
            fs.readFileSync(path.join(REPO, `tests/unit/fixtures/jailwatch-linux-${arch}.stub`));
        it("checks the ELF header and machine before upload, and names what it found", () => {
            assert.strictEqual(executableProblem(stub("x64"), "x86_64"), undefined);
            assert.strictEqual(executableProblem(stub("arm64"), "arm64"), undefined);
            assert.match(
                executableProblem(stub("x64"), "arm64")!,
                /ELF64 LE x86_64, the nodes need a Linux ELF64 LE arm64/,
            );
            assert.match(executableProblem(Buffer.from([0xcf, 0xfa, 0xed, 0xfe, 0, 0, 0, 0]), "x86_64")!, /Mach-O/);
            assert.throws(
                () => readNodeExecutable(path.join(REPO, "tests/unit/fixtures/jailwatch-linux-x64.stub"), "arm64"),
                /arm64 instances.*npm run build/,
            );
        });
        it("picks the build by the instance architecture (Graviton -> arm64)", () => {
            assert.deepStrictEqual(JAILWATCH_BUILDS, {
                x86_64: "dist/jailwatch-linux-x64",
                arm64: "dist/jailwatch-linux-arm64",
            });
            assert.strictEqual(validateConfig({ ...base, instanceType: "m7g.large" }, OPTS).architecture, "arm64");
            const build = fs.readFileSync(path.join(REPO, "scripts/build/jailwatch.sh"), "utf8");
            assert.match(build, /node-linux-\$\{arch\}@\$\{NODE_VERSION\}/);
            assert.match(build, /for arch in x64 arm64/);
        });
    });

    describe("3. zone-redundant by default", () => {
        it("defaults to three distinct zones and warns, naming the zone, when one holds a majority", () => {
            assert.deepStrictEqual(validateConfig(base, OPTS).warnings, []);
            assert.strictEqual(new Set(validateConfig(base, OPTS).azs).size, 3);
            const seed = validateConfig(
                { ...base, azs: JSON.stringify(["us-east-1b", "us-east-1d", "us-east-1d"]) },
                { ...OPTS, locate: () => "Pulumi.prod.yaml:9" },
            );
            assert.strictEqual(seed.warnings.length, 1);
            assert.match(
                seed.warnings[0],
                /^Pulumi\.prod\.yaml:9: ha-wordpress:azs: zone us-east-1d holds 2 of 3 nodes \(node-gfs2, node-gfs3\)/,
            );
        });
    });

    describe("4. safe replacement", () => {
        const instance = (n: string) => rt.byType("aws:ec2/instance:Instance").find(i => i.inputs.tags.Name === n)!;
        it("detaches a brick before attaching it elsewhere (deleteBeforeReplace)", () => {
            for (const n of NODES)
                assert.strictEqual(rt.byName(`gluster-${n}-brick-attachment`).deleteBeforeReplace, true, n);
        });
        it("does not replace every node on a keyName change (nor stop them all on user data)", () => {
            for (const n of NODES)
                for (const k of ["keyName", "userData", "ami"])
                    assert.ok(instance(n).ignoreChanges.includes(k), `${n} ${k}`);
        });
        it("rolls instance changes: node i+1 waits for node i's heal gate, which re-runs when node i changes", () => {
            for (let i = 1; i < NODES.length; i++) {
                assert.ok(
                    instance(NODES[i]).deps.includes(`gluster-healed-${NODES[i - 1]}`),
                    `${NODES[i]} after ${NODES[i - 1]} healed`,
                );
            }
            const gate = rt.byName("gluster-healed-node-gfs1");
            assert.deepStrictEqual(gate.inputs.triggers, [instance("node-gfs1").id, "m6i.large"]);
            assert.match(String(gate.inputs.create), /HA_STEP=gluster\/healed.sh/);
        });
    });

    describe("5. the database is never silently emptied", () => {
        it("defaults to MySQL 8.4 when the stack file names no version (8.0 costs Extended Support)", () => {
            const { validateWebConfig } = require("../../components/webConfig");
            assert.strictEqual(validateWebConfig({}).db.engineVersion, "8.4");
        });
    });

    describe("6. the bricks accept only the nodes (auth.allow)", () => {
        it("gives the volume step every node's private address, and the step allows exactly those", () => {
            const ips = NODES.map(n =>
                String(rt.byType("aws:ec2/instance:Instance").find(i => i.inputs.tags.Name === n)!.state.privateIp),
            );
            const text = String(rt.byName("gluster-volume").inputs.create);
            ips.forEach((ip, i) =>
                assert.ok(
                    text.includes(`NODE_IP_${i + 1}=${ip}`) || text.includes(`NODE_IP_${i + 1}='${ip}'`),
                    `volume step carries ${ip}`,
                ),
            );
            // A replaced node (new address) changes the step's text, so the allow list follows it before the node mounts.
            assert.ok(
                rt.byName("gluster-mount-node-gfs2").deps.includes("gluster-volume"),
                "mount after the volume step",
            );
            const script = fs.readFileSync(path.join(REPO, "scripts/gluster/volume.sh"), "utf8");
            assert.match(script, /^set_option auth\.allow "\$clients"$/m);
        });
    });

    describe("7. no secret outside Pulumi secrets", () => {
        const secretValues = () => [
            ...rt.resources
                .filter(r => r.type === "random:index/randomPassword:RandomPassword")
                .map(r => String(r.state.result)),
            ...rt.resources
                .filter(r => r.type === "tls:index/privateKey:PrivateKey")
                .map(r => String(r.state.privateKeyOpenssh)),
        ];
        it("a failing step's error (pulumi-command prints the command text) carries no secret", () => {
            // Run the site step's real text and stdin; it fails at its first check (no wp-config.php here).
            const c = rt.byName(`web-${webStepIds.site}`);
            const create = String(unwrapSecret(c.inputs.create));
            const r = spawnSync("bash", ["-c", create], {
                input: String(unwrapSecret(c.inputs.stdin)),
                encoding: "utf8",
            });
            assert.notStrictEqual(r.status, 0);
            const error = `Process exited with status ${r.status}: running "${create}":\n${r.stdout}\n${r.stderr}`;
            assert.match(error, /step web\/wp-site.sh failed/);
            for (const s of secretValues()) assert.ok(!error.includes(s), "a secret value in the error");
            assert.ok(!isSecretWrapped(c.inputs.create), "the text need not be secret");
        });
        it("puts no secret in any step's command text, which pulumi-command prints when the step fails", () => {
            const values = secretValues();
            for (const c of rt.byType(CMD)) {
                const text = String(unwrapSecret(c.inputs.create));
                assert.ok(
                    !isSecretWrapped(c.inputs.create),
                    `${c.name}: its text became secret, so a secret reached it`,
                );
                for (const v of values)
                    assert.ok(
                        !text.includes(v) && !text.includes(Buffer.from(v).toString("base64")),
                        `${c.name}: a secret in its text`,
                    );
            }
        });
        it("holds no secret value anywhere in state outside secret fields", () => {
            const values = secretValues();
            assert.ok(values.length >= 15);
            const secretFields = new Set(["result", "privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8"]);
            const leaks: string[] = [];
            const walk = (v: unknown, where: string) => {
                if (isSecretWrapped(v)) return;
                if (
                    typeof v === "string" &&
                    values.some(s => v.includes(s) || v.includes(Buffer.from(s).toString("base64")))
                )
                    leaks.push(where);
                else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${where}[${i}]`));
                else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, `${where}.${k}`);
            };
            for (const r of rt.resources) {
                const keep = (o: Record<string, unknown>) =>
                    Object.fromEntries(
                        Object.entries(o).filter(
                            ([k]) =>
                                !(secretFields.has(k) && (r.type.startsWith("random:") || r.type.startsWith("tls:"))) &&
                                !r.additionalSecretOutputs.includes(k),
                        ),
                    );
                walk(keep(r.inputs), `${r.name} inputs`);
                walk(keep(r.state), `${r.name} state`);
            }
            assert.deepStrictEqual(leaks, []);
        });
        it("asks for a SHA-256 and HTTPS with a SQL dump", () => {
            const { validateWebConfig } = require("../../components/webConfig");
            assert.throws(() => validateWebConfig({ sqlDumpUrl: "http://x/site.sql" }), /https:\/\/.*sqlDumpSha256/s);
        });
    });

    describe("8. SSH host keys pinned", () => {
        it("generates each node's key, installs it at first boot and pins it in every connection", () => {
            for (const n of NODES) {
                const key = rt.byName(`gluster-${n}-host-key`);
                assert.strictEqual(key.inputs.algorithm, "ED25519");
                const inst = rt.byType("aws:ec2/instance:Instance").find(i => i.inputs.tags.Name === n)!;
                assert.ok(isSecretWrapped(inst.inputs.userData), "user data (the host key) is secret");
                const ud = String(unwrapSecret(inst.inputs.userData));
                assert.match(ud, /^#cloud-config\n/);
                assert.strictEqual(
                    JSON.parse(ud.slice(ud.indexOf("\n") + 1)).ssh_keys.ed25519_private,
                    key.state.privateKeyOpenssh,
                );
                const cmds = rt
                    .byType(CMD)
                    .filter(c => (unwrapSecret(c.inputs.connection) as any).host === inst.state.publicIp);
                assert.ok(cmds.length >= 10);
                for (const c of cmds)
                    assert.strictEqual(
                        (unwrapSecret(c.inputs.connection) as any).hostKey,
                        key.state.publicKeyOpenssh.trim(),
                        c.name,
                    );
            }
        });
    });

    describe("10. smaller", () => {
        it("re-runs the brick step when the volume grows, and the step grows XFS", () => {
            const vol = rt.byType("aws:ebs/volume:Volume").find(v => v.inputs.tags.Name === "node-gfs1-brick")!;
            assert.ok((rt.byName("gluster-brick-node-gfs1").inputs.triggers as unknown[]).includes(vol.inputs.size));
            assert.match(
                fs.readFileSync(path.join(REPO, "scripts/gluster/brick.sh"), "utf8"),
                /xfs_growfs "\$mount_point"/,
            );
        });
        it("uses no deprecated S3 resources", () => {
            const s3 = rt.resources.filter((r: Recorded) => r.type.startsWith("aws:s3/")).map(r => r.type);
            assert.ok(s3.includes("aws:s3/bucket:Bucket"));
            assert.ok(!s3.some(t => /BucketV2|ConfigurationV2/.test(t)), s3.join(", "));
        });
        it("defaults network.ping-timeout to 10 s, the value the ping-timeout bench chose (stall ~2x, no false disconnect at 5)", () => {
            assert.strictEqual(validateConfig(base, OPTS).pingTimeout, 10);
            assert.match(String(rt.byName("gluster-volume").inputs.create), / PING_TIMEOUT=10 /);
            const bench = fs.readFileSync(path.join(REPO, "bench/pingTimeout.ts"), "utf8");
            assert.match(bench, /^const DEFAULT_PING_TIMEOUT = 10;$/m, "the bench judges the default the stack uses");
        });
    });
});
