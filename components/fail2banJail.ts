// Fail2BanJail: jailwatch on every web node, with bans shared between the nodes.
//
// Shipping the binary: it is uploaded ONCE per content (an S3 object keyed by its SHA-256, in a private, encrypted
// bucket), and every node fetches it through the network's S3 gateway endpoint. The bucket policy admits reads only
// through that endpoint, so the nodes need neither credentials nor the AWS CLI (plain curl), the operator's link
// carries the ~100 MB once instead of once per node, and the download is verified against the hash on the node.
// The executable must match the nodes' architecture; it is checked (ELF header and machine) before the upload.
//
// Sharing bans: the load balancer spreads one attacker over all nodes, so each node tells its peers about a ban
// (jailwatch's peer messages, authenticated with a generated shared secret, sent on the step's stdin). The peer port
// is open only between members of the nodes' security group.
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as random from "@pulumi/random";
import {
    DEFAULT_PEER_PORT,
    JailOverrides,
    defaultJails,
    encodeBundle,
    fail2banPlan,
    jailOverridesText,
    jailStepIds,
    configSha256,
    sha256,
    shippedConfig,
    unitFile,
} from "./fail2banPlan";
import { hostCommands, stepText, waitFor } from "./hostCommands";
import { GlusterClusterInfo, SshArgs, clusterConnections } from "./glusterCluster";
import { executableProblem } from "./elf";

/** Inputs of Fail2BanJail. */
export interface Fail2BanJailArgs {
    /** The Gluster cluster the jails run on: GlusterCluster's `cluster` output (no default). */
    cluster: GlusterClusterInfo;
    /** How the host steps log in to the nodes: the same user and key as the cluster's (no default). */
    ssh: SshArgs;
    /**
     * Path of the jailwatch executable on the operator's machine, built for the nodes' architecture
     * (`npm run build` makes dist/jailwatch-linux-x64 and dist/jailwatch-linux-arm64). No default.
     */
    binaryPath: string;
    /**
     * The VPC's S3 gateway endpoint the nodes fetch through (Network.s3EndpointId): the binary steps wait for
     * whatever produced it (the endpoint and its routes). No default.
     */
    s3EndpointId: pulumi.Input<string>;
    /** Never banned besides loopback, e.g. the VPC CIDR (the nodes themselves). No default. */
    ignoreIp: pulumi.Input<string>[];
    /** TCP port of the peer messages. Default 7478. */
    peerPort?: number;
    /** Per-jail overrides (jail.local), by jail name. Default: the seed's xmlrpc values (20 in 120 s, 12 h) and the login jail, ports 80/81/443. */
    jails?: Record<string, JailOverrides>;
    /**
     * Per node name, a value the node's jail steps wait for (what produced it must be done first): WordPressTier's
     * `nginxReady`, as Nginx creates the log the jails follow. Default none.
     */
    waitFor?: Record<string, pulumi.Input<string>>;
    /** Tags for every AWS resource. Default none. */
    tags?: Record<string, string>;
}

/** jailwatch, our fail2ban-compatible watcher, on every node: bans in nftables, shared between the nodes. */
export class Fail2BanJail extends pulumi.ComponentResource {
    /** SHA-256 of the deployed binary. */
    public readonly binarySha256!: string;
    /** SHA-256 over the shipped config files, overrides and unit. */
    public readonly configSha256!: string;
    /** Where the nodes fetch the binary. */
    public readonly binaryUrl!: pulumi.Output<string>;

    constructor(name: string, args: Fail2BanJailArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ha-wordpress:index:Fail2BanJail", name, args, opts);
        Object.assign(this, createFail2BanJail(this, name, args));
        this.registerOutputs({
            binaryUrl: this.binaryUrl,
            binarySha256: this.binarySha256,
            configSha256: this.configSha256,
        });
    }
}

/** Reads the executable and refuses one the nodes cannot run. */
export function readNodeExecutable(binaryPath: string, architecture: "x86_64" | "arm64"): Buffer {
    if (!fs.existsSync(binaryPath)) {
        throw new Error(
            `Fail2BanJail: jailwatch binary not found at ${binaryPath} (run \`npm run build\`, or set ha-wordpress:jailwatchBinary)`,
        );
    }
    const binary = fs.readFileSync(binaryPath);
    const problem = executableProblem(binary, architecture);
    if (problem) {
        throw new Error(
            `Fail2BanJail: ${binaryPath} ${problem} (${architecture} instances); ` +
                "run `npm run build` (it builds both Linux architectures), or set ha-wordpress:jailwatchBinary to the right build",
        );
    }
    return binary;
}

function createFail2BanJail(parent: pulumi.Resource, name: string, args: Fail2BanJailArgs) {
    const tags = args.tags ?? {};
    const port = args.peerPort ?? DEFAULT_PEER_PORT;
    const binarySha256 = sha256(readNodeExecutable(args.binaryPath, args.cluster.architecture));
    const jails = args.jails ?? defaultJails();
    const cfgSha = configSha256(encodeBundle(shippedConfig()), jailOverridesText(jails), unitFile());

    // ---- the binary, once per content ----------------------------------------------------------------------
    const bucket = new aws.s3.Bucket(`${name}-artifacts`, { forceDestroy: true, tags }, { parent });
    const publicAccess = new aws.s3.BucketPublicAccessBlock(
        `${name}-artifacts`,
        {
            bucket: bucket.id,
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        },
        { parent },
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
        `${name}-artifacts`,
        {
            bucket: bucket.id,
            rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
        },
        { parent },
    );
    new aws.s3.BucketOwnershipControls(
        `${name}-artifacts`,
        {
            bucket: bucket.id,
            rule: { objectOwnership: "BucketOwnerEnforced" },
        },
        { parent },
    );
    // Reads of the binary only through the VPC's endpoint (a fixed aws:SourceVpce keeps the policy non-public),
    // and only over TLS.
    const policy = new aws.s3.BucketPolicy(
        `${name}-artifacts`,
        {
            bucket: bucket.id,
            policy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [
                    {
                        Sid: "NodesReadThroughTheVpcEndpoint",
                        Effect: "Allow",
                        Principal: "*",
                        Action: "s3:GetObject",
                        Resource: pulumi.interpolate`${bucket.arn}/jailwatch/*`,
                        Condition: { StringEquals: { "aws:SourceVpce": args.s3EndpointId } },
                    },
                    {
                        Sid: "TlsOnly",
                        Effect: "Deny",
                        Principal: "*",
                        Action: "s3:*",
                        Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
                        Condition: { Bool: { "aws:SecureTransport": "false" } },
                    },
                ],
            }),
        },
        { parent, dependsOn: [publicAccess] },
    );
    const object = new aws.s3.BucketObjectv2(
        `${name}-jailwatch`,
        {
            bucket: bucket.id,
            key: `jailwatch/${binarySha256}/jailwatch`,
            source: new pulumi.asset.FileAsset(args.binaryPath),
            contentType: "application/octet-stream",
            serverSideEncryption: "AES256",
            tags,
        },
        { parent },
    );
    const binaryUrl = pulumi.interpolate`https://${bucket.bucketRegionalDomainName}/${object.key}`;

    // ---- ban sharing ---------------------------------------------------------------------------------------
    const peerSecret = new random.RandomPassword(`${name}-peer-secret`, { length: 48, special: false }, { parent });
    new aws.vpc.SecurityGroupIngressRule(
        `${name}-peers`,
        {
            securityGroupId: args.cluster.securityGroupId,
            referencedSecurityGroupId: args.cluster.securityGroupId,
            ipProtocol: "tcp",
            fromPort: port,
            toPort: port,
            description: "jailwatch ban sharing between the web nodes",
            tags,
        },
        { parent },
    );

    // ---- host steps ----------------------------------------------------------------------------------------
    const nodes = args.cluster.nodes;
    const names = nodes.map(n => n.name);
    const ipOf = Object.fromEntries(nodes.map(n => [n.name, n.privateIp]));
    const plan = fail2banPlan<pulumi.Input<string>>({
        nodes: names,
        addresses: ipOf,
        peers: Object.fromEntries(
            names.map(n => [n, pulumi.all(names.filter(o => o !== n).map(o => ipOf[o])).apply(ips => ips.join(" "))]),
        ),
        peerSecret: pulumi.secret(peerSecret.result),
        peerPort: port,
        // The binary step waits for the object (its URL is an output of it).
        binaryUrl,
        binarySha256,
        ignoreIp: pulumi.all(args.ignoreIp).apply(a => a.join(" ")),
        jails,
        after: Object.fromEntries(names.map(n => [n, args.waitFor?.[n] !== undefined ? [`after-${n}`] : []])),
    });
    const external: Record<string, pulumi.Input<string>> = {};
    for (const n of names) if (args.waitFor?.[n] !== undefined) external[`after-${n}`] = args.waitFor[n];

    // Each command runs again exactly when what it deploys changes: triggers are content hashes. The service
    // restarts on a new binary or any change of its node's config: its text, and the peer secret (a secret trigger).
    const triggers: Record<string, pulumi.Input<unknown>[]> = {};
    for (const n of names) {
        const configStep = plan.find(s => s.id === jailStepIds.config(n))!;
        triggers[jailStepIds.binary(n)] = [binarySha256];
        triggers[jailStepIds.config(n)] = [cfgSha];
        triggers[jailStepIds.service(n)] = [
            binarySha256,
            cfgSha,
            stepText(configStep).apply(sha256),
            pulumi.secret(peerSecret.result),
        ];
    }
    // A node's first S3 read must find the endpoint routed and the policy in place, else it gets 403.
    const ready = [policy, object, waitFor(args.s3EndpointId)];
    hostCommands(parent, {
        plan,
        connections: clusterConnections(args.cluster, args.ssh),
        external,
        triggers,
        extraDependsOn: Object.fromEntries(names.map(n => [jailStepIds.binary(n), ready])),
        hostTriggers: Object.fromEntries(nodes.map(n => [n.name, [n.instanceId]])),
        prefix: name,
    });
    return { binarySha256, configSha256: cfgSha, binaryUrl };
}
