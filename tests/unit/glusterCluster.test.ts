// The prod stack under Pulumi mocks: what index.ts + GlusterCluster would ask AWS for, and the order of host steps.
import * as assert from "assert";
import {
    Recorded,
    Runtime,
    TEST_PRIVATE_KEY,
    isSecretWrapped,
    loadProgram,
    pulumiRuntime,
    unwrapSecret,
    valueOf,
} from "./support/pulumiRuntime";
import { glusterPlan } from "../../components/glusterPlan";
import { renderStep } from "../../components/hostStep";

const NODES = ["node-gfs1", "node-gfs2", "node-gfs3"];
const CMD = "command:remote:Command";

describe("prod stack under mocks (index.ts + GlusterCluster)", function () {
    let rt: Runtime;
    let program: Record<string, any>;
    let commands: Recorded[];
    const stepOf = (r: Recorded) => r.name.replace(/^gluster-/, "");
    /** Resources index.ts declared (other test files build their own components, named t-*, in the same runtime). */
    const programResources = () => rt.resources.filter(r => !r.name.startsWith("t-"));
    /** Resources of the program's GlusterCluster (other tests may construct more clusters in the same runtime). */
    const own = (type: string) => rt.byType(type).filter(r => r.parent === "gluster");

    before(async () => {
        rt = await pulumiRuntime();
        program = await loadProgram();
        commands = rt.byType(CMD).filter(c => c.parent === "gluster");
    });

    it("declares three instances named after the seed's nodes, each in its own zone", () => {
        const instances = own("aws:ec2/instance:Instance");
        assert.deepStrictEqual(instances.map(i => i.inputs.tags.Name).sort(), NODES);
        const zone = (n: string) => instances.find(i => i.inputs.tags.Name === n)!.inputs.availabilityZone;
        assert.deepStrictEqual(NODES.map(zone), ["us-east-1b", "us-east-1c", "us-east-1d"]);
    });

    it("puts each brick volume in its instance's availability zone", () => {
        const attachments = own("aws:ec2/volumeAttachment:VolumeAttachment");
        assert.strictEqual(attachments.length, 3);
        for (const a of attachments) {
            const instance = rt.resources.find(
                r => r.type === "aws:ec2/instance:Instance" && r.id === a.inputs.instanceId,
            )!;
            const volume = rt.resources.find(r => r.type === "aws:ebs/volume:Volume" && r.id === a.inputs.volumeId)!;
            assert.ok(instance && volume, `attachment ${a.name} joins a known instance and volume`);
            assert.strictEqual(
                volume.inputs.availabilityZone,
                instance.inputs.availabilityZone,
                `${volume.name} vs ${instance.name}`,
            );
        }
        // and every instance got exactly one brick
        assert.strictEqual(new Set(attachments.map(a => a.inputs.instanceId)).size, 3);
    });

    it("makes every brick an encrypted gp3 volume of its own that survives stack deletion (prod)", () => {
        const volumes = own("aws:ebs/volume:Volume");
        assert.strictEqual(volumes.length, 3);
        for (const v of volumes) {
            assert.strictEqual(v.inputs.encrypted, true);
            assert.strictEqual(v.inputs.type, "gp3");
            assert.strictEqual(v.inputs.size, 100);
            assert.strictEqual(v.retainOnDelete, true, `${v.name} retainOnDelete`);
            assert.deepStrictEqual(
                v.deps.filter(d => rt.resources.some(r => r.name === d && r.type === "aws:ec2/instance:Instance")),
                [],
                `${v.name} must not depend on an instance (it must outlive a replacement)`,
            );
        }
    });

    it("requires IMDSv2 and encrypts the root disk of every instance", () => {
        for (const i of own("aws:ec2/instance:Instance")) {
            assert.strictEqual(i.inputs.metadataOptions.httpTokens, "required", i.name);
            assert.strictEqual(i.inputs.rootBlockDevice.encrypted, true, i.name);
            assert.strictEqual(i.inputs.keyName, "ha-wordpress-test");
            assert.ok(i.ignoreChanges.includes("ami"), "a newer AMI must not replace a node");
        }
    });

    it("looks up the newest official Debian 12 AMI when none is configured", () => {
        const call = rt.calls.find(c => c.token === "aws:ec2/getAmi:getAmi");
        assert.ok(call, "getAmi was called");
        assert.deepStrictEqual(call!.inputs.owners, ["136693071363"]);
        assert.strictEqual(call!.inputs.mostRecent, true);
        const name = call!.inputs.filters.find((f: any) => f.name === "name");
        assert.deepStrictEqual(name.values, ["debian-12-amd64-*"]);
        for (const i of own("aws:ec2/instance:Instance")) assert.strictEqual(i.inputs.ami, "ami-0d3b1a4e5c6f70812");
    });

    describe("security group", () => {
        // GlusterCluster's own rules (the web tier and the jail add theirs to the same group: tested in wordpress*/fail2ban*).
        const ingress = () =>
            rt.byType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter(r => r.parent === "gluster");
        const egress = () =>
            rt.byType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").filter(r => r.parent === "gluster");
        const sg = () => own("aws:ec2/securityGroup:SecurityGroup")[0];

        it("opens exactly glusterd's and the bricks' ports, each only to the group itself (no NFS, no portmapper)", () => {
            const peer = ingress().filter(r => r.inputs.referencedSecurityGroupId !== undefined);
            const got = peer.map(r => `${r.inputs.ipProtocol}/${r.inputs.fromPort}-${r.inputs.toPort}`).sort();
            const want = ["tcp/24007-24008", "tcp/49152-49154"].sort();
            assert.deepStrictEqual(got, want);
            for (const r of peer) {
                assert.strictEqual(
                    r.inputs.referencedSecurityGroupId,
                    sg().id,
                    `${r.name} source is the cluster's group`,
                );
                assert.strictEqual(r.inputs.securityGroupId, sg().id);
                assert.strictEqual(r.inputs.cidrIpv4, undefined);
            }
        });

        it("allows SSH only from the admin CIDR and nothing at all from 0.0.0.0/0", () => {
            const fromCidr = ingress().filter(r => r.inputs.cidrIpv4 !== undefined || r.inputs.cidrIpv6 !== undefined);
            assert.strictEqual(fromCidr.length, 1);
            assert.deepStrictEqual(
                [
                    fromCidr[0].inputs.cidrIpv4,
                    fromCidr[0].inputs.ipProtocol,
                    fromCidr[0].inputs.fromPort,
                    fromCidr[0].inputs.toPort,
                ],
                ["198.51.100.7/32", "tcp", 22, 22],
            );
            for (const r of ingress()) assert.notStrictEqual(r.inputs.cidrIpv4, "0.0.0.0/0", r.name);
            assert.strictEqual(ingress().length, 3);
            assert.strictEqual(sg().inputs.ingress, undefined, "no inline rules hiding beside the rule resources");
        });

        it("limits outbound traffic to the members plus HTTP/HTTPS for package mirrors", () => {
            const got = egress()
                .map(r =>
                    r.inputs.referencedSecurityGroupId === sg().id
                        ? `members/${r.inputs.ipProtocol}`
                        : `${r.inputs.cidrIpv4}/${r.inputs.ipProtocol}/${r.inputs.fromPort}`,
                )
                .sort();
            assert.deepStrictEqual(got, ["0.0.0.0/0/tcp/443", "0.0.0.0/0/tcp/80", "members/-1"]);
        });
    });

    describe("secrets", () => {
        it("hands every remote command a secret connection carrying the private key", () => {
            assert.ok(commands.length > 0);
            for (const c of commands) {
                assert.ok(isSecretWrapped(c.inputs.connection), `${c.name} connection is secret`);
                const conn = unwrapSecret(c.inputs.connection) as Record<string, unknown>;
                assert.strictEqual(unwrapSecret(conn.privateKey), TEST_PRIVATE_KEY);
                assert.strictEqual(conn.user, "admin");
            }
        });

        it("never shows the private key outside a secret, in any resource or stack output", async () => {
            const leaks: string[] = [];
            const walk = (v: unknown, where: string) => {
                if (isSecretWrapped(v)) return;
                if (typeof v === "string" && v.includes("PRIVATE KEY")) leaks.push(where);
                else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${where}[${i}]`));
                else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, `${where}.${k}`);
            };
            for (const r of programResources()) walk(r.inputs, r.name);
            for (const [k, v] of Object.entries(program)) walk(await valueOf(v as any), `output ${k}`);
            assert.deepStrictEqual(leaks, []);
        });

        it("passes step parameters in the command text, never through `environment`", () => {
            for (const c of commands) {
                assert.strictEqual(c.inputs.environment, undefined, c.name);
                assert.strictEqual(c.inputs.addPreviousOutputInEnv, false, c.name);
                assert.strictEqual(c.inputs.delete, undefined, `${c.name} must not have a delete command`);
            }
        });
    });

    describe("host steps", () => {
        it("registers one remote command per plan step, on the step's node", () => {
            const ids = commands.map(stepOf).sort();
            const want = [
                ...NODES.flatMap(n => [
                    `hosts-${n}`,
                    `install-${n}`,
                    `brick-${n}`,
                    `identity-${n}`,
                    `identity-save-${n}`,
                    `mount-${n}`,
                    `healed-${n}`,
                ]),
                "peers",
                "peers-node-gfs2",
                "peers-node-gfs3",
                "volume",
            ].sort();
            assert.deepStrictEqual(ids, want);
            const instances = own("aws:ec2/instance:Instance");
            for (const c of commands) {
                const host = (unwrapSecret(c.inputs.connection) as any).host;
                const node = instances.find(i => i.state.publicIp === host)!;
                const expected = /node-gfs\d/.exec(stepOf(c))?.[0] ?? "node-gfs1";
                assert.strictEqual(node.inputs.tags.Name, expected, `${c.name} runs on ${expected}`);
            }
        });

        it("registers exactly the plan's dependencies between commands (a dropped dependsOn fails this)", () => {
            const byStep = new Map(commands.map(c => [stepOf(c), c]));
            const plan = glusterPlan({
                nodes: NODES.map(n => ({ name: n, privateIp: "x", brickVolumeId: "vol-0" })),
                volumeName: "wp",
                brickPath: "/glusterfs/bricks/brick1/gv",
                mountPoint: "/var/www/html",
                pingTimeout: 10,
            });
            for (const step of plan) {
                const c = byStep.get(step.id)!;
                const commandDeps = c.deps
                    .filter(d => byStep.has(d.replace(/^gluster-/, "")))
                    .map(d => d.replace(/^gluster-/, ""))
                    .sort();
                assert.deepStrictEqual(commandDeps, [...step.dependsOn].sort(), `dependencies of ${step.id}`);
            }
        });

        it("runs each brick step only after its volume is attached", () => {
            for (const n of NODES) {
                const brick = rt.byName(`gluster-brick-${n}`);
                assert.ok(
                    brick.deps.includes(`gluster-${n}-brick-attachment`),
                    `brick-${n} depends on its attachment: ${brick.deps}`,
                );
                assert.strictEqual(
                    rt.byName(`gluster-${n}-brick-attachment`).type,
                    "aws:ec2/volumeAttachment:VolumeAttachment",
                );
            }
        });

        it("sends the same command text the lab would send for the same values", () => {
            const instances = own("aws:ec2/instance:Instance");
            const volumes = own("aws:ebs/volume:Volume");
            const plan = glusterPlan<string>({
                nodes: NODES.map(n => ({
                    name: n,
                    privateIp: instances.find(i => i.inputs.tags.Name === n)!.state.privateIp,
                    brickVolumeId: volumes.find(v => v.inputs.tags.Name === `${n}-brick`)!.id,
                })),
                volumeName: "wp",
                brickPath: "/glusterfs/bricks/brick1/gv",
                mountPoint: "/var/www/html",
                pingTimeout: 10,
            });
            for (const step of plan) {
                const c = commands.find(x => stepOf(x) === step.id)!;
                assert.strictEqual(
                    c.inputs.create,
                    renderStep(step.script, step.params as Record<string, string>, Object.keys(step.secrets ?? {})),
                    step.id,
                );
            }
        });

        it("feeds the nodes' private addresses and brick volume ids into the steps", () => {
            const hosts = rt.byName("gluster-hosts-node-gfs2").inputs.create as string;
            for (const i of own("aws:ec2/instance:Instance"))
                assert.ok(hosts.includes(`=${i.state.privateIp} `), i.name);
            const vol = own("aws:ebs/volume:Volume").find(v => v.inputs.tags.Name === "node-gfs3-brick")!;
            assert.ok((rt.byName("gluster-brick-node-gfs3").inputs.create as string).includes(`VOLUME_ID=${vol.id} `));
        });
    });

    describe("network and outputs", () => {
        it("creates a VPC with one public subnet per zone in use, routed through an internet gateway", () => {
            const net = (type: string) => rt.byType(type).filter(r => r.parent === "net");
            assert.strictEqual(net("aws:ec2/vpc:Vpc").length, 1);
            const subnets = net("aws:ec2/subnet:Subnet");
            assert.deepStrictEqual(subnets.map(s => s.inputs.availabilityZone).sort(), [
                "us-east-1b",
                "us-east-1c",
                "us-east-1d",
            ]);
            assert.strictEqual(new Set(subnets.map(s => s.inputs.cidrBlock)).size, 3);
            const routes = net("aws:ec2/routeTable:RouteTable")[0];
            assert.deepStrictEqual(
                routes.inputs.routes.map((r: any) => r.cidrBlock),
                ["0.0.0.0/0"],
            );
            assert.strictEqual(net("aws:ec2/routeTableAssociation:RouteTableAssociation").length, 3);
            for (const i of own("aws:ec2/instance:Instance")) {
                const subnet = subnets.find(s => s.id === i.inputs.subnetId)!;
                assert.strictEqual(subnet.inputs.availabilityZone, i.inputs.availabilityZone, `${i.name} subnet zone`);
            }
        });

        it("uses one explicit AWS provider in the configured region for every AWS resource", () => {
            const providers = rt.byType("pulumi:providers:aws");
            assert.strictEqual(providers.length, 1);
            assert.strictEqual(providers[0].inputs.region, "us-east-1");
        });

        it("exports node names, addresses, volume name and mount point", async () => {
            assert.deepStrictEqual(program.nodeNames, NODES);
            assert.strictEqual(await valueOf(program.volumeName), "wp");
            assert.strictEqual(await valueOf(program.mountPoint), "/var/www/html");
            const priv = await valueOf<string[]>(program.privateIps);
            const pub = await valueOf<string[]>(program.publicIps);
            assert.strictEqual(priv.length, 3);
            assert.strictEqual(pub.length, 3);
            assert.ok(priv.every(ip => /^10\.20\./.test(ip)));
        });

        it("tags every taggable AWS resource with project and stack", () => {
            // Types AWS cannot tag (bucket sub-resources, target attachments) are left out.
            const untaggable =
                /^aws:(s3\/bucket(PublicAccessBlock|ServerSideEncryptionConfiguration|OwnershipControls|Policy)|lb\/targetGroupAttachment|iam\/(rolePolicy|rolePolicyAttachment)|backup\/selection|cloudwatch\/dashboard|sns\/topicSubscription):/;
            const taggable = programResources().filter(
                r =>
                    r.type.startsWith("aws:") &&
                    !r.type.includes("Association") &&
                    !r.type.includes("RouteTable") &&
                    !r.type.includes("VolumeAttachment") &&
                    !r.type.startsWith("aws:vpc/") &&
                    !untaggable.test(r.type),
            );
            assert.ok(taggable.length >= 10);
            for (const r of taggable)
                assert.deepStrictEqual(
                    [r.inputs.tags?.project, r.inputs.tags?.stack],
                    ["ha-wordpress", "prod"],
                    r.name,
                );
        });

        it("has the expected number of resources in the prod stack", () => {
            const count = (t: string) => programResources().filter(r => r.type === t).length;
            // Components: Network, GlusterCluster. AWS: provider, VPC, IGW, route table, 3 subnets + 3 associations,
            // S3 endpoint, SG + 3 ingress + 3 egress, 3 x (host key, instance, volume, attachment). Commands: 22 host
            // steps + 3 heal gates.
            assert.strictEqual(count("ha-wordpress:index:GlusterCluster"), 1);
            assert.strictEqual(count("ha-wordpress:index:Network"), 1);
            assert.strictEqual(commands.length, 25);
            const glusterAndNetwork = programResources().filter(
                r => r.name.startsWith("gluster") || r.name.startsWith("net") || r.type === "pulumi:providers:aws",
            );
            assert.strictEqual(glusterAndNetwork.length, 2 + 1 + 1 + 1 + 1 + 6 + 1 + 1 + 3 + 3 + 12 + 25);
        });
    });
});
