// WordPressTier: the seed's web tier on the Gluster nodes. A MySQL 8 RDS instance (Multi-AZ in prod), a network load
// balancer with instance targets (the client's own address reaches Varnish, so host-firewall bans work; an ALB
// would hide it), and the web host steps of wordpressPlan as remote commands after each node's Gluster mount.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as random from "@pulumi/random";
import { stepIds as glusterStepIds } from "./glusterPlan";
import { WordPressSource, wordpressPlan } from "./wordpressPlan";
import { Connection, planCommands } from "./webSteps";

/** One web node: a Gluster node of the cluster. */
export interface WordPressNodeArgs {
    /** Node name, e.g. `node-gfs1`; the first node also completes the database install. */
    name: string;
    /** EC2 instance id: the load balancer's target. */
    instanceId: pulumi.Input<string>;
}

export interface WordPressDatabaseArgs {
    /** RDS instance class, e.g. `db.t4g.small`. */
    instanceClass: string;
    /** MySQL engine version, e.g. `8.0`. */
    engineVersion: string;
    /** Storage in GiB (gp3, encrypted). */
    allocatedStorageGiB: number;
    /** Standby in a second zone with automatic failover (prod). */
    multiAz: boolean;
    /** Deletion protection and a final snapshot on delete (prod). Off: the database can be destroyed without one. */
    deletionProtection: boolean;
    /** Days of automated backups (1-35). */
    backupRetentionDays: number;
    /** Database name. */
    name: string;
    /** Master user name (WordPress logs in with it). */
    user: string;
}

export interface WordPressTierArgs {
    /** The web nodes, in order (the Gluster nodes). */
    nodes: WordPressNodeArgs[];
    /** SSH connection per node name (secret). */
    connections: Record<string, Connection>;
    /** Gluster host-step resources by step id (at least `mount-<node>` and `install-<node>` of every node). */
    glusterSteps: Record<string, pulumi.Resource>;
    /** Where the Gluster volume is mounted on every node, e.g. /var/www/html. */
    mountPoint: string;
    /** VPC of the nodes. */
    vpcId: pulumi.Input<string>;
    /** Subnets for the load balancer and the database: at least two zones (RDS requires it); duplicates are dropped. */
    subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Security group of the nodes: gets 80/81 from `webIngressCidr`; the database admits only this group. */
    nodeSecurityGroupId: pulumi.Input<string>;
    /** Database settings. */
    database: WordPressDatabaseArgs;
    /** Where WordPress's files come from (Debian's package or a checksum-verified tarball). */
    source: WordPressSource;
    /** Fixed public URL of the site; empty: the load balancer's http:// address, nodes answer under any Host. */
    siteUrl: string;
    /** Site title at install time. */
    siteTitle: string;
    /** Administrator user created at install time; its password is generated (output `adminPassword`, secret). */
    adminUser: string;
    /** Administrator e-mail. */
    adminEmail: string;
    /** Optional SQL dump (http(s) URL, or a path on node 1) imported once into the empty database. */
    sqlDumpUrl?: string;
    /** ACM certificate ARN: adds a TLS listener on 443 (terminated at the load balancer). */
    certificateArn?: string;
    /** Who may reach the site (ports 80/443 through the load balancer, which keeps client addresses). */
    webIngressCidr: string;
    /**
     * The VPC's CIDR: the load balancer's health checks come from its own addresses in the VPC, so when
     * `webIngressCidr` is narrower than the internet, 80/81 are opened to this range too.
     */
    vpcCidr?: pulumi.Input<string>;
    /** Varnish cache size per node, e.g. 256m. */
    varnishCacheSize: string;
    /** Tags for every AWS resource. */
    tags?: Record<string, string>;
}

/** Characters RDS accepts in a master password (no / @ " or space) and that need no quoting in PHP or my.cnf. */
const DB_PASSWORD_SPECIALS = "!#$%&*()-_=+[]{}<>:?";
/** Salt characters: anything printable but quotes, backslash and space (salts travel space-separated). */
const SALT_SPECIALS = "!#$%&()*+,-.:;<=>?@[]^_{|}~";

export class WordPressTier extends pulumi.ComponentResource {
    /** Database endpoint `host:port`. */
    public readonly dbEndpoint: pulumi.Output<string>;
    /** Database host name. */
    public readonly dbAddress: pulumi.Output<string>;
    /** Load balancer DNS name. */
    public readonly loadBalancerDnsName: pulumi.Output<string>;
    /** The site's URL. */
    public readonly siteUrl: pulumi.Output<string>;
    /** Generated WordPress administrator password (secret). */
    public readonly adminPassword: pulumi.Output<string>;
    /** The RDS instance. */
    public readonly database: aws.rds.Instance;
    /** The network load balancer. */
    public readonly loadBalancer: aws.lb.LoadBalancer;
    /** Host-step commands by step id. */
    public readonly commands: Record<string, command.remote.Command>;

    constructor(name: string, args: WordPressTierArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ha-wordpress:index:WordPressTier", name, args, opts);
        const tags = args.tags ?? {};
        const names = args.nodes.map(n => n.name);
        if (names.length === 0) throw new Error("WordPressTier: at least one node is required");
        for (const n of names) {
            for (const id of [glusterStepIds.mount(n), glusterStepIds.install(n)]) {
                if (!args.glusterSteps[id]) throw new Error(`WordPressTier: glusterSteps has no '${id}'`);
            }
        }
        const subnets = pulumi.output(args.subnetIds).apply(ids => [...new Set(ids)]);

        // ---- database ------------------------------------------------------------------------------------------
        const dbPassword = new random.RandomPassword(`${name}-db-password`, {
            length: 32, special: true, overrideSpecial: DB_PASSWORD_SPECIALS, minLower: 2, minUpper: 2, minNumeric: 2,
        }, { parent: this });
        const dbSg = new aws.ec2.SecurityGroup(`${name}-db`, {
            vpcId: args.vpcId,
            description: "MySQL for WordPress: 3306 from the web nodes only",
            tags: { ...tags, Name: `${name}-db` },
        }, { parent: this });
        new aws.vpc.SecurityGroupIngressRule(`${name}-db-mysql-from-nodes`, {
            securityGroupId: dbSg.id,
            referencedSecurityGroupId: args.nodeSecurityGroupId,
            ipProtocol: "tcp", fromPort: 3306, toPort: 3306,
            description: "MySQL from the web nodes",
            tags,
        }, { parent: this });
        // The nodes' group limits outbound traffic too: let them reach the database, and only it, on 3306.
        new aws.vpc.SecurityGroupEgressRule(`${name}-nodes-mysql-out`, {
            securityGroupId: args.nodeSecurityGroupId,
            referencedSecurityGroupId: dbSg.id,
            ipProtocol: "tcp", fromPort: 3306, toPort: 3306,
            description: "MySQL to the WordPress database",
            tags,
        }, { parent: this });
        const subnetGroup = new aws.rds.SubnetGroup(`${name}-db`, {
            subnetIds: subnets,
            description: "WordPress database subnets",
            tags,
        }, { parent: this });
        const prod = args.database.deletionProtection;
        this.database = new aws.rds.Instance(`${name}-db`, {
            engine: "mysql",
            engineVersion: args.database.engineVersion,
            instanceClass: args.database.instanceClass,
            allocatedStorage: args.database.allocatedStorageGiB,
            storageType: "gp3",
            storageEncrypted: true,
            multiAz: args.database.multiAz,
            dbName: args.database.name,
            username: args.database.user,
            password: pulumi.secret(dbPassword.result),
            dbSubnetGroupName: subnetGroup.name,
            vpcSecurityGroupIds: [dbSg.id],
            publiclyAccessible: false,
            backupRetentionPeriod: args.database.backupRetentionDays,
            backupWindow: "03:00-04:00",
            maintenanceWindow: "sun:04:30-sun:05:30",
            copyTagsToSnapshot: true,
            autoMinorVersionUpgrade: true,
            deletionProtection: prod,
            skipFinalSnapshot: !prod,
            finalSnapshotIdentifier: prod ? `${name}-db-final` : undefined,
            tags,
        }, { parent: this, additionalSecretOutputs: ["password"] });
        this.dbAddress = this.database.address;
        this.dbEndpoint = pulumi.interpolate`${this.database.address}:${this.database.port}`;

        // ---- load balancer -------------------------------------------------------------------------------------
        for (const [port, what] of [[80, "HTTP (load balancer keeps client addresses)"], [81, "HTTP behind the TLS listener"]] as const) {
            new aws.vpc.SecurityGroupIngressRule(`${name}-web-${port}`, {
                securityGroupId: args.nodeSecurityGroupId,
                cidrIpv4: args.webIngressCidr,
                ipProtocol: "tcp", fromPort: port, toPort: port,
                description: `Varnish ${what}`,
                tags,
            }, { parent: this });
            if (args.webIngressCidr !== "0.0.0.0/0" && args.vpcCidr) {
                new aws.vpc.SecurityGroupIngressRule(`${name}-health-${port}`, {
                    securityGroupId: args.nodeSecurityGroupId,
                    cidrIpv4: args.vpcCidr,
                    ipProtocol: "tcp", fromPort: port, toPort: port,
                    description: "Load balancer health checks (from its addresses in the VPC)",
                    tags,
                }, { parent: this });
            }
        }
        this.loadBalancer = new aws.lb.LoadBalancer(`${name}-nlb`, {
            loadBalancerType: "network",
            internal: false,
            subnets,
            enableCrossZoneLoadBalancing: true,
            tags,
        }, { parent: this });
        const targetGroup = (port: number) => new aws.lb.TargetGroup(`${name}-tg${port}`, {
            port, protocol: "TCP", targetType: "instance", vpcId: args.vpcId,
            // The point of an NLB here: Varnish sees (and appends to X-Forwarded-For) the client's own address.
            preserveClientIp: "true",
            deregistrationDelay: 30,
            healthCheck: {
                protocol: "HTTP", port: String(port), path: "/healthz", matcher: "200",
                interval: 10, timeout: 5, healthyThreshold: 3, unhealthyThreshold: 3,
            },
            tags,
        }, { parent: this });
        const attach = (tg: aws.lb.TargetGroup, port: number) => args.nodes.forEach(n =>
            new aws.lb.TargetGroupAttachment(`${name}-tg${port}-${n.name}`, {
                targetGroupArn: tg.arn, targetId: n.instanceId, port,
            }, { parent: this }));
        const http = targetGroup(80);
        attach(http, 80);
        new aws.lb.Listener(`${name}-http`, {
            loadBalancerArn: this.loadBalancer.arn, port: 80, protocol: "TCP",
            defaultActions: [{ type: "forward", targetGroupArn: http.arn }],
            tags,
        }, { parent: this });
        if (args.certificateArn) {
            const tls = targetGroup(81);
            attach(tls, 81);
            new aws.lb.Listener(`${name}-https`, {
                loadBalancerArn: this.loadBalancer.arn, port: 443, protocol: "TLS",
                certificateArn: args.certificateArn,
                sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
                defaultActions: [{ type: "forward", targetGroupArn: tls.arn }],
                tags,
            }, { parent: this });
        }
        this.loadBalancerDnsName = this.loadBalancer.dnsName;
        this.siteUrl = args.siteUrl !== ""
            ? pulumi.output(args.siteUrl)
            : pulumi.interpolate`${args.certificateArn ? "https" : "http"}://${this.loadBalancer.dnsName}`;

        // ---- host steps ----------------------------------------------------------------------------------------
        const salts = Array.from({ length: 8 }, (_, i) => new random.RandomPassword(`${name}-salt-${i + 1}`, {
            length: 64, special: true, overrideSpecial: SALT_SPECIALS,
        }, { parent: this }).result);
        const admin = new random.RandomPassword(`${name}-admin-password`, { length: 24, special: false }, { parent: this });
        this.adminPassword = pulumi.secret(admin.result);

        const plan = wordpressPlan<pulumi.Input<string>>({
            nodes: names,
            mountPoint: args.mountPoint,
            afterMount: Object.fromEntries(names.map(n => [n, [glusterStepIds.mount(n)]])),
            // apt must not run twice at once on a node: web packages after Gluster's install step.
            afterInstall: Object.fromEntries(names.map(n => [n, [glusterStepIds.install(n)]])),
            source: args.source,
            dbHost: this.dbEndpoint,
            dbName: args.database.name,
            dbUser: args.database.user,
            // Secrets explicitly (whatever the provider marks): every command text carrying one is stored encrypted.
            dbPassword: pulumi.secret(dbPassword.result),
            salts: pulumi.secret(pulumi.all(salts).apply(s => s.join(" "))),
            siteUrl: args.siteUrl,
            installUrl: this.siteUrl,
            siteTitle: args.siteTitle,
            adminUser: args.adminUser,
            adminPassword: pulumi.secret(admin.result),
            adminEmail: args.adminEmail,
            sqlDumpUrl: args.sqlDumpUrl,
            cacheSize: args.varnishCacheSize,
        });
        // DB_HOST is the database's endpoint output, so every step that uses it waits for the database too.
        this.commands = planCommands(this, {
            plan, connections: args.connections, external: args.glusterSteps, prefix: name,
            hostTriggers: Object.fromEntries(args.nodes.map(n => [n.name, [n.instanceId]])),
        });

        this.registerOutputs({
            dbEndpoint: this.dbEndpoint, loadBalancerDnsName: this.loadBalancerDnsName, siteUrl: this.siteUrl,
            adminPassword: this.adminPassword,
        });
    }
}
