// Fail2BanJail: jailwatch on every web node, with bans shared between the nodes.
//
// Shipping the binary: it is uploaded ONCE per content (an S3 object keyed by its SHA-256, in a private, encrypted
// bucket), and every node fetches it through an S3 gateway endpoint of the VPC. The bucket policy admits reads only
// through that endpoint, so the nodes need neither credentials nor the AWS CLI (plain curl), the operator's link
// carries the ~35-100 MB once instead of once per node, and the download is verified against the hash on the node.
//
// Sharing bans: the load balancer spreads one attacker over all nodes, so each node tells its peers about a ban
// (jailwatch's peer messages, authenticated with a generated shared secret). The peer port is open only between
// members of the nodes' security group.
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as random from "@pulumi/random";
import {
    DEFAULT_PEER_PORT, JailOverrides, defaultJails, encodeBundle, fail2banPlan, jailOverridesText, jailStepIds,
    configSha256, sha256, shippedConfig, unitFile,
} from "./fail2banPlan";
import { Connection, planCommands } from "./webSteps";

export interface Fail2BanNodeArgs {
    /** Node name, e.g. `node-gfs1`. */
    name: string;
    /** Private address: where the other nodes send ban messages. */
    privateIp: pulumi.Input<string>;
    /** EC2 instance id: a replaced instance gets every step again. */
    instanceId: pulumi.Input<string>;
}

export interface Fail2BanJailArgs {
    /** The nodes; every node shares its bans with all others. */
    nodes: Fail2BanNodeArgs[];
    /** SSH connection per node name (secret). */
    connections: Record<string, Connection>;
    /** Path of the jailwatch executable on the operator's machine (`npm run build` makes dist/jailwatch). */
    binaryPath: string;
    /** AWS region of the VPC (for the S3 gateway endpoint). */
    region: string;
    /** VPC of the nodes. */
    vpcId: pulumi.Input<string>;
    /** Route tables of the nodes' subnets (the S3 endpoint's routes go there); default: every route table of the VPC. */
    routeTableIds?: pulumi.Input<pulumi.Input<string>[]>;
    /** Never banned besides loopback, e.g. the VPC CIDR (load balancer health checks, the nodes themselves). */
    ignoreIp: pulumi.Input<string>[];
    /** Security group of the nodes: the peer port is opened from this group to itself only. */
    nodeSecurityGroupId: pulumi.Input<string>;
    /** TCP port of the peer messages. Default 7478. */
    peerPort?: number;
    /** Per-jail overrides (jail.local); default: defaultJails() (seed's xmlrpc values: 20 in 120 s, 12 h; ports 80/81/443). */
    jails?: Record<string, JailOverrides>;
    /** Resources each node's jail steps wait for, by node name (e.g. its Nginx step, which creates the log). */
    after?: Record<string, pulumi.Resource[]>;
    /** Tags for every AWS resource. */
    tags?: Record<string, string>;
}

export class Fail2BanJail extends pulumi.ComponentResource {
    /** SHA-256 of the deployed binary. */
    public readonly binarySha256: string;
    /** SHA-256 over the shipped config files, overrides and unit. */
    public readonly configSha256: string;
    /** Where the nodes fetch the binary. */
    public readonly binaryUrl: pulumi.Output<string>;
    /** Host-step commands by step id. */
    public readonly commands: Record<string, command.remote.Command>;

    constructor(name: string, args: Fail2BanJailArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ha-wordpress:index:Fail2BanJail", name, args, opts);
        const tags = args.tags ?? {};
        const port = args.peerPort ?? DEFAULT_PEER_PORT;
        if (!fs.existsSync(args.binaryPath)) {
            throw new Error(`Fail2BanJail: jailwatch binary not found at ${args.binaryPath} (run \`npm run build\`, or set ha-wordpress:jailwatchBinary)`);
        }
        const binary = fs.readFileSync(args.binaryPath);
        this.binarySha256 = sha256(binary);
        const jails = args.jails ?? defaultJails();
        this.configSha256 = configSha256(encodeBundle(shippedConfig()), jailOverridesText(jails), unitFile());

        // ---- the binary, once per content ----------------------------------------------------------------------
        const bucket = new aws.s3.BucketV2(`${name}-artifacts`, { forceDestroy: true, tags }, { parent: this });
        new aws.s3.BucketPublicAccessBlock(`${name}-artifacts`, {
            bucket: bucket.id,
            blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
        }, { parent: this });
        new aws.s3.BucketServerSideEncryptionConfigurationV2(`${name}-artifacts`, {
            bucket: bucket.id,
            rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
        }, { parent: this });
        new aws.s3.BucketOwnershipControls(`${name}-artifacts`, {
            bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" },
        }, { parent: this });
        const routeTableIds = args.routeTableIds
            ?? aws.ec2.getRouteTablesOutput({ vpcId: args.vpcId }, { parent: this }).ids;
        const endpoint = new aws.ec2.VpcEndpoint(`${name}-s3`, {
            vpcId: args.vpcId,
            serviceName: `com.amazonaws.${args.region}.s3`,
            vpcEndpointType: "Gateway",
            routeTableIds,
            tags: { ...tags, Name: `${name}-s3` },
        }, { parent: this });
        // Reads of the binary only through the VPC's endpoint (a fixed aws:SourceVpce keeps the policy non-public),
        // and only over TLS.
        new aws.s3.BucketPolicy(`${name}-artifacts`, {
            bucket: bucket.id,
            policy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [
                    {
                        Sid: "NodesReadThroughTheVpcEndpoint", Effect: "Allow", Principal: "*",
                        Action: "s3:GetObject", Resource: pulumi.interpolate`${bucket.arn}/jailwatch/*`,
                        Condition: { StringEquals: { "aws:SourceVpce": endpoint.id } },
                    },
                    {
                        Sid: "TlsOnly", Effect: "Deny", Principal: "*", Action: "s3:*",
                        Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
                        Condition: { Bool: { "aws:SecureTransport": "false" } },
                    },
                ],
            }),
        }, { parent: this });
        const object = new aws.s3.BucketObjectv2(`${name}-jailwatch`, {
            bucket: bucket.id,
            key: `jailwatch/${this.binarySha256}/jailwatch`,
            source: new pulumi.asset.FileAsset(args.binaryPath),
            contentType: "application/octet-stream",
            serverSideEncryption: "AES256",
            tags,
        }, { parent: this });
        this.binaryUrl = pulumi.interpolate`https://${bucket.bucketRegionalDomainName}/${object.key}`;

        // ---- ban sharing ---------------------------------------------------------------------------------------
        const peerSecret = new random.RandomPassword(`${name}-peer-secret`, { length: 48, special: false }, { parent: this });
        new aws.vpc.SecurityGroupIngressRule(`${name}-peers`, {
            securityGroupId: args.nodeSecurityGroupId,
            referencedSecurityGroupId: args.nodeSecurityGroupId,
            ipProtocol: "tcp", fromPort: port, toPort: port,
            description: "jailwatch ban sharing between the web nodes",
            tags,
        }, { parent: this });

        // ---- host steps ----------------------------------------------------------------------------------------
        const names = args.nodes.map(n => n.name);
        const ipOf = Object.fromEntries(args.nodes.map(n => [n.name, n.privateIp]));
        const plan = fail2banPlan<pulumi.Input<string>>({
            nodes: names,
            addresses: ipOf,
            peers: Object.fromEntries(names.map(n => [n,
                pulumi.all(names.filter(o => o !== n).map(o => ipOf[o])).apply(ips => ips.join(" "))])),
            // Explicitly secret: the command text carrying it must never be stored in plain text.
            peerSecret: pulumi.secret(peerSecret.result),
            peerPort: port,
            // The binary step waits for the object (its URL is an output of it).
            binaryUrl: this.binaryUrl,
            binarySha256: this.binarySha256,
            ignoreIp: pulumi.all(args.ignoreIp).apply(a => a.join(" ")),
            jails,
            after: Object.fromEntries(names.map(n => [n, (args.after?.[n] ?? []).map((_, i) => `after-${n}-${i}`)])),
        });
        const external: Record<string, pulumi.Resource> = {};
        for (const n of names) (args.after?.[n] ?? []).forEach((r, i) => { external[`after-${n}-${i}`] = r; });

        // Each command runs again exactly when what it deploys changes: triggers are content hashes.
        const triggers: Record<string, pulumi.Input<unknown>[]> = {};
        for (const n of names) {
            triggers[jailStepIds.binary(n)] = [this.binarySha256];
            triggers[jailStepIds.config(n)] = [this.configSha256];
        }
        const hostTriggers = Object.fromEntries(args.nodes.map(n => [n.name, [n.instanceId]]));
        const firstPass = planCommands(this, {
            plan: plan.filter(s => !s.id.startsWith("jailwatch-service-")),
            connections: args.connections, external, triggers, hostTriggers, prefix: name,
        });
        // The service restarts on a new binary or any change of its node's config (incl. peers and secret).
        const serviceTriggers: Record<string, pulumi.Input<unknown>[]> = {};
        for (const n of names) {
            serviceTriggers[jailStepIds.service(n)] = [
                this.binarySha256, this.configSha256,
                firstPass[jailStepIds.config(n)].create.apply(t => sha256(t ?? "")),
            ];
        }
        const services = planCommands(this, {
            plan: plan.filter(s => s.id.startsWith("jailwatch-service-")),
            connections: args.connections, external: { ...external, ...firstPass }, triggers: serviceTriggers,
            hostTriggers, prefix: name,
        });
        this.commands = { ...firstPass, ...services };
        this.registerOutputs({ binaryUrl: this.binaryUrl, binarySha256: this.binarySha256, configSha256: this.configSha256 });
    }
}
