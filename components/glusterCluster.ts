// GlusterCluster: three EC2 nodes, each with its own encrypted EBS brick volume and an SSH host key generated here
// (pinned in every connection), one security group, and the GlusterFS host steps (components/glusterPlan.ts) run
// over SSH by the shared builder (hostCommands). It exposes one plain output object, `cluster` (GlusterClusterInfo:
// names, addresses, host keys, the security group, and per node a value that resolves once its volume is mounted),
// that the tiers built on the volume (WordPressTier, Fail2BanJail) take as their `cluster` input. Everything here is
// schema-friendly (components/index.ts is a Pulumi component package): plain, documented inputs and outputs.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as tls from "@pulumi/tls";
import { types } from "@pulumi/command";
import { Connection, hostCommands } from "./hostCommands";
import { BRICK_DEVICE_NAME, brickPortRange, glusterPlan, healedStep, stepIds } from "./glusterPlan";
import { BACKUP_TAG_KEY, brickBackupTagValue } from "./backupPlan";

/** CPU architecture of the nodes (EC2's names). */
export const Architecture = {
    /** Intel and AMD instance types (t3, m6i, ...). */
    X86_64: "x86_64",
    /** Graviton instance types (t4g, m7g, ...). */
    Arm64: "arm64",
} as const;
/** CPU architecture of the nodes (EC2's names). */
export type Architecture = (typeof Architecture)[keyof typeof Architecture];

/** Which of a node's addresses the host steps connect to. */
export const ConnectVia = {
    /** The public address (the admin network reaches it directly). */
    Public: "public",
    /** The private address (needs a VPN or bastion into the VPC). */
    Private: "private",
} as const;
/** Which of a node's addresses the host steps connect to. */
export type ConnectVia = (typeof ConnectVia)[keyof typeof ConnectVia];

/** Inputs of GlusterCluster. */
export interface GlusterClusterArgs {
    /** Node names in order, e.g. `["node-gfs1", "node-gfs2", "node-gfs3"]`; node 1 runs the cluster-wide steps. */
    nodeNames: string[];
    /** Availability zone of each node, same order as `nodeNames`; each brick volume is created in its node's zone. */
    availabilityZones: string[];
    /** Subnet of each node, same order as `nodeNames`; each must lie in that node's zone. */
    subnetIds: pulumi.Input<string>[];
    /** VPC of the subnets; the security group is created in it. */
    vpcId: pulumi.Input<string>;
    /** AMI of the nodes: Debian 12 (the OS and GlusterFS 10 packages the lab uses). Changes are ignored for existing nodes. */
    ami: pulumi.Input<string>;
    /** EC2 instance type of every node. A change reaches the nodes one at a time, each after the volume has healed. */
    instanceType: pulumi.Input<string>;
    /** CPU architecture of `instanceType` (`x86_64` or `arm64`), for the tiers that ship binaries. Default `x86_64`. */
    architecture?: Architecture;
    /** Name of the EC2 key pair whose public key new nodes accept for `ssh.user`; a change applies to replaced nodes only. */
    keyName: pulumi.Input<string>;
    /** Brick volume per node: size in GiB (growing it grows XFS on the next run), EBS type, optional IOPS / throughput (MiB/s). */
    brickVolume: BrickVolumeArgs;
    /** Size of the (encrypted gp3) root volume in GiB. Default 10. */
    rootVolumeSizeGiB?: number;
    /** The only network allowed to reach the nodes' SSH port, e.g. `203.0.113.7/32`. */
    adminCidr: string;
    /** How the host steps log in (no default: `user` and `privateKey` are required). */
    ssh: SshArgs;
    /** Gluster volume name, e.g. `wp`. */
    volumeName: string;
    /** Brick directory, a sub-directory of the brick mount point, e.g. `/glusterfs/bricks/brick1/gv`. */
    brickPath: string;
    /** Where every node mounts the volume, e.g. `/var/www/html`. */
    mountPoint: string;
    /** `network.ping-timeout` of the volume, in seconds (the stack's default is 10, chosen by `npm run bench -- --only=ping-timeout`; see Pulumi.yaml). */
    pingTimeout: number;
    /** Keep the brick volumes (and their data) in AWS when they are deleted from the stack. Default true. */
    retainBricks?: boolean;
    /**
     * Name of the IAM instance profile every node runs with (e.g. MonitoringRole's, for the metrics publisher).
     * EC2 associates a profile with a running instance in place: adding or changing it never replaces a node.
     * Default none.
     */
    iamInstanceProfile?: pulumi.Input<string>;
    /** Tags for every AWS resource. Default none. */
    tags?: Record<string, string>;
}

/** A node's brick volume. */
export interface BrickVolumeArgs {
    /** Size in GiB (no default). */
    sizeGiB: number;
    /** EBS type: gp3, io1 or io2 (no default). */
    type: string;
    /** Provisioned IOPS. Default: the type's baseline. */
    iops?: number;
    /** Throughput in MiB/s (gp3). Default: the type's baseline. */
    throughput?: number;
}

/** How the host steps log in. */
export interface SshArgs {
    /** Login user; it needs root or passwordless sudo (no default; `admin` on Debian's AMIs). */
    user: string;
    /** Private half of `keyName` (no default); always stored as a secret, whatever the caller passed. */
    privateKey: pulumi.Input<string>;
    /** Connect to the public or the private address. Default `public`. */
    via?: ConnectVia;
}

/** One node of the cluster, as the tiers built on it see it (an output of GlusterCluster, an input of the tiers). */
export interface GlusterNodeInfo {
    /** Host name, e.g. `node-gfs1` (no default). */
    name: string;
    /** Availability zone (no default). */
    zone: string;
    /** EC2 instance id: load balancer target, and the trigger that re-runs every step on a replaced instance (no default). */
    instanceId: pulumi.Input<string>;
    /** Private address: peers, ban sharing (no default). */
    privateIp: pulumi.Input<string>;
    /** Address the host steps connect to, public or private as `ssh.via` chose (no default). */
    sshHost: pulumi.Input<string>;
    /** The node's SSH host public key (OpenSSH format), pinned in every connection (no default). */
    hostKey: pulumi.Input<string>;
    /** Resolves once the node's Gluster packages are installed: later apt runs on the node wait for it (no default). */
    installed: pulumi.Input<string>;
    /** Resolves once the volume is mounted and writable at `mountPoint` on this node (no default). */
    mounted: pulumi.Input<string>;
    /** EBS volume id of the node's brick (`vol-...`), for the backups and alarms. Default: none (a hand-built bundle; Monitoring needs it). */
    brickVolumeId?: pulumi.Input<string>;
}

/**
 * What GlusterCluster hands to the tiers built on its volume (WordPressTier, Fail2BanJail): plain values and
 * per-node readiness values, no resource objects, so it crosses a Pulumi package boundary as it is.
 */
/** A tag (key and value) on AWS resources. */
export interface BrickBackupTag {
    /** Tag key (no default). */
    key: string;
    /** Tag value (no default). */
    value: string;
}

export interface GlusterClusterInfo {
    /** The nodes, in order (no default). */
    nodes: GlusterNodeInfo[];
    /** Security group of every node: tiers add their ingress AND egress rules there (outbound is limited) (no default). */
    securityGroupId: pulumi.Input<string>;
    /** Where every node mounts the volume, e.g. `/var/www/html` (no default). */
    mountPoint: string;
    /** CPU architecture of the nodes (no default). */
    architecture: Architecture;
    /**
     * The tag every brick volume carries for the backup selection (Monitoring): unique per project, stack and
     * cluster. Default: none (a hand-built bundle; Monitoring refuses a bundle without it).
     */
    brickBackupTag?: BrickBackupTag;
}

/** Gluster step ids -> the values that resolve when those steps are done, for plans of other tiers that wait for them. */
export function clusterSteps(cluster: GlusterClusterInfo): Record<string, pulumi.Input<string>> {
    const out: Record<string, pulumi.Input<string>> = {};
    for (const n of cluster.nodes) {
        out[stepIds.install(n.name)] = n.installed;
        out[stepIds.mount(n.name)] = n.mounted;
    }
    return out;
}

/** The SSH connection of a node's host steps: secret, host key pinned, patient with a booting instance. */
export function nodeConnection(
    host: pulumi.Input<string>,
    hostKey: pulumi.Input<string>,
    ssh: SshArgs,
): pulumi.Output<types.input.remote.ConnectionArgs> {
    return pulumi.secret(
        pulumi.output({
            host,
            user: ssh.user,
            privateKey: pulumi.secret(ssh.privateKey),
            // The key this program generated and installed at first boot: no step talks to an unverified host.
            hostKey: pulumi.output(hostKey).apply(k => k.trim()),
            // A fresh instance needs a minute or two before sshd answers.
            dialErrorLimit: 40,
            perDialTimeout: 15,
        }),
    );
}

/** SSH connection per node name, for hostCommands. */
export function clusterConnections(cluster: GlusterClusterInfo, ssh: SshArgs): Record<string, Connection> {
    return Object.fromEntries(cluster.nodes.map(n => [n.name, nodeConnection(n.sshHost, n.hostKey, ssh)]));
}

/** One security group rule the cluster opens to its own members. */
export interface PeerPortRule {
    protocol: "tcp" | "udp";
    from: number;
    to: number;
    description: string;
}

/**
 * The ports the volume needs, opened to the cluster's own security group only: glusterd and the bricks. Not the
 * seed's NFS (38465-38467, 2049) and portmapper (111) ports: the volume step sets nfs.disable, so nothing should
 * listen there, and a closed group keeps it so if something does.
 */
export function glusterPeerPorts(brickCount: number): PeerPortRule[] {
    const bricks = brickPortRange(brickCount);
    return [
        { protocol: "tcp", from: 24007, to: 24008, description: "glusterd management" },
        { protocol: "tcp", from: bricks.from, to: bricks.to, description: `brick processes (${brickCount} bricks)` },
    ];
}

/**
 * First-boot user data (cloud-init) installing the node's SSH host key, so the very first connection is verified.
 * cloud-init writes the keys given in `ssh_keys` and generates no others.
 */
export function hostKeyUserData(privateKeyOpenssh: string, publicKeyOpenssh: string): string {
    return (
        "#cloud-config\n" +
        JSON.stringify(
            {
                ssh_deletekeys: true,
                ssh_keys: { ed25519_private: privateKeyOpenssh, ed25519_public: publicKeyOpenssh.trim() },
            },
            null,
            2,
        ) +
        "\n"
    );
}

/** Internal: a node while the cluster is being built. */
interface GlusterNodeResources {
    name: string;
    zone: string;
    instance: aws.ec2.Instance;
    brickVolume: aws.ebs.Volume;
    attachment: aws.ec2.VolumeAttachment;
    hostKey: tls.PrivateKey;
    privateIp: pulumi.Output<string>;
    publicIp: pulumi.Output<string>;
    sshHost: pulumi.Output<string>;
    connection: pulumi.Output<types.input.remote.ConnectionArgs>;
}

/**
 * Three (or more) EC2 nodes sharing a replicated GlusterFS volume: each node with its own encrypted EBS brick and a
 * generated, pinned SSH host key, one security group, and the Gluster host steps run over SSH.
 */
export class GlusterCluster extends pulumi.ComponentResource {
    /** What the tiers built on the volume take as their `cluster` input: nodes, security group, mount point, architecture. */
    public readonly cluster!: GlusterClusterInfo;
    /** Security group of every node. */
    public readonly securityGroupId!: pulumi.Output<string>;
    /** Name of the Gluster volume. */
    public readonly volumeName!: string;
    /** Where every node mounts the volume. */
    public readonly mountPoint!: string;
    /** Private addresses of the nodes, in order. */
    public readonly privateIps!: pulumi.Output<string[]>;
    /** Public addresses of the nodes, in order (empty strings when the nodes have none). */
    public readonly publicIps!: pulumi.Output<string[]>;

    constructor(name: string, args: GlusterClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        // The component's inputs are recorded in state: never the private key in plain text, whatever the caller passed.
        super(
            "ha-wordpress:index:GlusterCluster",
            name,
            { ...args, ssh: { ...args.ssh, privateKey: pulumi.secret(args.ssh.privateKey) } },
            opts,
        );
        Object.assign(this, createGlusterCluster(this, name, args));
        this.registerOutputs({
            cluster: this.cluster,
            securityGroupId: this.securityGroupId,
            privateIps: this.privateIps,
            publicIps: this.publicIps,
            volumeName: this.volumeName,
            mountPoint: this.mountPoint,
        });
    }
}

function createGlusterCluster(parent: pulumi.Resource, name: string, args: GlusterClusterArgs) {
    const n = args.nodeNames.length;
    if (args.availabilityZones.length !== n || args.subnetIds.length !== n) {
        throw new Error(`GlusterCluster ${name}: ${n} nodes need ${n} availability zones and ${n} subnets`);
    }
    const tags = { ...(args.tags ?? {}), "ha-wordpress:cluster": name };
    // Only the bricks carry it: the daily snapshots select by this tag (a tag change on a volume is in place).
    const brickBackupTag = {
        key: BACKUP_TAG_KEY,
        value: brickBackupTagValue(pulumi.getProject(), pulumi.getStack(), name),
    };
    const securityGroup = createSecurityGroup(parent, name, args, tags);
    const sgId = securityGroup.id;
    const via = args.ssh.via ?? "public";

    // One node after the other: node i's instance waits for node i-1's "healed" gate, which re-runs (its triggers)
    // whenever node i-1's instance changed. An in-place change that stops instances (instance type) so reaches one
    // node at a time, each after the volume has healed; without the chain Pulumi stops all three together.
    const nodes: GlusterNodeResources[] = [];
    let previousGate: pulumi.Resource | undefined;
    args.nodeNames.forEach((nodeName, i) => {
        const zone = args.availabilityZones[i];
        const hostKey = new tls.PrivateKey(`${name}-${nodeName}-host-key`, { algorithm: "ED25519" }, { parent });
        const instance = new aws.ec2.Instance(
            `${name}-${nodeName}`,
            {
                ami: args.ami,
                instanceType: args.instanceType,
                availabilityZone: zone,
                subnetId: args.subnetIds[i],
                vpcSecurityGroupIds: [sgId],
                keyName: args.keyName,
                associatePublicIpAddress: via === "public",
                iamInstanceProfile: args.iamInstanceProfile,
                metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
                rootBlockDevice: { encrypted: true, volumeType: "gp3", volumeSize: args.rootVolumeSizeGiB ?? 10 },
                // The host key travels in user data: secret in state (AWS keeps user data readable to
                // ec2:DescribeInstanceAttribute and to the instance's own metadata service).
                userData: pulumi.secret(
                    pulumi
                        .all([hostKey.privateKeyOpenssh, hostKey.publicKeyOpenssh])
                        .apply(([priv, pub]) => hostKeyUserData(priv, pub)),
                ),
                tags: { ...tags, Name: nodeName },
            },
            {
                parent,
                dependsOn: previousGate ? [previousGate] : [],
                additionalSecretOutputs: ["userData"],
                // Each of these would replace (keyName) or stop (userData) every node at once. A newer Debian image or
                // another key pair applies to replaced nodes only: replacing a node is an operator's decision (one at a
                // time, the volume healed in between); user data only ever runs at first boot.
                ignoreChanges: ["ami", "keyName", "userData"],
            },
        );
        // The brick is its own resource in the node's zone: it outlives an instance replacement.
        const brickVolume = new aws.ebs.Volume(
            `${name}-${nodeName}-brick`,
            {
                availabilityZone: zone,
                size: args.brickVolume.sizeGiB,
                type: args.brickVolume.type,
                iops: args.brickVolume.iops,
                throughput: args.brickVolume.throughput,
                encrypted: true,
                tags: { ...tags, Name: `${nodeName}-brick`, [brickBackupTag.key]: brickBackupTag.value },
            },
            { parent, retainOnDelete: args.retainBricks ?? true },
        );
        const attachment = new aws.ec2.VolumeAttachment(
            `${name}-${nodeName}-brick-attachment`,
            {
                deviceName: BRICK_DEVICE_NAME,
                instanceId: instance.id,
                volumeId: brickVolume.id,
                // Detach only from a stopped instance, never from under a mounted filesystem.
                stopInstanceBeforeDetaching: true,
            },
            {
                parent,
                // A replacement (new instance) must detach the volume from the old one before attaching it to the new
                // one: an EBS volume attaches to one instance at a time, so create-before-delete fails VolumeInUse.
                deleteBeforeReplace: true,
            },
        );
        const host = via === "public" ? instance.publicIp : instance.privateIp;
        const connection = nodeConnection(host, hostKey.publicKeyOpenssh, args.ssh);
        const node: GlusterNodeResources = {
            name: nodeName,
            zone,
            instance,
            brickVolume,
            attachment,
            hostKey,
            privateIp: instance.privateIp,
            publicIp: instance.publicIp,
            sshHost: host,
            connection,
        };
        nodes.push(node);
        previousGate = hostCommands(parent, {
            plan: [healedStep(nodeName, args.volumeName)],
            connections: { [nodeName]: connection },
            // Re-run after every change of the instance, so the next node waits for this one's heal.
            triggers: { [healedStep(nodeName, args.volumeName).id]: [instance.id, instance.instanceType] },
            prefix: name,
        })[healedStep(nodeName, args.volumeName).id];
    });

    const plan = glusterPlan<pulumi.Input<string>>({
        nodes: nodes.map(node => ({ name: node.name, privateIp: node.privateIp, brickVolumeId: node.brickVolume.id })),
        volumeName: args.volumeName,
        brickPath: args.brickPath,
        mountPoint: args.mountPoint,
        pingTimeout: args.pingTimeout,
        deviceName: BRICK_DEVICE_NAME,
    });
    const steps = hostCommands(parent, {
        plan,
        connections: Object.fromEntries(nodes.map(node => [node.name, node.connection])),
        // The brick step needs the volume attached (its parameters only reference the volume id).
        extraDependsOn: Object.fromEntries(nodes.map(node => [stepIds.brick(node.name), [node.attachment]])),
        // A grown volume: the brick step runs again and grows the filesystem.
        triggers: Object.fromEntries(nodes.map(node => [stepIds.brick(node.name), [node.brickVolume.size]])),
        // A replaced instance is a new host: run every step again there.
        hostTriggers: Object.fromEntries(nodes.map(node => [node.name, [node.instance.id]])),
        prefix: name,
    });

    const cluster: GlusterClusterInfo = {
        nodes: nodes.map(node => ({
            name: node.name,
            zone: node.zone,
            instanceId: node.instance.id,
            privateIp: node.privateIp,
            brickVolumeId: node.brickVolume.id,
            sshHost: node.sshHost,
            hostKey: node.hostKey.publicKeyOpenssh.apply(k => k.trim()),
            // The steps' ids: a value that exists only once the step ran, and carries the step as its dependency.
            installed: steps[stepIds.install(node.name)].id,
            mounted: steps[stepIds.mount(node.name)].id,
        })),
        securityGroupId: sgId,
        mountPoint: args.mountPoint,
        architecture: args.architecture ?? "x86_64",
        brickBackupTag,
    };
    return {
        cluster,
        securityGroupId: sgId,
        volumeName: args.volumeName,
        mountPoint: args.mountPoint,
        privateIps: pulumi.all(nodes.map(node => node.privateIp)),
        publicIps: pulumi.all(nodes.map(node => node.publicIp)),
    };
}

function createSecurityGroup(
    parent: pulumi.Resource,
    name: string,
    args: GlusterClusterArgs,
    tags: Record<string, string>,
): aws.ec2.SecurityGroup {
    const securityGroup = new aws.ec2.SecurityGroup(
        `${name}-nodes`,
        {
            vpcId: args.vpcId,
            description: "GlusterFS nodes: gluster ports from members only, SSH from the admin network",
            tags: { ...tags, Name: `${name}-nodes` },
        },
        { parent },
    );
    const sgId = securityGroup.id;
    for (const rule of glusterPeerPorts(args.nodeNames.length)) {
        new aws.vpc.SecurityGroupIngressRule(
            `${name}-peer-${rule.protocol}-${rule.from}`,
            {
                securityGroupId: sgId,
                referencedSecurityGroupId: sgId,
                ipProtocol: rule.protocol,
                fromPort: rule.from,
                toPort: rule.to,
                description: rule.description,
            },
            { parent },
        );
    }
    new aws.vpc.SecurityGroupIngressRule(
        `${name}-ssh-admin`,
        {
            securityGroupId: sgId,
            cidrIpv4: args.adminCidr,
            ipProtocol: "tcp",
            fromPort: 22,
            toPort: 22,
            description: "SSH from the admin network (host steps)",
        },
        { parent },
    );
    // Outbound: everything to the other members (gluster clients reach bricks and glusterd on every node), and
    // HTTP/HTTPS to anywhere for Debian's package mirrors. DNS, NTP and instance metadata go to AWS-provided
    // addresses that security groups do not filter.
    new aws.vpc.SecurityGroupEgressRule(
        `${name}-egress-members`,
        {
            securityGroupId: sgId,
            referencedSecurityGroupId: sgId,
            ipProtocol: "-1",
            description: "all traffic to cluster members",
        },
        { parent },
    );
    for (const port of [80, 443]) {
        new aws.vpc.SecurityGroupEgressRule(
            `${name}-egress-${port}`,
            {
                securityGroupId: sgId,
                cidrIpv4: "0.0.0.0/0",
                ipProtocol: "tcp",
                fromPort: port,
                toPort: port,
                description: "package mirrors",
            },
            { parent },
        );
    }
    return securityGroup;
}
