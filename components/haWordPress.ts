// HaWordPress: the whole stack from plain arguments: network -> GlusterCluster -> (WordPressTier, Fail2BanJail).
// index.ts reads and validates the stack config and builds one of these; another program (any Pulumi language,
// through `pulumi package add`) builds it from its own arguments. Defaults are those of Pulumi.yaml (a unit test
// keeps the two equal).
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { Network } from "./network";
import { Architecture, BrickVolumeArgs, GlusterCluster, SshArgs } from "./glusterCluster";
import { WordPressDatabaseArgs, WordPressSourceArgs, WordPressTier } from "./wordpressTier";
import { Fail2BanJail } from "./fail2banJail";
import { JailOverrides, defaultJails } from "./fail2banPlan";
import { JAILWATCH_BUILDS } from "./elf";
import { MonitoringRole } from "./monitoringRole";
import { Monitoring } from "./monitoring";

/** Owner id of the official Debian cloud images on AWS. */
export const DEBIAN_AMI_OWNER = "136693071363";

/** The defaults of HaWordPressArgs (equal to Pulumi.yaml's, see tests/unit/schema.test.ts). */
export const HA_WORDPRESS_DEFAULTS = {
    nodeNames: ["node-gfs1", "node-gfs2", "node-gfs3"],
    vpcCidr: "10.20.0.0/16",
    instanceType: "t3.medium",
    brickVolume: { sizeGiB: 20, type: "gp3", iops: 3000, throughput: 125 },
    volumeName: "wp",
    brickPath: "/glusterfs/bricks/brick1/gv",
    mountPoint: "/var/www/html",
    pingTimeout: 10,
    retainBricks: true,
    backupRetentionDays: 30,
};

/** Inputs of HaWordPress: plain values, as the stack config holds them after validation. */
export interface HaWordPressArgs {
    /** AWS region of every resource (the AWS provider in the resource options must point there too). No default. */
    region: string;
    /** Availability zone of each node, same order as `nodeNames`, all in `region`, best all different. No default. */
    availabilityZones: string[];
    /** Node names in order; node 1 runs the cluster-wide steps. Default `node-gfs1`, `node-gfs2`, `node-gfs3`. */
    nodeNames?: string[];
    /** CIDR block of the VPC to create (prefix /16 to /24). Ignored with `existingVpcId`. Default 10.20.0.0/16. */
    vpcCidr?: string;
    /** Use this VPC instead of creating one (with `existingSubnetIds`). Default none: a VPC is created. */
    existingVpcId?: string;
    /** With `existingVpcId`: one subnet per node, in node order, each in that node's zone. Default none. */
    existingSubnetIds?: string[];
    /** AMI of the nodes (Debian 12). Default: the newest official Debian 12 image for `architecture`. */
    ami?: string;
    /** EC2 instance type of the nodes. Default t3.medium. */
    instanceType?: string;
    /** CPU architecture of `instanceType` (arm64 for Graviton types). Default x86_64. */
    architecture?: Architecture;
    /** Name of an existing EC2 key pair in `region`; the nodes accept its public key. No default. */
    keyName: string;
    /** The only network allowed to SSH into the nodes, e.g. 203.0.113.7/32. No default. */
    adminCidr: string;
    /** How the host steps log in: user, the private half of `keyName` (kept secret), public or private address. No default. */
    ssh: SshArgs;
    /** Each node's brick EBS volume. Default 20 GiB gp3, 3000 IOPS, 125 MiB/s. */
    brickVolume?: BrickVolumeArgs;
    /** Name of the Gluster volume. Default `wp`. */
    volumeName?: string;
    /** Brick directory on each node, a sub-directory of the brick volume's mount point. Default /glusterfs/bricks/brick1/gv. */
    brickPath?: string;
    /** Where every node mounts the volume (the WordPress document root). Default /var/www/html. */
    mountPoint?: string;
    /** `network.ping-timeout` of the volume in seconds: a vanished node stalls I/O for up to about twice this. Default 10. */
    pingTimeout?: number;
    /** Keep the brick volumes (and their data) when they are deleted from the stack. Default true. */
    retainBricks?: boolean;
    /** The WordPress database (RDS MySQL); its backup retention is `backupRetentionDays`. No default. */
    database: WordPressDatabaseArgs;
    /** Days the daily brick snapshots (AWS Backup) and the database's automated backups are kept, 1 to 35. Default 30. */
    backupRetentionDays?: number;
    /** E-mail address subscribed to the alarm topic (AWS mails a confirmation link first). Default none. */
    alarmEmail?: string;
    /** Where WordPress's files come from. Default Debian's `wordpress` package. */
    source?: WordPressSourceArgs;
    /** Fixed public URL of the site. Default empty: the load balancer's address. */
    siteUrl?: string;
    /** Site title at install time. Default `HA WordPress`. */
    siteTitle?: string;
    /** WordPress administrator created at install time (its password is generated: output `wordpressAdminPassword`). Default `wpadmin`. */
    adminUser?: string;
    /** Administrator e-mail. No default. */
    adminEmail: string;
    /** SQL dump (https:// URL, or a path on node 1) imported once into the empty database. Default none. */
    sqlDumpUrl?: string;
    /** SHA-256 of the dump; required with `sqlDumpUrl`. Default none. */
    sqlDumpSha256?: string;
    /** ACM certificate ARN: adds the TLS listener on 443 and redirects HTTP to HTTPS. Default none: HTTP only. */
    certificateArn?: string;
    /** Who may reach the site through the load balancer. Default 0.0.0.0/0. */
    webIngressCidr?: string;
    /** Varnish cache size per node. Default 256m. */
    varnishCacheSize?: string;
    /** Path of the jailwatch executable for the nodes' architecture. Default: this package's dist/ build for `architecture` (`npm run build`). */
    jailwatchBinary?: string;
    /** TCP port of jailwatch's ban messages between the nodes. Default 7478. */
    jailwatchPeerPort?: number;
    /** Per-jail overrides (jail.local), by jail name. Default: the seed's xmlrpc jail (20 in 120 s, 12 h) and the login jail. */
    jails?: Record<string, JailOverrides>;
    /**
     * Prefix of the child components' names (`<prefix>net`, `<prefix>gluster`, `<prefix>web`, `<prefix>jail`).
     * Default empty, the names this project's stacks have always had; set one when a program builds two sites.
     */
    namePrefix?: string;
    /** Tags for every AWS resource. Default none. */
    tags?: Record<string, string>;
}

/**
 * High-availability WordPress on AWS: a VPC (or an existing one), three nodes sharing a replica-3 GlusterFS volume,
 * RDS MySQL, a network load balancer, Varnish -> Nginx -> PHP-FPM, and jailwatch sharing bans between the nodes.
 */
export class HaWordPress extends pulumi.ComponentResource {
    /** Node names, in order. */
    public readonly nodeNames!: string[];
    /** Availability zone of each node. */
    public readonly availabilityZones!: string[];
    /** Public addresses of the nodes. */
    public readonly publicIps!: pulumi.Output<string[]>;
    /** Private addresses of the nodes. */
    public readonly privateIps!: pulumi.Output<string[]>;
    /** Name of the Gluster volume. */
    public readonly volumeName!: string;
    /** Where every node mounts the volume. */
    public readonly mountPoint!: string;
    /** Brick directory on each node. */
    public readonly brickPath!: string;
    /** Security group of the nodes. */
    public readonly securityGroupId!: pulumi.Output<string>;
    /** The VPC. */
    public readonly vpcId!: pulumi.Output<string>;
    /** The site's URL. */
    public readonly siteUrl!: pulumi.Output<string>;
    /** Load balancer DNS name. */
    public readonly loadBalancerDnsName!: pulumi.Output<string>;
    /** Database endpoint `host:port`. */
    public readonly dbEndpoint!: pulumi.Output<string>;
    /** WordPress administrator user. */
    public readonly wordpressAdminUser!: string;
    /** Generated WordPress administrator password (secret). */
    public readonly wordpressAdminPassword!: pulumi.Output<string>;
    /** Generated password of the database's master user (secret). */
    public readonly dbMasterPassword!: pulumi.Output<string>;
    /** SHA-256 of the deployed jailwatch binary. */
    public readonly jailwatchSha256!: string;
    /** ARN of the SNS topic every alarm notifies. */
    public readonly alarmTopicArn!: pulumi.Output<string>;
    /** The CloudWatch dashboard of the stack, as a console URL. */
    public readonly dashboardUrl!: pulumi.Output<string>;
    /** The AWS Backup vault holding the brick snapshots (kept by `pulumi destroy`). */
    public readonly backupVaultName!: pulumi.Output<string>;

    constructor(name: string, args: HaWordPressArgs, opts?: pulumi.ComponentResourceOptions) {
        // Inputs are recorded in state: never the private key in plain text, whatever the caller passed.
        super(
            "ha-wordpress:index:HaWordPress",
            name,
            { ...args, ssh: { ...args.ssh, privateKey: pulumi.secret(args.ssh.privateKey) } },
            opts,
        );
        Object.assign(this, createHaWordPress(this, args));
        this.registerOutputs({
            nodeNames: this.nodeNames,
            availabilityZones: this.availabilityZones,
            publicIps: this.publicIps,
            privateIps: this.privateIps,
            volumeName: this.volumeName,
            mountPoint: this.mountPoint,
            brickPath: this.brickPath,
            securityGroupId: this.securityGroupId,
            vpcId: this.vpcId,
            siteUrl: this.siteUrl,
            loadBalancerDnsName: this.loadBalancerDnsName,
            dbEndpoint: this.dbEndpoint,
            wordpressAdminUser: this.wordpressAdminUser,
            wordpressAdminPassword: this.wordpressAdminPassword,
            dbMasterPassword: this.dbMasterPassword,
            jailwatchSha256: this.jailwatchSha256,
            alarmTopicArn: this.alarmTopicArn,
            dashboardUrl: this.dashboardUrl,
            backupVaultName: this.backupVaultName,
        });
    }
}

function createHaWordPress(parent: pulumi.Resource, args: HaWordPressArgs) {
    const d = HA_WORDPRESS_DEFAULTS;
    const nodeNames = args.nodeNames ?? d.nodeNames;
    const zones = args.availabilityZones;
    const architecture = args.architecture ?? "x86_64";
    const prefix = args.namePrefix ?? "";
    const tags = args.tags ?? {};
    if (zones.length !== nodeNames.length) {
        throw new Error(
            `HaWordPress: ${nodeNames.length} nodes need ${nodeNames.length} availability zones, got ${zones.length}`,
        );
    }
    if (Boolean(args.existingVpcId) !== Boolean(args.existingSubnetIds?.length)) {
        throw new Error("HaWordPress: existingVpcId and existingSubnetIds go together");
    }
    const existing = args.existingVpcId ? { vpcId: args.existingVpcId, subnetIds: args.existingSubnetIds! } : undefined;
    // The components were top-level resources of the program before HaWordPress held them: the alias keeps every
    // resource of an existing stack where it is instead of replacing it.
    const child = (): pulumi.ComponentResourceOptions => ({ parent, aliases: [{ parent: pulumi.rootStackResource }] });

    const ami: pulumi.Input<string> =
        args.ami ||
        aws.ec2.getAmiOutput(
            {
                owners: [DEBIAN_AMI_OWNER],
                mostRecent: true,
                filters: [
                    { name: "name", values: [`debian-12-${architecture === "arm64" ? "arm64" : "amd64"}-*`] },
                    { name: "architecture", values: [architecture] },
                    { name: "virtualization-type", values: ["hvm"] },
                ],
            },
            { parent },
        ).id;

    // ---- network ----
    const zonesInUse = [...new Set(zones)];
    const vpcCidr = args.vpcCidr ?? d.vpcCidr;
    const network = new Network(
        `${prefix}net`,
        { region: args.region, zones: zonesInUse, vpcCidr, existing, tags },
        child(),
    );

    // ---- GlusterFS: the nodes, replica 3, mounted at mountPoint on every node ----
    const ssh: SshArgs = { ...args.ssh, privateKey: pulumi.secret(args.ssh.privateKey) };
    const mountPoint = args.mountPoint ?? d.mountPoint;
    const brickPath = args.brickPath ?? d.brickPath;
    const backupRetentionDays = args.backupRetentionDays ?? d.backupRetentionDays;
    // The nodes' role exists before them: an instance gets its profile at creation (and in place, later).
    const role = new MonitoringRole(`${prefix}monitoring-role`, { region: args.region, tags }, child());
    const cluster = new GlusterCluster(
        `${prefix}gluster`,
        {
            nodeNames,
            availabilityZones: zones,
            subnetIds: zones.map((zone, i) => network.subnetIdForNode(i, zone)),
            vpcId: network.vpcId,
            ami,
            instanceType: args.instanceType ?? d.instanceType,
            architecture,
            keyName: args.keyName,
            brickVolume: args.brickVolume ?? d.brickVolume,
            adminCidr: args.adminCidr,
            ssh,
            volumeName: args.volumeName ?? d.volumeName,
            brickPath,
            mountPoint,
            pingTimeout: args.pingTimeout ?? d.pingTimeout,
            retainBricks: args.retainBricks ?? d.retainBricks,
            iamInstanceProfile: role.instanceProfileName,
            tags,
        },
        child(),
    );

    // ---- web tier: MySQL (RDS), network load balancer, Varnish -> Nginx -> PHP-FPM, WordPress on the volume ----
    const web = new WordPressTier(
        `${prefix}web`,
        {
            cluster: cluster.cluster,
            ssh,
            vpcId: network.vpcId,
            subnetIds: network.subnetIds,
            // One retention for the bricks and the database: a restore needs both from the same days.
            database: { ...args.database, backupRetentionDays },
            source: args.source,
            siteUrl: args.siteUrl,
            siteTitle: args.siteTitle,
            adminUser: args.adminUser,
            adminEmail: args.adminEmail,
            sqlDumpUrl: args.sqlDumpUrl || undefined,
            sqlDumpSha256: args.sqlDumpSha256 || undefined,
            certificateArn: args.certificateArn || undefined,
            webIngressCidr: args.webIngressCidr,
            varnishCacheSize: args.varnishCacheSize,
            tags,
        },
        child(),
    );

    // ---- jailwatch on every node, bans shared between them ----
    const vpcRange: pulumi.Input<string> = existing
        ? aws.ec2.getVpcOutput({ id: existing.vpcId }, { parent }).cidrBlock
        : vpcCidr;
    const jail = new Fail2BanJail(
        `${prefix}jail`,
        {
            cluster: cluster.cluster,
            ssh,
            // The build for the nodes' architecture, whatever the operator's machine is.
            binaryPath: args.jailwatchBinary || path.resolve(__dirname, "..", JAILWATCH_BUILDS[architecture]),
            s3EndpointId: network.s3EndpointId,
            ignoreIp: [vpcRange],
            peerPort: args.jailwatchPeerPort,
            jails: args.jails ?? defaultJails(),
            // Nginx creates the access log the jails follow.
            waitFor: web.nginxReady,
            tags,
        },
        child(),
    );

    // ---- day two: brick backups, alarms to SNS, the dashboard, each node publishing its Gluster health ----
    const monitoring = new Monitoring(
        `${prefix}monitoring`,
        {
            cluster: cluster.cluster,
            ssh,
            role,
            region: args.region,
            loadBalancerArnSuffix: web.loadBalancerArnSuffix,
            targetGroups: [
                { port: 80, arnSuffix: web.targetGroupArnSuffix },
                ...(args.certificateArn ? [{ port: 81, arnSuffix: web.tlsTargetGroupArnSuffix }] : []),
            ],
            dbInstanceIdentifier: web.dbInstanceIdentifier,
            dbAllocatedStorageGiB: args.database.allocatedStorageGiB,
            backupRetentionDays,
            alarmEmail: args.alarmEmail || undefined,
            // apt runs one at a time on a node: the publisher's awscli after the web tier's packages (Nginx is later still).
            after: Object.fromEntries(nodeNames.map(n => [n, [web.nginxReady[n]]])),
            tags,
        },
        child(),
    );

    return {
        nodeNames,
        availabilityZones: zones,
        publicIps: cluster.publicIps,
        privateIps: cluster.privateIps,
        volumeName: cluster.volumeName,
        mountPoint: cluster.mountPoint,
        brickPath,
        securityGroupId: cluster.securityGroupId,
        vpcId: network.vpcId,
        siteUrl: web.siteUrl,
        loadBalancerDnsName: web.loadBalancerDnsName,
        dbEndpoint: web.dbEndpoint,
        wordpressAdminUser: args.adminUser ?? "wpadmin",
        wordpressAdminPassword: web.adminPassword,
        dbMasterPassword: web.dbMasterPassword,
        jailwatchSha256: jail.binarySha256,
        alarmTopicArn: monitoring.topic.arn,
        dashboardUrl: monitoring.dashboardUrl,
        backupVaultName: monitoring.backupVault.name,
    };
}
