// The GlusterFS host-step plan: which script runs on which node, with which parameters, after which steps.
// Pure (no Pulumi import): GlusterCluster feeds it Pulumi outputs, the lab feeds it plain strings, and both turn every
// step into command text with renderStep, so they run exactly the same text for the same values.
import { HostStep, readScript } from "./hostStep";

/** Device name GlusterCluster attaches each brick volume as; Nitro instances show it as an NVMe device instead. */
export const BRICK_DEVICE_NAME = "/dev/sdf";

/** First port GlusterFS (>= 3.4) gives a brick process. */
export const GLUSTER_BRICK_BASE_PORT = 49152;

/**
 * The brick port range to open and to pin glusterd to. GlusterFS 10 picks a brick's port at random between
 * `base-port` and `max-port`; the install step sets both to this range, so one port per brick in the volume
 * (the seed's rule: 4 bricks -> 49152-49155) is enough.
 */
export function brickPortRange(brickCount: number): { from: number; to: number } {
    if (!Number.isInteger(brickCount) || brickCount < 1) throw new Error(`brick count must be >= 1, got ${brickCount}`);
    return { from: GLUSTER_BRICK_BASE_PORT, to: GLUSTER_BRICK_BASE_PORT + brickCount - 1 };
}

/** One node of the cluster as the plan sees it. `V` is the value type (Pulumi input or plain string). */
export interface GlusterNodeValues<V> {
    /** Host name the nodes use for each other, e.g. `node-gfs1`. Node 1 (index 0) runs the cluster-wide steps. */
    name: string;
    /** Private IPv4 address the name resolves to. */
    privateIp: V;
    /** EBS volume id of the node's brick volume (`vol-...`); the brick step finds the device by it. */
    brickVolumeId: V;
}

export interface GlusterPlanArgs<V> {
    /** The nodes, in order. Replica count = number of nodes; the mount ring follows this order. */
    nodes: GlusterNodeValues<V>[];
    /** Gluster volume name, e.g. `wp`. */
    volumeName: string;
    /** Brick directory on every node, e.g. `/glusterfs/bricks/brick1/gv`; its parent is the brick mount point. */
    brickPath: string;
    /** Where every node mounts the volume, e.g. `/var/www/html`. */
    mountPoint: string;
    /** `network.ping-timeout` in seconds: how long clients wait for a vanished node before going on without it. */
    pingTimeout: number;
    /**
     * Device name the brick volume is attached as; the last resort of the brick device lookup (after the Nitro
     * by-id name and the NVMe serial). Default BRICK_DEVICE_NAME, what GlusterCluster attaches as.
     */
    deviceName?: string;
    /**
     * Volume options beyond quorum and ping-timeout, as `[option, value]` pairs set by the volume step. Default
     * PHP_VOLUME_TUNING (metadata and negative-lookup caching with invalidation, readdir-ahead, event threads);
     * `[]` leaves gluster's defaults.
     */
    tuning?: ReadonlyArray<readonly [string, string]>;
}

/**
 * Volume options for a PHP application (WordPress) on a replica-3 volume that all three nodes write. A page load
 * stats and opens a few hundred files and probes many that do not exist (autoloaders, theme template lookups, the
 * opcache's timestamp checks); without caching every one is a network round trip to the bricks. Every cache below is
 * kept coherent between the three writing clients by upcalls (features.cache-invalidation): a brick tells each
 * client that holds an inode when another client changes it, so the long timeouts bound only how long an entry may
 * live without a change, never how stale a changed file looks. These are the options of gluster's own
 * `group metadata-cache` and `group nl-cache` files, set one by one so that a re-run compares each with
 * `volume info` and changes nothing (a group set would regenerate the volfiles and reconnect every client each time).
 * The volume step refuses an option this GlusterFS does not know (`volume get` fails), never sets it blindly.
 * Not set: performance.parallel-readdir (it parallelises readdir over DHT subvolumes; a 1 x 3 volume has one, so it
 * would only add a layer), quick-read/io-cache sizes (opcache holds the compiled PHP, Varnish the static files).
 */
export const PHP_VOLUME_TUNING: ReadonlyArray<readonly [string, string]> = [
    // Bricks send invalidations to clients caching an inode another client changed: what makes the caches below
    // safe for three writers. 600 s: how long a brick keeps tracking a client's interest in an inode.
    ["features.cache-invalidation", "on"],
    ["features.cache-invalidation-timeout", "600"],
    // md-cache: stat and xattrs answered on the client. Invalidated by upcalls, so 600 s (gluster's maximum) only
    // limits unchanged entries; stat-prefetch is md-cache's switch.
    ["performance.stat-prefetch", "on"],
    ["performance.cache-invalidation", "on"],
    ["performance.md-cache-timeout", "600"],
    // Inodes the bricks keep in memory (default 16384): a WordPress tree with uploads and plugins has more, and an
    // inode dropped from the table loses its cached state and its upcall registration.
    ["network.inode-lru-limit", "200000"],
    // nl-cache: "no such file" answered on the client. A create by another node invalidates the parent's negative
    // entries through the same upcalls, so a new upload is not hidden (the site bench measures the time to visible).
    ["performance.nl-cache", "on"],
    ["performance.nl-cache-timeout", "600"],
    // Directory listings prefetched in large chunks (media library, plugin scans). Default on in recent releases;
    // set so `volume info` shows what the cluster relies on.
    ["performance.readdir-ahead", "on"],
    // epoll threads decoding replies on the FUSE client and requests on the bricks (default 2 each). Three: one more
    // than the 2 vCPUs of the default instance types, so one thread blocked on a slow reply does not stall the other
    // requests; more only adds context switches on 2 vCPUs.
    ["client.event-threads", "3"],
    ["server.event-threads", "3"],
];

/** Step ids, so callers do not spell them by hand. */
export const stepIds = {
    hosts: (node: string) => `hosts-${node}`,
    install: (node: string) => `install-${node}`,
    brick: (node: string) => `brick-${node}`,
    /** A replaced instance takes back the glusterd identity saved on its brick (before anything probes it). */
    identity: (node: string) => `identity-${node}`,
    /** Once the node sees its peers, its glusterd identity is saved on the brick, which outlives the instance. */
    identitySave: (node: string) => `identity-save-${node}`,
    /** Node 1 probes every other node and waits for its own view. */
    peers: "peers",
    /** Node N (N > 1) probes node 1 back and waits until it sees every other node connected. */
    peerView: (node: string) => `peers-${node}`,
    volume: "volume",
    mount: (node: string) => `mount-${node}`,
};

/**
 * The plan, as explicit dependencies (the order):
 *   per node: hosts -> install -> brick -> identity (a replaced instance takes back the identity saved on its brick);
 *   peers (node 1) after every node's identity; peers-<node> (every other node) after peers;
 *   identity-save-<node> after that node's peers step (the brick keeps the node's glusterd identity);
 *   volume (node 1) after peers and every peers-<node>; mount-<node> after volume.
 * Values stay opaque (`V`), so the plan works for Pulumi outputs and for plain strings alike.
 */
export function glusterPlan<V>(args: GlusterPlanArgs<V>): HostStep<V | string>[] {
    const { nodes } = args;
    if (nodes.length < 1) throw new Error("a gluster plan needs at least one node");
    const names = nodes.map(n => n.name);
    if (new Set(names).size !== names.length) throw new Error(`node names must be unique: ${names.join(", ")}`);
    const ports = brickPortRange(nodes.length);
    const first = names[0];
    const others = names.slice(1);
    const steps: HostStep<V | string>[] = [];

    const hostsParams: Record<string, V | string> = { NODE_COUNT: String(nodes.length) };
    nodes.forEach((n, i) => {
        hostsParams[`NODE_NAME_${i + 1}`] = n.name;
        hostsParams[`NODE_IP_${i + 1}`] = n.privateIp;
    });

    for (const n of nodes) {
        steps.push({
            id: stepIds.hosts(n.name),
            host: n.name,
            script: "gluster/hosts.sh",
            params: { ...hostsParams },
            dependsOn: [],
        });
        steps.push({
            id: stepIds.install(n.name),
            host: n.name,
            script: "gluster/install.sh",
            params: { BRICK_PORT_MIN: String(ports.from), BRICK_PORT_MAX: String(ports.to) },
            dependsOn: [stepIds.hosts(n.name)],
        });
        const brickParams: Record<string, V | string> = {
            VOLUME_ID: n.brickVolumeId,
            BRICK_PATH: args.brickPath,
            DEVICE_NAME: args.deviceName ?? BRICK_DEVICE_NAME,
        };
        steps.push({
            id: stepIds.brick(n.name),
            host: n.name,
            script: "gluster/brick.sh",
            params: brickParams,
            dependsOn: [stepIds.install(n.name)],
        });
        steps.push({
            id: stepIds.identity(n.name),
            host: n.name,
            script: "gluster/identity.sh",
            params: { ACTION: "restore", BRICK_PATH: args.brickPath },
            dependsOn: [stepIds.brick(n.name)],
        });
    }

    const expected = String(nodes.length - 1);
    steps.push({
        id: stepIds.peers,
        host: first,
        script: "gluster/peers.sh",
        params: { PROBE: others.join(" "), EXPECTED_CONNECTED: expected },
        dependsOn: names.map(stepIds.identity),
    });
    for (const name of others) {
        steps.push({
            id: stepIds.peerView(name),
            host: name,
            script: "gluster/peers.sh",
            params: { PROBE: first, EXPECTED_CONNECTED: expected },
            dependsOn: [stepIds.peers],
        });
    }
    for (const name of names) {
        steps.push({
            id: stepIds.identitySave(name),
            host: name,
            script: "gluster/identity.sh",
            params: { ACTION: "save", BRICK_PATH: args.brickPath },
            dependsOn: [name === first ? stepIds.peers : stepIds.peerView(name)],
        });
    }

    steps.push({
        id: stepIds.volume,
        host: first,
        script: "gluster/volume.sh",
        params: {
            VOLUME_NAME: args.volumeName,
            REPLICA: String(nodes.length),
            BRICKS: names.map(n => `${n}:${args.brickPath}`).join(" "),
            PING_TIMEOUT: String(args.pingTimeout),
            EXPECTED_CONNECTED: expected,
            // auth.allow: the nodes' addresses, so a replaced node's new address re-runs this step.
            NODE_COUNT: String(nodes.length),
            ...Object.fromEntries(nodes.map((n, i) => [`NODE_IP_${i + 1}`, n.privateIp])),
            TUNING: volumeTuningParam(args.tuning ?? PHP_VOLUME_TUNING),
        },
        dependsOn: [stepIds.peers, ...others.map(stepIds.peerView)],
    });

    names.forEach((name, i) => {
        const ring = mountRing(names, i);
        steps.push({
            id: stepIds.mount(name),
            host: name,
            script: "gluster/mount.sh",
            params: {
                VOLUME_NAME: args.volumeName,
                MOUNT_POINT: args.mountPoint,
                SERVER: ring.server,
                BACKUP_SERVERS: ring.backups.join(":"),
                NODE_NAME: name,
                // The health report the mount step installs (gluster-health): the script's one copy, as text.
                BRICK_PATH: args.brickPath,
                HEALTH_SCRIPT: readScript("gluster/health.sh"),
            },
            dependsOn: [stepIds.volume],
        });
    });
    return steps;
}

/** The volume step's TUNING parameter: one `option value` line per option; checked so no line can smuggle text. */
export function volumeTuningParam(tuning: ReadonlyArray<readonly [string, string]>): string {
    const seen = new Set<string>();
    return tuning
        .map(([opt, value]) => {
            if (!/^[a-z][a-z0-9-]*(\.[a-z0-9-]+)+$/.test(opt))
                throw new Error(`volume option '${opt}' is not a gluster option name`);
            if (!/^[A-Za-z0-9._:-]+$/.test(value))
                throw new Error(`volume option ${opt}: value '${value}' may hold only letters, digits and . _ : -`);
            if (seen.has(opt)) throw new Error(`volume option ${opt} is given twice`);
            seen.add(opt);
            return `${opt} ${value}`;
        })
        .join("\n");
}

/**
 * The seed's mount ring: node i mounts from node i+1 (1 from 2, 2 from 3, 3 from 1); the backups are the remaining
 * nodes in ring order, so each node names the other two (itself last).
 */
export function mountRing(names: string[], index: number): { server: string; backups: string[] } {
    const n = names.length;
    if (n === 1) return { server: names[0], backups: [] };
    const at = (k: number) => names[(index + k) % n];
    const backups: string[] = [];
    for (let k = 2; k <= n; k++) backups.push(at(k));
    return { server: at(1), backups };
}

/** Ids of the final steps (the mounts): anything that uses the shared volume depends on these. */
export function mountStepIds(nodeNames: string[]): string[] {
    return nodeNames.map(stepIds.mount);
}

/** Id of the step that holds back the next node's instance changes until the volume has healed (rollPlan). */
export const healedStepId = (node: string) => `healed-${node}`;

/**
 * The rolling gate of one node: waits until every brick of the volume is online and nothing is left to heal. The
 * next node's instance depends on it, so an in-place change that stops instances (a new instance type) reaches them
 * one at a time, each after the volume has healed from the previous one. On a first deployment (no volume yet) it
 * succeeds at once.
 */
export function healedStep(node: string, volumeName: string, timeoutSeconds = 1800): HostStep<string> {
    return {
        id: healedStepId(node),
        host: node,
        script: "gluster/healed.sh",
        params: { VOLUME_NAME: volumeName, HEAL_TIMEOUT: String(timeoutSeconds) },
        dependsOn: [],
    };
}
