// WordPressTier: the seed's web tier on the Gluster nodes. A MySQL RDS instance (Multi-AZ and protected in prod), a
// network load balancer with its own security group and instance targets (the client's own address reaches
// Varnish, so host-firewall bans work; an ALB would hide it), and the web host steps of wordpressPlan run by the
// shared builder after each node's Gluster mount.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as random from "@pulumi/random";
import { WordPressSource, webStepIds, wordpressPlan } from "./wordpressPlan";
import { hostCommands } from "./hostCommands";
import { GlusterClusterInfo, SshArgs, clusterConnections, clusterSteps } from "./glusterCluster";
import { stepIds as glusterStepIds } from "./glusterPlan";

/** The WordPress database (RDS MySQL). */
export interface WordPressDatabaseArgs {
    /** RDS instance class, e.g. `db.t4g.small` (no default; the stack's is db.t4g.small). */
    instanceClass: string;
    /** MySQL engine version, e.g. `8.4` (no default; the stack's is 8.4; 8.0 is in paid Extended Support). */
    engineVersion: string;
    /** Initial storage in GiB, gp3, encrypted (no default; the stack's is 20). */
    allocatedStorageGiB: number;
    /** Storage autoscaling ceiling in GiB (>= allocatedStorageGiB). Default: allocatedStorageGiB, no autoscaling. */
    maxAllocatedStorageGiB?: number;
    /** Standby in a second zone with automatic failover (no default; on in prod). */
    multiAz: boolean;
    /**
     * Prod safety (on in prod): deletion protection, Pulumi `protect`, and a final snapshot on delete. Off: the
     * database can be destroyed without one. Automated backups are kept after a delete either way. No default.
     */
    deletionProtection: boolean;
    /** Days of automated backups, 1-35 (HaWordPress sets its `backupRetentionDays`). Default 30. */
    backupRetentionDays?: number;
    /** Database name (no default; the stack's is `wordpress`). */
    name: string;
    /** Master user name: only the db-user step logs in with it (no default; the stack's is `dbmaster`). */
    user: string;
    /** WordPress's own user (privileges on `name` only), created by the db-user step; must differ from `user` (no default). */
    appUser: string;
}

/** Where WordPress's files come from. */
export const WordPressSourceKind = {
    /** Debian's `wordpress` package: works without internet access to wordpress.org. */
    Debian: "debian",
    /** A release tarball, checksum-verified on the node before use. */
    Tarball: "tarball",
} as const;
/** Where WordPress's files come from. */
export type WordPressSourceKind = (typeof WordPressSourceKind)[keyof typeof WordPressSourceKind];

/** Where WordPress's files come from: Debian's package, or a tarball with its checksum. */
export interface WordPressSourceArgs {
    /** `debian` or `tarball` (no default). */
    kind: WordPressSourceKind;
    /** With `debian`: where the package puts the files. Default /usr/share/wordpress. */
    dir?: string;
    /** With `tarball` (required there): its https:// URL, e.g. https://wordpress.org/wordpress-6.8.3.tar.gz. Default none. */
    url?: string;
    /** With `tarball` (required there): its SHA-256, 64 hex digits. Default none. */
    sha256?: string;
}

/** The plan's form of a source, refusing a tarball without its URL or checksum. */
export function wordpressSource(source: WordPressSourceArgs): WordPressSource {
    if (source.kind === "debian") return source.dir ? { kind: "debian", dir: source.dir } : { kind: "debian" };
    if (source.kind === "tarball") {
        if (!source.url || !/^[0-9a-f]{64}$/i.test(source.sha256 ?? "")) {
            throw new Error("WordPressTier: source kind 'tarball' needs `url` and `sha256` (64 hex digits)");
        }
        return { kind: "tarball", url: source.url, sha256: source.sha256! };
    }
    throw new Error(
        `WordPressTier: source kind must be 'debian' or 'tarball', got '${String((source as { kind: unknown }).kind)}'`,
    );
}

/** The plain form of a plan source (what the config validators produce) for WordPressTier's `source` input. */
export function wordpressSourceArgs(source: WordPressSource): WordPressSourceArgs {
    return source.kind === "debian"
        ? { kind: "debian", dir: source.dir }
        : { kind: "tarball", url: source.url, sha256: source.sha256 };
}

/** Inputs of WordPressTier. */
export interface WordPressTierArgs {
    /** The Gluster cluster the site runs on: GlusterCluster's `cluster` output (no default). */
    cluster: GlusterClusterInfo;
    /** How the host steps log in to the nodes: the same user and key as the cluster's (no default). */
    ssh: SshArgs;
    /** VPC of the nodes (no default). */
    vpcId: pulumi.Input<string>;
    /** Subnets for the load balancer and the database: at least two zones (RDS requires it); duplicates are dropped. No default. */
    subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Database settings (no default). */
    database: WordPressDatabaseArgs;
    /** Where WordPress's files come from (Debian's package or a checksum-verified tarball). Default Debian's package. */
    source?: WordPressSourceArgs;
    /** Fixed public URL of the site; empty: the load balancer's http(s):// address, nodes answer under any Host. Default empty. */
    siteUrl?: string;
    /** Site title at install time. Default `HA WordPress`. */
    siteTitle?: string;
    /** Administrator user created at install time; its password is generated (output `adminPassword`, secret). Default `wpadmin`. */
    adminUser?: string;
    /** Administrator e-mail (no default). */
    adminEmail: string;
    /** Optional SQL dump (https:// URL, or a path on node 1) imported once into the empty database. Default none. */
    sqlDumpUrl?: string;
    /** SHA-256 of the dump; required with `sqlDumpUrl`. Default none. */
    sqlDumpSha256?: string;
    /**
     * ACM certificate ARN: adds a TLS listener on 443 (terminated at the load balancer, forwarded to :81), redirects
     * plain HTTP to HTTPS and forces TLS for WordPress logins and the admin. Default none: HTTP on 80 only.
     */
    certificateArn?: string;
    /** Who may reach the site: the load balancer's security group admits this range on 80 (and 443). Default 0.0.0.0/0. */
    webIngressCidr?: string;
    /** Varnish cache size per node, e.g. 256m. Default 256m. */
    varnishCacheSize?: string;
    /** Tags for every AWS resource. Default none. */
    tags?: Record<string, string>;
}

/** Characters RDS accepts in a master password (no / @ " or space) and that need no quoting in PHP, SQL or my.cnf. */
const DB_PASSWORD_SPECIALS = "!#$%&*()-_=+[]{}<>:?";
/** Salt characters: anything printable but quotes, backslash and space (salts travel space-separated). */
const SALT_SPECIALS = "!#$%&()*+,-.:;<=>?@[]^_{|}~";

/**
 * The web tier on the Gluster nodes: a MySQL RDS instance, a network load balancer that keeps the client's address,
 * and Varnish -> Nginx -> PHP-FPM with WordPress on the shared volume, set up by host steps after each node's mount.
 */
export class WordPressTier extends pulumi.ComponentResource {
    /** Database endpoint `host:port`. */
    public readonly dbEndpoint!: pulumi.Output<string>;
    /** Database host name. */
    public readonly dbAddress!: pulumi.Output<string>;
    /** Load balancer DNS name. */
    public readonly loadBalancerDnsName!: pulumi.Output<string>;
    /** The load balancer's security group: the only source the nodes admit on 80/81. */
    public readonly loadBalancerSecurityGroupId!: pulumi.Output<string>;
    /** The site's URL. */
    public readonly siteUrl!: pulumi.Output<string>;
    /** Generated WordPress administrator password (secret). */
    public readonly adminPassword!: pulumi.Output<string>;
    /** Generated password of the database's master user (secret): for the operator's own maintenance logins. */
    public readonly dbMasterPassword!: pulumi.Output<string>;
    /**
     * Per node name, a value that resolves once Nginx serves on that node (and writes the access log the jails
     * follow): Fail2BanJail's `waitFor`.
     */
    public readonly nginxReady!: Record<string, pulumi.Output<string>>;
    /** The load balancer's ARN suffix (`net/NAME/ID`): the LoadBalancer dimension of its CloudWatch metrics. */
    public readonly loadBalancerArnSuffix!: pulumi.Output<string>;
    /** ARN suffix of the target group for port 80 (Varnish): the TargetGroup dimension of its metrics. */
    public readonly targetGroupArnSuffix!: pulumi.Output<string>;
    /** ARN suffix of the target group behind the TLS listener (Varnish's :81); empty without a certificate. */
    public readonly tlsTargetGroupArnSuffix!: pulumi.Output<string>;
    /** The RDS instance identifier: the DBInstanceIdentifier dimension of its metrics. */
    public readonly dbInstanceIdentifier!: pulumi.Output<string>;

    constructor(name: string, args: WordPressTierArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ha-wordpress:index:WordPressTier", name, args, opts);
        Object.assign(this, createWordPressTier(this, name, args));
        this.registerOutputs({
            dbEndpoint: this.dbEndpoint,
            dbAddress: this.dbAddress,
            loadBalancerDnsName: this.loadBalancerDnsName,
            loadBalancerSecurityGroupId: this.loadBalancerSecurityGroupId,
            siteUrl: this.siteUrl,
            adminPassword: this.adminPassword,
            dbMasterPassword: this.dbMasterPassword,
            nginxReady: this.nginxReady,
            loadBalancerArnSuffix: this.loadBalancerArnSuffix,
            targetGroupArnSuffix: this.targetGroupArnSuffix,
            tlsTargetGroupArnSuffix: this.tlsTargetGroupArnSuffix,
            dbInstanceIdentifier: this.dbInstanceIdentifier,
        });
    }
}

/** WordPressTierArgs with every default filled in. */
type TierSettings = WordPressTierArgs &
    Required<Pick<WordPressTierArgs, "siteUrl" | "siteTitle" | "adminUser" | "webIngressCidr" | "varnishCacheSize">>;

function createWordPressTier(parent: pulumi.Resource, name: string, given: WordPressTierArgs) {
    const args: TierSettings = {
        ...given,
        siteUrl: given.siteUrl ?? "",
        siteTitle: given.siteTitle ?? "HA WordPress",
        adminUser: given.adminUser ?? "wpadmin",
        webIngressCidr: given.webIngressCidr ?? "0.0.0.0/0",
        varnishCacheSize: given.varnishCacheSize ?? "256m",
    };
    const source = wordpressSource(given.source ?? { kind: "debian" });
    const tags = args.tags ?? {};
    const names = args.cluster.nodes.map(n => n.name);
    if (names.length === 0) throw new Error("WordPressTier: at least one node is required");
    if (args.database.appUser === args.database.user) {
        throw new Error(
            `WordPressTier: the WordPress database user must differ from the master user '${args.database.user}'`,
        );
    }
    const subnets = pulumi.output(args.subnetIds).apply(ids => [...new Set(ids)]);
    const db = createDatabase(parent, name, args, subnets, tags);
    const lb = createLoadBalancer(parent, name, args, subnets, tags);

    // ---- host steps ----------------------------------------------------------------------------------------
    const password = (id: string, length: number, special: string) =>
        new random.RandomPassword(
            `${name}-${id}`,
            {
                length,
                special: true,
                overrideSpecial: special,
                minLower: 2,
                minUpper: 2,
                minNumeric: 2,
            },
            { parent },
        ).result;
    const appPassword = password("db-app-password", 32, DB_PASSWORD_SPECIALS);
    const salts = Array.from(
        { length: 8 },
        (_, i) =>
            new random.RandomPassword(
                `${name}-salt-${i + 1}`,
                {
                    length: 64,
                    special: true,
                    overrideSpecial: SALT_SPECIALS,
                },
                { parent },
            ).result,
    );
    const admin = new random.RandomPassword(`${name}-admin-password`, { length: 24, special: false }, { parent });
    const adminPassword = pulumi.secret(admin.result);
    const tls = Boolean(args.certificateArn);
    const siteUrl =
        args.siteUrl !== ""
            ? pulumi.output(args.siteUrl)
            : pulumi.interpolate`${tls ? "https" : "http"}://${lb.loadBalancer.dnsName}`;

    const plan = wordpressPlan<pulumi.Input<string>>({
        nodes: names,
        mountPoint: args.cluster.mountPoint,
        afterMount: Object.fromEntries(names.map(n => [n, [glusterStepIds.mount(n)]])),
        // apt must not run twice at once on a node: web packages after Gluster's install step.
        afterInstall: Object.fromEntries(names.map(n => [n, [glusterStepIds.install(n)]])),
        source,
        // The endpoint is the database's output: every step that uses it waits for the database too.
        dbHost: db.endpoint,
        dbName: args.database.name,
        dbMasterUser: args.database.user,
        dbMasterPassword: db.masterPassword,
        dbUser: args.database.appUser,
        dbPassword: pulumi.secret(appPassword),
        salts: pulumi.secret(pulumi.all(salts).apply(s => s.join(" "))),
        siteUrl: args.siteUrl,
        installUrl: siteUrl,
        tls,
        siteTitle: args.siteTitle,
        adminUser: args.adminUser,
        adminPassword,
        adminEmail: args.adminEmail,
        sqlDumpUrl: args.sqlDumpUrl,
        sqlDumpSha256: args.sqlDumpSha256,
        cacheSize: args.varnishCacheSize,
    });
    const commands = hostCommands(parent, {
        plan,
        connections: clusterConnections(args.cluster, args.ssh),
        external: clusterSteps(args.cluster),
        prefix: name,
        hostTriggers: Object.fromEntries(args.cluster.nodes.map(n => [n.name, [n.instanceId]])),
    });
    return {
        dbEndpoint: db.endpoint,
        dbAddress: db.instance.address,
        dbMasterPassword: db.masterPassword,
        loadBalancerSecurityGroupId: lb.securityGroup.id,
        loadBalancerDnsName: lb.loadBalancer.dnsName,
        siteUrl,
        adminPassword,
        nginxReady: Object.fromEntries(names.map(n => [n, commands[webStepIds.nginx(n)].id])),
        loadBalancerArnSuffix: lb.loadBalancer.arnSuffix,
        targetGroupArnSuffix: lb.targetGroups.find(t => t.port === 80)!.arnSuffix,
        tlsTargetGroupArnSuffix: lb.targetGroups.find(t => t.port === 81)?.arnSuffix ?? pulumi.output(""),
        dbInstanceIdentifier: db.instance.identifier,
    };
}

function createDatabase(
    parent: pulumi.Resource,
    name: string,
    args: TierSettings,
    subnets: pulumi.Output<string[]>,
    tags: Record<string, string>,
) {
    const nodeSg = args.cluster.securityGroupId;
    const masterPassword = new random.RandomPassword(
        `${name}-db-password`,
        {
            length: 32,
            special: true,
            overrideSpecial: DB_PASSWORD_SPECIALS,
            minLower: 2,
            minUpper: 2,
            minNumeric: 2,
        },
        { parent },
    );
    const dbSg = new aws.ec2.SecurityGroup(
        `${name}-db`,
        {
            vpcId: args.vpcId,
            description: "MySQL for WordPress: 3306 from the web nodes only",
            tags: { ...tags, Name: `${name}-db` },
        },
        { parent },
    );
    new aws.vpc.SecurityGroupIngressRule(
        `${name}-db-mysql-from-nodes`,
        {
            securityGroupId: dbSg.id,
            referencedSecurityGroupId: nodeSg,
            ipProtocol: "tcp",
            fromPort: 3306,
            toPort: 3306,
            description: "MySQL from the web nodes",
            tags,
        },
        { parent },
    );
    // The nodes' group limits outbound traffic too: let them reach the database, and only it, on 3306.
    new aws.vpc.SecurityGroupEgressRule(
        `${name}-nodes-mysql-out`,
        {
            securityGroupId: nodeSg,
            referencedSecurityGroupId: dbSg.id,
            ipProtocol: "tcp",
            fromPort: 3306,
            toPort: 3306,
            description: "MySQL to the WordPress database",
            tags,
        },
        { parent },
    );
    const subnetGroup = new aws.rds.SubnetGroup(
        `${name}-db`,
        {
            subnetIds: subnets,
            description: "WordPress database subnets",
            tags,
        },
        { parent },
    );
    const d = args.database;
    const prod = d.deletionProtection;
    // A final snapshot name must be unique in the account and region: a fixed one collides with the snapshot of
    // an earlier stack (or database) of the same name, and the delete then fails.
    const snapshotSuffix = new random.RandomId(`${name}-db-final-snapshot`, { byteLength: 4 }, { parent });
    const instance = new aws.rds.Instance(
        `${name}-db`,
        {
            engine: "mysql",
            engineVersion: d.engineVersion,
            instanceClass: d.instanceClass,
            allocatedStorage: d.allocatedStorageGiB,
            // Storage autoscaling: a full disk stops the site; RDS grows it up to this ceiling.
            maxAllocatedStorage:
                d.maxAllocatedStorageGiB && d.maxAllocatedStorageGiB > d.allocatedStorageGiB
                    ? d.maxAllocatedStorageGiB
                    : undefined,
            storageType: "gp3",
            storageEncrypted: true,
            multiAz: d.multiAz,
            dbName: d.name,
            username: d.user,
            password: pulumi.secret(masterPassword.result),
            dbSubnetGroupName: subnetGroup.name,
            vpcSecurityGroupIds: [dbSg.id],
            publiclyAccessible: false,
            backupRetentionPeriod: d.backupRetentionDays ?? 30,
            backupWindow: "03:00-04:00",
            maintenanceWindow: "sun:04:30-sun:05:30",
            copyTagsToSnapshot: true,
            autoMinorVersionUpgrade: true,
            deletionProtection: prod,
            // A deleted database keeps its automated backups (point-in-time restore) until they expire.
            deleteAutomatedBackups: false,
            skipFinalSnapshot: !prod,
            finalSnapshotIdentifier: prod
                ? pulumi.interpolate`${pulumi.getStack()}-${name}-db-final-${snapshotSuffix.hex}`
                : undefined,
            tags,
        },
        {
            parent,
            additionalSecretOutputs: ["password"],
            // In prod a `pulumi destroy` or a replacing change stops here, before AWS is even asked.
            protect: prod,
        },
    );
    return {
        instance,
        masterPassword: pulumi.secret(masterPassword.result),
        endpoint: pulumi.interpolate`${instance.address}:${instance.port}`,
    };
}

function createLoadBalancer(
    parent: pulumi.Resource,
    name: string,
    args: TierSettings,
    subnets: pulumi.Output<string[]>,
    tags: Record<string, string>,
) {
    const nodeSg = args.cluster.securityGroupId;
    const tls = Boolean(args.certificateArn);
    const ports = tls
        ? [
              { listen: 80, target: 80 },
              { listen: 443, target: 81 },
          ]
        : [{ listen: 80, target: 80 }];
    // The load balancer's own group (it can only be given at creation): clients reach it on its listeners, and
    // the nodes admit 80/81 only from it. AWS: targets accept traffic that references the load balancer's group
    // even with client IP preservation on, so the nodes still see (and ban) the client's own address.
    const securityGroup = new aws.ec2.SecurityGroup(
        `${name}-lb`,
        {
            vpcId: args.vpcId,
            description: "WordPress load balancer: the site's listeners from webIngressCidr, to the nodes only",
            tags: { ...tags, Name: `${name}-lb` },
        },
        { parent },
    );
    for (const p of ports) {
        new aws.vpc.SecurityGroupIngressRule(
            `${name}-nlb-in-${p.listen}`,
            {
                securityGroupId: securityGroup.id,
                cidrIpv4: args.webIngressCidr,
                ipProtocol: "tcp",
                fromPort: p.listen,
                toPort: p.listen,
                description: p.listen === 443 ? "HTTPS (TLS listener)" : tls ? "HTTP (redirects to HTTPS)" : "HTTP",
                tags,
            },
            { parent },
        );
        new aws.vpc.SecurityGroupEgressRule(
            `${name}-nlb-out-${p.target}`,
            {
                securityGroupId: securityGroup.id,
                referencedSecurityGroupId: nodeSg,
                ipProtocol: "tcp",
                fromPort: p.target,
                toPort: p.target,
                description: "to Varnish on the nodes (traffic and health checks)",
                tags,
            },
            { parent },
        );
        new aws.vpc.SecurityGroupIngressRule(
            `${name}-web-${p.target}`,
            {
                securityGroupId: nodeSg,
                referencedSecurityGroupId: securityGroup.id,
                ipProtocol: "tcp",
                fromPort: p.target,
                toPort: p.target,
                description:
                    p.target === 81
                        ? "Varnish behind the TLS listener, from the load balancer only"
                        : "Varnish, from the load balancer only",
                tags,
            },
            { parent },
        );
    }
    const loadBalancer = new aws.lb.LoadBalancer(
        `${name}-nlb`,
        {
            loadBalancerType: "network",
            internal: false,
            subnets,
            securityGroups: [securityGroup.id],
            enableCrossZoneLoadBalancing: true,
            tags,
        },
        { parent },
    );
    const targetGroups: { port: number; arnSuffix: pulumi.Output<string> }[] = [];
    for (const p of ports) {
        const tg = new aws.lb.TargetGroup(
            `${name}-tg${p.target}`,
            {
                port: p.target,
                protocol: "TCP",
                targetType: "instance",
                vpcId: args.vpcId,
                // The point of an NLB here: Varnish sees (and appends to X-Forwarded-For) the client's own address.
                preserveClientIp: "true",
                deregistrationDelay: 30,
                healthCheck: {
                    protocol: "HTTP",
                    port: String(p.target),
                    path: "/healthz",
                    matcher: "200",
                    interval: 10,
                    timeout: 5,
                    healthyThreshold: 3,
                    unhealthyThreshold: 3,
                },
                tags,
            },
            { parent },
        );
        targetGroups.push({ port: p.target, arnSuffix: tg.arnSuffix });
        args.cluster.nodes.forEach(
            n =>
                new aws.lb.TargetGroupAttachment(
                    `${name}-tg${p.target}-${n.name}`,
                    {
                        targetGroupArn: tg.arn,
                        targetId: n.instanceId,
                        port: p.target,
                    },
                    { parent },
                ),
        );
        new aws.lb.Listener(
            p.listen === 443 ? `${name}-https` : `${name}-http`,
            {
                loadBalancerArn: loadBalancer.arn,
                port: p.listen,
                protocol: p.listen === 443 ? "TLS" : "TCP",
                certificateArn: p.listen === 443 ? args.certificateArn : undefined,
                sslPolicy: p.listen === 443 ? "ELBSecurityPolicy-TLS13-1-2-2021-06" : undefined,
                defaultActions: [{ type: "forward", targetGroupArn: tg.arn }],
                tags,
            },
            { parent },
        );
    }
    return { loadBalancer, securityGroup, targetGroups };
}
