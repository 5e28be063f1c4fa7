// GlusterCluster and Network built directly (not through index.ts) for the layouts the prod stack does not use:
// an existing VPC, private-address connections, io2 bricks that are not retained.
import * as assert from "assert";
import { GlusterCluster, GlusterClusterArgs } from "../../components/glusterCluster";
import { Network } from "../../components/network";
import { Runtime, isSecretWrapped, pulumiRuntime, settle, unwrapSecret, valueOf } from "./support/pulumiRuntime";

const NODES = ["node-gfs1", "node-gfs2", "node-gfs3"];

function clusterArgs(over: Partial<GlusterClusterArgs>): GlusterClusterArgs {
    return {
        nodeNames: NODES,
        availabilityZones: ["eu-west-1a", "eu-west-1a", "eu-west-1b"],
        subnetIds: ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
        vpcId: "vpc-0cccccccccccccccc",
        ami: "ami-0123456789abcdef0",
        instanceType: "t3.small",
        keyName: "k",
        brickVolume: { sizeGiB: 50, type: "io2", iops: 4000 },
        adminCidr: "192.0.2.0/24",
        ssh: {
            user: "root",
            privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n",
            via: "private",
        },
        volumeName: "site",
        brickPath: "/srv/gluster/b1/gv",
        mountPoint: "/var/www/site",
        pingTimeout: 7,
        retainBricks: false,
        ...over,
    };
}

describe("GlusterCluster and Network variants (built directly under the shared mocks)", () => {
    let rt: Runtime;
    let network: Network;
    const under = (parent: string, type: string) => rt.resources.filter(r => r.type === type && r.parent === parent);

    before(async () => {
        rt = await pulumiRuntime();
        network = new Network("t-net", {
            region: "eu-west-1",
            zones: ["eu-west-1a", "eu-west-1b"],
            vpcCidr: "10.9.0.0/16",
            existing: {
                vpcId: "vpc-0cccccccccccccccc",
                subnetIds: ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
            },
        });
        new GlusterCluster("t-gluster", clusterArgs({}));
        await settle();
    });

    it("uses an existing VPC and its subnets, creating only the S3 endpoint it lacks", async () => {
        assert.deepStrictEqual(
            rt.resources.filter(r => r.parent === "t-net").map(r => r.type),
            ["aws:ec2/vpcEndpoint:VpcEndpoint"],
        );
        assert.strictEqual(await valueOf(network.vpcId), "vpc-0cccccccccccccccc");
        assert.strictEqual(await valueOf(network.subnetIdForNode(2, "eu-west-1b")), "subnet-0bbbbbbbbbbbbbbbb");
    });

    it("connects over private addresses without public IPs when asked to", () => {
        const instances = under("t-gluster", "aws:ec2/instance:Instance");
        assert.strictEqual(instances.length, 3);
        for (const i of instances) assert.strictEqual(i.inputs.associatePublicIpAddress, false, i.name);
        const privateIps = new Set(instances.map(i => i.state.privateIp));
        const commands = under("t-gluster", "command:remote:Command");
        assert.strictEqual(commands.length, 25);
        for (const c of commands) {
            const conn = unwrapSecret(c.inputs.connection) as Record<string, unknown>;
            assert.ok(privateIps.has(conn.host as string), `${c.name} connects to a private address, got ${conn.host}`);
            assert.strictEqual(conn.user, "root");
        }
    });

    it("passes io2 IOPS through, and does not retain bricks when retainBricks is false", () => {
        const volumes = under("t-gluster", "aws:ebs/volume:Volume");
        assert.strictEqual(volumes.length, 3);
        for (const v of volumes) {
            assert.deepStrictEqual(
                [v.inputs.type, v.inputs.iops, v.inputs.size, v.inputs.encrypted, v.retainOnDelete],
                ["io2", 4000, 50, true, false],
            );
            assert.strictEqual(v.inputs.throughput, undefined);
        }
        assert.deepStrictEqual(volumes.map(v => v.inputs.availabilityZone).sort(), [
            "eu-west-1a",
            "eu-west-1a",
            "eu-west-1b",
        ]);
    });

    it("feeds its own volume name, brick path, mount point and ping-timeout into the steps", () => {
        const create = (id: string) => rt.byName(`t-gluster-${id}`).inputs.create as string;
        assert.match(
            create("volume"),
            /BRICKS='node-gfs1:\/srv\/gluster\/b1\/gv node-gfs2:\/srv\/gluster\/b1\/gv node-gfs3:\/srv\/gluster\/b1\/gv'/,
        );
        assert.match(create("volume"), / PING_TIMEOUT=7 /);
        assert.match(create("volume"), / VOLUME_NAME=site /);
        assert.match(create("mount-node-gfs3"), / MOUNT_POINT=\/var\/www\/site /);
        assert.match(create("mount-node-gfs3"), / SERVER=node-gfs1 /);
    });

    it("refuses mismatched node, zone and subnet lists", () => {
        assert.throws(
            () => new GlusterCluster("t-bad", clusterArgs({ availabilityZones: ["eu-west-1a"] })),
            /3 nodes need 3 availability zones and 3 subnets/,
        );
    });

    it("never records the private key in plain text, even when the caller passes it so", () => {
        const leaks: string[] = [];
        const walk = (v: unknown, where: string) => {
            if (isSecretWrapped(v)) return;
            if (typeof v === "string" && v.includes("PRIVATE KEY")) leaks.push(where);
            else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${where}[${i}]`));
            else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, `${where}.${k}`);
        };
        const mine = rt.resources.filter(r => r.name.startsWith("t-gluster"));
        assert.ok(
            mine.some(r => r.type === "ha-wordpress:index:GlusterCluster"),
            "the component itself is checked too",
        );
        for (const r of mine) walk(r.inputs, r.name);
        assert.deepStrictEqual(leaks, []);
    });
});
