// ha-wordpress: the Pulumi program. Config in (read, validated) -> HaWordPress (components/haWordPress.ts) -> outputs.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { CONFIG_KEYS, PROJECT, SECRET_KEYS, StackConfigError, fileLocator, validateConfig } from "./components/config";
import { WEB_CONFIG_KEYS, validateWebConfig } from "./components/webConfig";
import { HaWordPress } from "./components/haWordPress";
import { wordpressSourceArgs } from "./components/wordpressTier";
import { defaultJails } from "./components/fail2banPlan";

export { DEBIAN_AMI_OWNER } from "./components/haWordPress";

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
const readText = (file: string) => {
    try {
        return fs.readFileSync(path.join(__dirname, file), "utf8");
    } catch {
        return undefined;
    }
};
const { config, webConfig } = (() => {
    const locate = fileLocator(
        { name: stackFileName, text: readText(stackFileName) },
        { name: "Pulumi.yaml", text: readText("Pulumi.yaml") },
    );
    const problems: string[] = [];
    const attempt = <T>(f: () => T): T | undefined => {
        try {
            return f();
        } catch (e) {
            if (e instanceof StackConfigError) {
                problems.push(...e.problems);
                return undefined;
            }
            throw e;
        }
    };
    const config = attempt(() =>
        validateConfig(raw, {
            secretKeys: SECRET_KEYS.map(k => `${PROJECT}:${k}`).filter(isStoredAsSecret),
            locate,
        }),
    );
    const webConfig = attempt(() => validateWebConfig(raw, { locate }));
    // RunError: Pulumi prints the message alone, without a stack trace that would bury the list of problems.
    if (!config || !webConfig) throw new pulumi.RunError(new StackConfigError(problems).message);
    return { config, webConfig };
})();
for (const warning of config.warnings) void pulumi.log.warn(warning);
const tags = { project: PROJECT, stack: pulumi.getStack() };

// Every AWS resource goes through this provider, so `region` is the only region setting that matters.
const provider = new aws.Provider("aws", { region: config.region as aws.Region });

const site = new HaWordPress(
    "ha-wordpress",
    {
        region: config.region,
        availabilityZones: config.azs,
        nodeNames: config.nodeNames,
        vpcCidr: config.vpcCidr,
        existingVpcId: config.existingNetwork?.vpcId,
        existingSubnetIds: config.existingNetwork?.subnetIds,
        ami: config.ami,
        instanceType: config.instanceType,
        architecture: config.architecture,
        keyName: config.keyName,
        adminCidr: config.adminCidr,
        ssh: { user: config.sshUser, privateKey: pulumi.secret(config.sshPrivateKey), via: config.connectVia },
        brickVolume: config.brickVolume,
        volumeName: config.volumeName,
        brickPath: config.brickPath,
        mountPoint: config.mountPoint,
        pingTimeout: config.pingTimeout,
        retainBricks: config.retainBricks,
        database: webConfig.db,
        backupRetentionDays: config.backupRetentionDays,
        alarmEmail: config.alarmEmail,
        source: wordpressSourceArgs(webConfig.source),
        siteUrl: webConfig.siteUrl,
        siteTitle: webConfig.siteTitle,
        adminUser: webConfig.adminUser,
        adminEmail: webConfig.adminEmail,
        sqlDumpUrl: webConfig.sqlDumpUrl,
        sqlDumpSha256: webConfig.sqlDumpSha256,
        certificateArn: webConfig.certificateArn,
        webIngressCidr: webConfig.webIngressCidr,
        varnishCacheSize: webConfig.varnishCacheSize,
        // Relative to the project, whatever the working directory; empty: the build for the nodes' architecture.
        jailwatchBinary: webConfig.jailwatchBinary ? path.resolve(__dirname, webConfig.jailwatchBinary) : undefined,
        jailwatchPeerPort: webConfig.jailwatchPeerPort,
        jails: defaultJails(webConfig.xmlrpcJail),
        tags,
    },
    { providers: [provider] },
);

// ---- outputs (stack outputs): plain values only; everything exported becomes a stack output ----
export const nodeNames = site.nodeNames;
export const availabilityZones = site.availabilityZones;
export const publicIps = site.publicIps;
export const privateIps = site.privateIps;
export const volumeName = site.volumeName;
export const mountPoint = site.mountPoint;
export const brickPath = site.brickPath;
export const securityGroupId = site.securityGroupId;
export const vpcId = site.vpcId;
export const siteUrl = site.siteUrl;
export const loadBalancerDnsName = site.loadBalancerDnsName;
export const dbEndpoint = site.dbEndpoint;
export const wordpressAdminUser = site.wordpressAdminUser;
export const wordpressAdminPassword = site.wordpressAdminPassword;
export const jailwatchSha256 = site.jailwatchSha256;
export const alarmTopicArn = site.alarmTopicArn;
export const dashboardUrl = site.dashboardUrl;
export const backupVaultName = site.backupVaultName;
