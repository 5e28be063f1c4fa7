// ha-wordpress: the Pulumi program. Config in -> network -> GlusterCluster -> (WordPressTier, Fail2BanJail) -> outputs.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { CONFIG_KEYS, PROJECT, SECRET_KEYS, StackConfigError, fileLocator, validateConfig } from "./components/config";
import { Network } from "./components/network";
import { GlusterCluster } from "./components/glusterCluster";
import { WEB_CONFIG_KEYS, validateWebConfig } from "./components/webConfig";
import { WordPressTier } from "./components/wordpressTier";
import { Fail2BanJail } from "./components/fail2banJail";
import { webStepIds } from "./components/wordpressPlan";
import { defaultJails } from "./components/fail2banPlan";
import { JAILWATCH_BUILDS } from "./components/elf";

/** Owner id of the official Debian cloud images on AWS. */
export const DEBIAN_AMI_OWNER = "136693071363";

// ---- config: read every key, validate all at once, fail before any resource is declared ----
const cfg = new pulumi.Config();
const raw: Record<string, string | undefined> = {};
for (const key of [...CONFIG_KEYS, ...WEB_CONFIG_KEYS]) raw[key] = cfg.get(key);
// The SDK knows which keys were set with --secret but exports that only internally; if it ever goes away, trust the
// key rather than block every deployment.
function isStoredAsSecret(fullKey: string): boolean {
    const check = (pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
    return typeof check === "function" ? check(fullKey) : true;
}
const stackFileName = `Pulumi.${pulumi.getStack()}.yaml`;
const readText = (file: string) => { try { return fs.readFileSync(path.join(__dirname, file), "utf8"); } catch { return undefined; } };
const { config, webConfig } = (() => {
    const locate = fileLocator({ name: stackFileName, text: readText(stackFileName) }, { name: "Pulumi.yaml", text: readText("Pulumi.yaml") });
    const problems: string[] = [];
    const attempt = <T>(f: () => T): T | undefined => {
        try { return f(); } catch (e) { if (e instanceof StackConfigError) { problems.push(...e.problems); return undefined; } throw e; }
    };
    const config = attempt(() => validateConfig(raw, {
        secretKeys: SECRET_KEYS.map(k => `${PROJECT}:${k}`).filter(isStoredAsSecret),
        locate,
    }));
    const webConfig = attempt(() => validateWebConfig(raw, { locate }));
    // RunError: Pulumi prints the message alone, without a stack trace that would bury the list of problems.
    if (!config || !webConfig) throw new pulumi.RunError(new StackConfigError(problems).message);
    return { config, webConfig };
})();
for (const warning of config.warnings) void pulumi.log.warn(warning);
const tags = { project: PROJECT, stack: pulumi.getStack() };

// Every AWS resource goes through this provider, so `region` is the only region setting that matters.
const provider = new aws.Provider("aws", { region: config.region as aws.Region });

const ami: pulumi.Input<string> = config.ami ?? aws.ec2.getAmiOutput({
    owners: [DEBIAN_AMI_OWNER],
    mostRecent: true,
    filters: [
        { name: "name", values: [`debian-12-${config.architecture === "arm64" ? "arm64" : "amd64"}-*`] },
        { name: "architecture", values: [config.architecture] },
        { name: "virtualization-type", values: ["hvm"] },
    ],
}, { provider }).id;

// ---- network ----
const network = new Network("net", {
    region: config.region,
    zones: config.zonesInUse,
    vpcCidr: config.vpcCidr,
    existing: config.existingNetwork,
    tags,
}, { providers: [provider] });

// ---- GlusterFS: three nodes, replica 3, mounted at mountPoint on every node ----
const sshPrivateKey = pulumi.secret(config.sshPrivateKey);
const cluster = new GlusterCluster("gluster", {
    nodeNames: config.nodeNames,
    availabilityZones: config.azs,
    subnetIds: config.azs.map((zone, i) => network.subnetIdForNode(i, zone)),
    vpcId: network.vpcId,
    ami,
    instanceType: config.instanceType,
    architecture: config.architecture,
    keyName: config.keyName,
    brickVolume: config.brickVolume,
    adminCidr: config.adminCidr,
    ssh: { user: config.sshUser, privateKey: sshPrivateKey, via: config.connectVia },
    volumeName: config.volumeName,
    brickPath: config.brickPath,
    mountPoint: config.mountPoint,
    pingTimeout: config.pingTimeout,
    retainBricks: config.retainBricks,
    tags,
}, { providers: [provider] });

// WordPressTier and Fail2BanJail run on the same nodes and take `cluster.cluster`, one typed bundle (nodes with
// their connections and mount steps, security group, mount point). Only plain values are exported below:
// everything exported becomes a stack output, and `config` holds the key.

// ---- web tier: MySQL (RDS), network load balancer, Varnish -> Nginx -> PHP-FPM, WordPress on the volume ----
const vpcCidr: pulumi.Input<string> = config.existingNetwork
    ? aws.ec2.getVpcOutput({ id: config.existingNetwork.vpcId }, { provider }).cidrBlock
    : config.vpcCidr;
const web = new WordPressTier("web", {
    cluster: cluster.cluster,
    vpcId: network.vpcId,
    subnetIds: network.subnetIds,
    database: webConfig.db,
    source: webConfig.source,
    siteUrl: webConfig.siteUrl,
    siteTitle: webConfig.siteTitle,
    adminUser: webConfig.adminUser,
    adminEmail: webConfig.adminEmail,
    sqlDumpUrl: webConfig.sqlDumpUrl || undefined,
    sqlDumpSha256: webConfig.sqlDumpSha256 || undefined,
    certificateArn: webConfig.certificateArn,
    webIngressCidr: webConfig.webIngressCidr,
    varnishCacheSize: webConfig.varnishCacheSize,
    tags,
}, { providers: [provider] });

// ---- jailwatch on every node, bans shared between them ----
const jail = new Fail2BanJail("jail", {
    cluster: cluster.cluster,
    // The build for the nodes' architecture, whatever the operator's machine is.
    binaryPath: path.resolve(__dirname, webConfig.jailwatchBinary || JAILWATCH_BUILDS[config.architecture]),
    s3EndpointId: network.s3EndpointId,
    s3EndpointDependencies: network.s3EndpointDependencies,
    ignoreIp: [vpcCidr],
    peerPort: webConfig.jailwatchPeerPort,
    jails: defaultJails(webConfig.xmlrpcJail),
    // Nginx creates the access log the jails follow.
    after: Object.fromEntries(config.nodeNames.map(n => [n, [web.commands[webStepIds.nginx(n)]]])),
    tags,
}, { providers: [provider] });

// ---- outputs (stack outputs) ----
export const nodeNames = config.nodeNames;
export const availabilityZones = config.azs;
export const publicIps = cluster.publicIps;
export const privateIps = cluster.privateIps;
export const volumeName = cluster.volumeName;
export const mountPoint = cluster.mountPoint;
export const brickPath = config.brickPath;
export const securityGroupId = cluster.securityGroup.id;
export const vpcId = network.vpcId;
export const siteUrl = web.siteUrl;
export const loadBalancerDnsName = web.loadBalancerDnsName;
export const dbEndpoint = web.dbEndpoint;
export const wordpressAdminUser = webConfig.adminUser;
export const wordpressAdminPassword = web.adminPassword;
export const jailwatchSha256 = jail.binarySha256;
