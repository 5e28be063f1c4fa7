// The pure GlusterFS plan: step ids, hosts, parameters, and the order as dependencies.
import * as assert from "assert";
import { HostStep, topoOrder } from "../../components/hostStep";
import {
    BRICK_DEVICE_NAME,
    PHP_VOLUME_TUNING,
    brickPortRange,
    glusterPlan,
    mountRing,
    volumeTuningParam,
} from "../../components/glusterPlan";

const NODES = ["node-gfs1", "node-gfs2", "node-gfs3"];
const plan = () =>
    glusterPlan<string>({
        nodes: NODES.map((name, i) => ({
            name,
            privateIp: `10.0.0.${i + 1}`,
            brickVolumeId: `vol-0abc00000000000${i + 1}`,
        })),
        volumeName: "wp",
        brickPath: "/glusterfs/bricks/brick1/gv",
        mountPoint: "/var/www/html",
        pingTimeout: 10,
    }) as HostStep<string>[];

/** Every step id a step transitively depends on. */
function ancestors(steps: HostStep<string>[], id: string): Set<string> {
    const byId = new Map(steps.map(s => [s.id, s]));
    const out = new Set<string>();
    const visit = (x: string) =>
        byId.get(x)!.dependsOn.forEach(d => {
            if (!out.has(d)) {
                out.add(d);
                visit(d);
            }
        });
    visit(id);
    return out;
}

describe("glusterPlan", () => {
    it("has the step ids other code relies on, each on the right node", () => {
        const hostOf = Object.fromEntries(plan().map(s => [s.id, s.host]));
        const want: Record<string, string> = {
            peers: "node-gfs1",
            volume: "node-gfs1",
            "peers-node-gfs2": "node-gfs2",
            "peers-node-gfs3": "node-gfs3",
        };
        for (const n of NODES)
            for (const k of ["hosts", "install", "brick", "identity", "identity-save", "mount"]) want[`${k}-${n}`] = n;
        assert.deepStrictEqual(hostOf, want);
    });

    it("enforces the issue's order: names, install, brick, peers, volume, mount", () => {
        const steps = plan();
        const before = (a: string, b: string) => assert.ok(ancestors(steps, b).has(a), `${a} must come before ${b}`);
        for (const n of NODES) {
            before(`hosts-${n}`, `install-${n}`);
            before(`install-${n}`, `brick-${n}`);
            for (const m of NODES) {
                before(`brick-${m}`, "peers"); // every brick and glusterd ready before peering
                before(`hosts-${m}`, "peers"); // every node resolves every name
                before("volume", `mount-${m}`);
            }
        }
        before("peers", "peers-node-gfs2");
        before("peers", "peers-node-gfs3");
        // the race from FACTS.md: volume create waits for EVERY node's view of its peers
        before("peers-node-gfs2", "volume");
        before("peers-node-gfs3", "volume");
        before("peers", "volume");
    });

    it("expresses the order with direct edges only (no redundant or missing dependsOn)", () => {
        const deps = Object.fromEntries(plan().map(s => [s.id, [...s.dependsOn].sort()]));
        const want: Record<string, string[]> = {
            peers: NODES.map(n => `identity-${n}`),
            "peers-node-gfs2": ["peers"],
            "peers-node-gfs3": ["peers"],
            volume: ["peers", "peers-node-gfs2", "peers-node-gfs3"],
        };
        for (const n of NODES) {
            want[`hosts-${n}`] = [];
            want[`install-${n}`] = [`hosts-${n}`];
            want[`brick-${n}`] = [`install-${n}`];
            want[`mount-${n}`] = ["volume"];
            want[`identity-${n}`] = [`brick-${n}`];
            want[`identity-save-${n}`] = [n === "node-gfs1" ? "peers" : `peers-${n}`];
        }
        assert.deepStrictEqual(deps, want);
    });

    it("is acyclic, and topoOrder puts volume after all peers and before all mounts", () => {
        const order = topoOrder(plan()).map(s => s.id);
        assert.strictEqual(order.length, 22);
        const at = (id: string) => order.indexOf(id);
        assert.ok(at("volume") > at("peers-node-gfs3") && at("volume") > at("peers-node-gfs2"));
        for (const n of NODES) assert.ok(at(`mount-${n}`) > at("volume"));
    });

    it("mounts in the seed's ring with the other two nodes as backup volfile servers", () => {
        const mounts = Object.fromEntries(
            plan()
                .filter(s => s.id.startsWith("mount-"))
                .map(s => [s.host, s.params]),
        );
        assert.deepStrictEqual(
            NODES.map(n => [mounts[n].SERVER, mounts[n].BACKUP_SERVERS]),
            [
                ["node-gfs2", "node-gfs3:node-gfs1"],
                ["node-gfs3", "node-gfs1:node-gfs2"],
                ["node-gfs1", "node-gfs2:node-gfs3"],
            ],
        );
        assert.deepStrictEqual(mountRing(["a"], 0), { server: "a", backups: [] });
    });

    it("creates a replica-3 volume over the three bricks with the configured ping-timeout, open only to the nodes", () => {
        const v = plan().find(s => s.id === "volume")!.params;
        assert.deepStrictEqual(v, {
            VOLUME_NAME: "wp",
            REPLICA: "3",
            PING_TIMEOUT: "10",
            EXPECTED_CONNECTED: "2",
            BRICKS: "node-gfs1:/glusterfs/bricks/brick1/gv node-gfs2:/glusterfs/bricks/brick1/gv node-gfs3:/glusterfs/bricks/brick1/gv",
            TUNING: volumeTuningParam(PHP_VOLUME_TUNING),
            // auth.allow: only the nodes' own addresses.
            NODE_COUNT: "3",
            NODE_IP_1: "10.0.0.1",
            NODE_IP_2: "10.0.0.2",
            NODE_IP_3: "10.0.0.3",
        });
    });

    it("probes node 2 and 3 from node 1, and node 1 back from the others", () => {
        const p = Object.fromEntries(
            plan()
                .filter(s => s.script === "gluster/peers.sh")
                .map(s => [s.id, s.params.PROBE]),
        );
        assert.deepStrictEqual(p, {
            peers: "node-gfs2 node-gfs3",
            "peers-node-gfs2": "node-gfs1",
            "peers-node-gfs3": "node-gfs1",
        });
    });

    it("shows the node identity kept on the brick as plan steps: restored before peering, saved once peered", () => {
        const steps = plan();
        for (const n of NODES) {
            const restore = steps.find(s => s.id === `identity-${n}`)!;
            const save = steps.find(s => s.id === `identity-save-${n}`)!;
            assert.deepStrictEqual(
                [restore.script, restore.params.ACTION, restore.params.BRICK_PATH],
                ["gluster/identity.sh", "restore", "/glusterfs/bricks/brick1/gv"],
            );
            assert.deepStrictEqual([save.script, save.params.ACTION, save.host], ["gluster/identity.sh", "save", n]);
            assert.ok(ancestors(steps, "peers").has(`identity-${n}`), "restore before anything probes the node");
            assert.ok(ancestors(steps, `identity-save-${n}`).has(n === "node-gfs1" ? "peers" : `peers-${n}`));
        }
        // No hidden protocol left: peers.sh no longer writes the identity, brick.sh no longer reads it.
        for (const s of steps.filter(x => x.script === "gluster/peers.sh"))
            assert.strictEqual(s.params.BRICK_PATH, undefined, s.id);
        const fs = require("fs") as typeof import("fs");
        assert.doesNotMatch(
            fs.readFileSync(require.resolve("../../scripts/gluster/brick.sh"), "utf8"),
            /glusterd\.info/,
        );
        assert.doesNotMatch(
            fs.readFileSync(require.resolve("../../scripts/gluster/peers.sh"), "utf8"),
            /glusterd\.info/,
        );
    });

    it("gives every node the same name->address table and its own brick volume id", () => {
        const steps = plan();
        const hosts = steps.filter(s => s.script === "gluster/hosts.sh").map(s => s.params);
        assert.strictEqual(hosts.length, 3);
        for (const h of hosts) {
            assert.deepStrictEqual(h, {
                NODE_COUNT: "3",
                NODE_NAME_1: "node-gfs1",
                NODE_IP_1: "10.0.0.1",
                NODE_NAME_2: "node-gfs2",
                NODE_IP_2: "10.0.0.2",
                NODE_NAME_3: "node-gfs3",
                NODE_IP_3: "10.0.0.3",
            });
        }
        const brick3 = steps.find(s => s.id === "brick-node-gfs3")!.params;
        assert.deepStrictEqual(brick3, {
            VOLUME_ID: "vol-0abc000000000003",
            BRICK_PATH: "/glusterfs/bricks/brick1/gv",
            DEVICE_NAME: BRICK_DEVICE_NAME,
        });
    });

    it("pins brick ports to one per brick from 49152 (the seed's rule), in the install step too", () => {
        assert.deepStrictEqual(brickPortRange(3), { from: 49152, to: 49154 });
        assert.deepStrictEqual(brickPortRange(4), { from: 49152, to: 49155 });
        assert.throws(() => brickPortRange(0));
        const install = plan().find(s => s.id === "install-node-gfs2")!.params;
        assert.deepStrictEqual(install, { BRICK_PORT_MIN: "49152", BRICK_PORT_MAX: "49154" });
    });

    it("refuses duplicate node names and an empty node list", () => {
        const base = { volumeName: "wp", brickPath: "/b/b1/gv", mountPoint: "/m", pingTimeout: 5 };
        assert.throws(() => glusterPlan({ ...base, nodes: [] }), /at least one node/);
        assert.throws(
            () =>
                glusterPlan({
                    ...base,
                    nodes: [
                        { name: "a", privateIp: "1", brickVolumeId: "v" },
                        { name: "a", privateIp: "2", brickVolumeId: "w" },
                    ],
                }),
            /unique/,
        );
    });

    it("passes values through untouched, whatever their type (Pulumi outputs in the component)", () => {
        const token = { opaque: true };
        const steps = glusterPlan<object>({
            nodes: NODES.map(name => ({ name, privateIp: token, brickVolumeId: token })),
            volumeName: "wp",
            brickPath: "/glusterfs/bricks/brick1/gv",
            mountPoint: "/var/www/html",
            pingTimeout: 10,
        });
        assert.strictEqual(steps.find(s => s.id === "hosts-node-gfs1")!.params.NODE_IP_2, token);
        assert.strictEqual(steps.find(s => s.id === "brick-node-gfs2")!.params.VOLUME_ID, token);
    });
});
