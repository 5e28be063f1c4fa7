// GlusterCluster: three EC2 nodes, each with its own encrypted EBS brick volume, one security group, and the
// GlusterFS host steps (components/glusterPlan.ts) run over SSH as remote commands in the plan's order.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { remote, types } from "@pulumi/command";
import { renderStep } from "./hostStep";
import { BRICK_DEVICE_NAME, brickPortRange, glusterPlan, mountStepIds, stepIds } from "./glusterPlan";

export interface GlusterClusterArgs {
    /** Node names in order, e.g. `["node-gfs1", "node-gfs2", "node-gfs3"]`; node 1 runs the cluster-wide steps. */
    nodeNames: string[];
    /** Availability zone of each node, same order as `nodeNames`; each brick volume is created in its node's zone. */
    availabilityZones: string[];
    /** Subnet of each node, same order as `nodeNames`; each must lie in that node's zone. */
    subnetIds: pulumi.Input<string>[];
    /** VPC of the subnets; the security group is created in it. */
    vpcId: pulumi.Input<string>;
    /** AMI of the nodes: Debian 12 (the OS and GlusterFS 10 packages the lab uses). */
    ami: pulumi.Input<string>;
    /** EC2 instance type of every node. */
    instanceType: pulumi.Input<string>;
    /** Name of the EC2 key pair whose public key the nodes accept for `ssh.user`. */
    keyName: pulumi.Input<string>;
    /** Brick volume per node: size in GiB, EBS type, and optional provisioned IOPS / throughput (MiB/s). */
    brickVolume: { sizeGiB: number; type: string; iops?: number; throughput?: number };
    /** Size of the (encrypted gp3) root volume in GiB. Default 10. */
    rootVolumeSizeGiB?: number;
    /** The only network allowed to reach the nodes' SSH port, e.g. `203.0.113.7/32`. */
    adminCidr: string;
    /** How the host steps log in. `privateKey` is stored as a secret; the user needs root or passwordless sudo. */
    ssh: { user: string; privateKey: pulumi.Input<string>; via?: "public" | "private" };
    /** Gluster volume name, e.g. `wp`. */
    volumeName: string;
    /** Brick directory, a sub-directory of the brick mount point, e.g. `/glusterfs/bricks/brick1/gv`. */
    brickPath: string;
    /** Where every node mounts the volume, e.g. `/var/www/html`. */
    mountPoint: string;
    /** `network.ping-timeout` of the volume, in seconds. */
    pingTimeout: number;
    /** Keep the brick volumes (and their data) in AWS when they are deleted from the stack. Default true. */
    retainBricks?: boolean;
    /** Tags for every AWS resource. */
    tags?: Record<string, string>;
}

/** One node of the cluster, for the tiers built on top of it. */
export interface GlusterNode {
    name: string;
    zone: string;
    instance: aws.ec2.Instance;
    brickVolume: aws.ebs.Volume;
    attachment: aws.ec2.VolumeAttachment;
    privateIp: pulumi.Output<string>;
    publicIp: pulumi.Output<string>;
    /** SSH connection for remote commands on this node (secret). */
    connection: pulumi.Output<types.input.remote.ConnectionArgs>;
}

/** One security group rule the cluster opens to its own members. */
export interface PeerPortRule { protocol: "tcp" | "udp"; from: number; to: number; description: string }

/** The seed's ports, opened to the cluster's own security group only. */
export function glusterPeerPorts(brickCount: number): PeerPortRule[] {
    const bricks = brickPortRange(brickCount);
    return [
        { protocol: "tcp", from: 24007, to: 24008, description: "glusterd management" },
        { protocol: "tcp", from: bricks.from, to: bricks.to, description: `brick processes (${brickCount} bricks)` },
        { protocol: "tcp", from: 38465, to: 38467, description: "gluster NFS server" },
        { protocol: "tcp", from: 111, to: 111, description: "portmapper" },
        { protocol: "udp", from: 111, to: 111, description: "portmapper" },
        { protocol: "tcp", from: 2049, to: 2049, description: "NFS" },
    ];
}

export class GlusterCluster extends pulumi.ComponentResource {
    /** The nodes, in order. */
    public readonly nodes: GlusterNode[];
    /** Security group of every node; other tiers add their own rules to it. */
    public readonly securityGroup: aws.ec2.SecurityGroup;
    /** Remote command per plan step id (`hosts-node-gfs1`, ..., `peers`, `volume`, `mount-node-gfs3`). */
    public readonly steps: Record<string, remote.Command>;
    /** SSH connection (secret) per node name, for the host steps of other tiers. */
    public readonly connections: Record<string, pulumi.Output<types.input.remote.ConnectionArgs>>;
    /** The final steps: once they are done the volume is mounted and writable on every node. Depend on these. */
    public readonly mountSteps: remote.Command[];
    public readonly volumeName: string;
    public readonly mountPoint: string;
    public readonly privateIps: pulumi.Output<string[]>;
    public readonly publicIps: pulumi.Output<string[]>;

    constructor(name: string, args: GlusterClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        // The component's inputs are recorded in state: never the private key in plain text, whatever the caller passed.
        super("ha-wordpress:index:GlusterCluster", name,
            { ...args, ssh: { ...args.ssh, privateKey: pulumi.secret(args.ssh.privateKey) } }, opts);
        const n = args.nodeNames.length;
        if (args.availabilityZones.length !== n || args.subnetIds.length !== n) {
            throw new Error(`GlusterCluster ${name}: ${n} nodes need ${n} availability zones and ${n} subnets`);
        }
        const tags = { ...(args.tags ?? {}), "ha-wordpress:cluster": name };
        this.volumeName = args.volumeName;
        this.mountPoint = args.mountPoint;

        this.securityGroup = new aws.ec2.SecurityGroup(`${name}-nodes`, {
            vpcId: args.vpcId,
            description: "GlusterFS nodes: gluster ports from members only, SSH from the admin network",
            tags: { ...tags, Name: `${name}-nodes` },
        }, { parent: this });
        const sgId = this.securityGroup.id;
        for (const rule of glusterPeerPorts(n)) {
            new aws.vpc.SecurityGroupIngressRule(`${name}-peer-${rule.protocol}-${rule.from}`, {
                securityGroupId: sgId,
                referencedSecurityGroupId: sgId,
                ipProtocol: rule.protocol,
                fromPort: rule.from,
                toPort: rule.to,
                description: rule.description,
            }, { parent: this });
        }
        new aws.vpc.SecurityGroupIngressRule(`${name}-ssh-admin`, {
            securityGroupId: sgId,
            cidrIpv4: args.adminCidr,
            ipProtocol: "tcp",
            fromPort: 22,
            toPort: 22,
            description: "SSH from the admin network (host steps)",
        }, { parent: this });
        // Outbound: everything to the other members (gluster clients reach bricks and glusterd on every node), and
        // HTTP/HTTPS to anywhere for Debian's package mirrors. DNS, NTP and instance metadata go to AWS-provided
        // addresses that security groups do not filter.
        new aws.vpc.SecurityGroupEgressRule(`${name}-egress-members`, {
            securityGroupId: sgId,
            referencedSecurityGroupId: sgId,
            ipProtocol: "-1",
            description: "all traffic to cluster members",
        }, { parent: this });
        for (const port of [80, 443]) {
            new aws.vpc.SecurityGroupEgressRule(`${name}-egress-${port}`, {
                securityGroupId: sgId,
                cidrIpv4: "0.0.0.0/0",
                ipProtocol: "tcp",
                fromPort: port,
                toPort: port,
                description: "package mirrors",
            }, { parent: this });
        }

        const privateKey = pulumi.secret(args.ssh.privateKey);
        this.nodes = args.nodeNames.map((nodeName, i) => {
            const zone = args.availabilityZones[i];
            const instance = new aws.ec2.Instance(`${name}-${nodeName}`, {
                ami: args.ami,
                instanceType: args.instanceType,
                availabilityZone: zone,
                subnetId: args.subnetIds[i],
                vpcSecurityGroupIds: [sgId],
                keyName: args.keyName,
                associatePublicIpAddress: (args.ssh.via ?? "public") === "public",
                metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
                rootBlockDevice: { encrypted: true, volumeType: "gp3", volumeSize: args.rootVolumeSizeGiB ?? 10 },
                tags: { ...tags, Name: nodeName },
            }, {
                parent: this,
                // A newer Debian image must not silently replace a node: replacing one is an operator's decision
                // (gluster needs the replace procedure), so AMI drift is ignored.
                ignoreChanges: ["ami"],
            });
            // The brick is its own resource in the node's zone: it outlives an instance replacement.
            const brickVolume = new aws.ebs.Volume(`${name}-${nodeName}-brick`, {
                availabilityZone: zone,
                size: args.brickVolume.sizeGiB,
                type: args.brickVolume.type,
                iops: args.brickVolume.iops,
                throughput: args.brickVolume.throughput,
                encrypted: true,
                tags: { ...tags, Name: `${nodeName}-brick` },
            }, { parent: this, retainOnDelete: args.retainBricks ?? true });
            const attachment = new aws.ec2.VolumeAttachment(`${name}-${nodeName}-brick-attachment`, {
                deviceName: BRICK_DEVICE_NAME,
                instanceId: instance.id,
                volumeId: brickVolume.id,
                // Detach only from a stopped instance, never from under a mounted filesystem.
                stopInstanceBeforeDetaching: true,
            }, { parent: this });
            const host = (args.ssh.via ?? "public") === "public" ? instance.publicIp : instance.privateIp;
            const connection = pulumi.secret(pulumi.output({
                host,
                user: args.ssh.user,
                privateKey,
                // A fresh instance needs a minute or two before sshd answers.
                dialErrorLimit: 40,
                perDialTimeout: 15,
            }));
            return {
                name: nodeName, zone, instance, brickVolume, attachment,
                privateIp: instance.privateIp, publicIp: instance.publicIp, connection,
            };
        });

        this.connections = Object.fromEntries(this.nodes.map(node => [node.name, node.connection]));
        const byName = new Map(this.nodes.map(node => [node.name, node]));
        const plan = glusterPlan<pulumi.Input<string>>({
            nodes: this.nodes.map(node => ({ name: node.name, privateIp: node.privateIp, brickVolumeId: node.brickVolume.id })),
            volumeName: args.volumeName,
            brickPath: args.brickPath,
            mountPoint: args.mountPoint,
            pingTimeout: args.pingTimeout,
            deviceName: BRICK_DEVICE_NAME,
        });
        this.steps = {};
        for (const step of plan) {
            const node = byName.get(step.host)!;
            const dependsOn: pulumi.Resource[] = step.dependsOn.map(id => {
                const dep = this.steps[id];
                if (!dep) throw new Error(`GlusterCluster ${name}: step ${step.id} listed before its dependency ${id}`);
                return dep;
            });
            // The brick step needs the volume attached (its parameters only reference the volume id).
            if (step.id === stepIds.brick(node.name)) dependsOn.push(node.attachment);
            this.steps[step.id] = new remote.Command(`${name}-${step.id}`, {
                connection: node.connection,
                create: pulumi.all(step.params).apply(p => renderStep(step.script, p)),
                // Parameters travel in the command text: `environment` needs AcceptEnv, which a default sshd lacks.
                addPreviousOutputInEnv: false,
                // A replaced instance is a new host: run the step again there.
                triggers: [node.instance.id],
                // No delete command: removing the stack must never unmount or wipe a brick.
            }, { parent: this, dependsOn, customTimeouts: { create: "30m", update: "30m" } });
        }
        this.mountSteps = mountStepIds(args.nodeNames).map(id => this.steps[id]);
        this.privateIps = pulumi.all(this.nodes.map(node => node.privateIp));
        this.publicIps = pulumi.all(this.nodes.map(node => node.publicIp));

        this.registerOutputs({
            securityGroupId: this.securityGroup.id,
            privateIps: this.privateIps,
            publicIps: this.publicIps,
            volumeName: this.volumeName,
            mountPoint: this.mountPoint,
        });
    }

    /** The node called `name`. */
    node(name: string): GlusterNode {
        const node = this.nodes.find(n => n.name === name);
        if (!node) throw new Error(`no gluster node ${name}`);
        return node;
    }
}
