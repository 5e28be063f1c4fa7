// Stack configuration: the keys we read, their defaults, and a pure validator that turns raw values into a typed
// config or throws ONE error listing every problem, each naming where the key is set, the key, and the fix.
// Pure (no Pulumi import): index.ts feeds it what `pulumi.Config` returns; tests feed it plain maps.

/** Pulumi project name: the namespace of every key below (`ha-wordpress:azs`). */
export const PROJECT = "ha-wordpress";

/** Names the nodes get, in order; node 1 runs the cluster-wide steps. The seed's names. */
export const NODE_NAMES = ["node-gfs1", "node-gfs2", "node-gfs3"];

/**
 * Every key the program reads, with the default it gets when neither the stack file nor Pulumi.yaml sets it.
 * Pulumi.yaml's `config:` block declares the same keys with the same defaults (a unit test keeps them equal).
 * Values are the raw strings `pulumi.Config.get` returns (lists as JSON).
 */
export const CONFIG_DEFAULTS: Record<string, string> = {
    region: "us-east-1",
    azs: JSON.stringify(["us-east-1b", "us-east-1c", "us-east-1d"]),
    instanceType: "t3.medium",
    ami: "",
    brickVolumeSize: "20",
    brickVolumeType: "gp3",
    brickVolumeIops: "3000",
    brickVolumeThroughput: "125",
    adminCidr: "",
    keyName: "",
    sshPrivateKey: "",
    sshUser: "admin",
    connectVia: "public",
    volumeName: "wp",
    brickPath: "/glusterfs/bricks/brick1/gv",
    mountPoint: "/var/www/html",
    pingTimeout: "10",
    vpcCidr: "10.20.0.0/16",
    vpcId: "",
    subnetIds: "[]",
    retainBricks: "true",
    backupRetentionDays: "30",
    alarmEmail: "",
};

export const CONFIG_KEYS = Object.keys(CONFIG_DEFAULTS);

/** Keys that must be stored encrypted (`pulumi config set --secret`). */
export const SECRET_KEYS = ["sshPrivateKey"];

export type EbsBrickType = "gp3" | "io1" | "io2";

/** The validated stack configuration. */
export interface StackConfig {
    region: string;
    /** One availability zone per node, in node order. */
    azs: string[];
    /** The distinct zones in use, in order of first use (one subnet each). */
    zonesInUse: string[];
    instanceType: string;
    /** CPU architecture the instance type needs (Graviton types are arm64). */
    architecture: "x86_64" | "arm64";
    /** AMI id, or undefined to look up the newest official Debian 12 image. */
    ami?: string;
    brickVolume: { sizeGiB: number; type: EbsBrickType; iops?: number; throughput?: number };
    adminCidr: string;
    keyName: string;
    sshPrivateKey: string;
    sshUser: string;
    connectVia: "public" | "private";
    volumeName: string;
    /** Full brick directory, e.g. /glusterfs/bricks/brick1/gv. */
    brickPath: string;
    /** Its parent: where the brick volume is mounted, e.g. /glusterfs/bricks/brick1. */
    brickMountPoint: string;
    mountPoint: string;
    pingTimeout: number;
    vpcCidr: string;
    /** Existing network to use instead of creating one. */
    existingNetwork?: { vpcId: string; subnetIds: string[] };
    retainBricks: boolean;
    /** Days the daily brick snapshots and the RDS automated backups are kept (1-35: RDS's own limit). */
    backupRetentionDays: number;
    /** Where the alarms are e-mailed (an SNS e-mail subscription), or undefined for none. */
    alarmEmail?: string;
    nodeNames: string[];
    /** Problems that do not stop a deployment (e.g. a zone holding a majority of the nodes), one line each. */
    warnings: string[];
}

/** Where a key is set, for messages: e.g. `Pulumi.prod.yaml:7` or `Pulumi.yaml default`. */
export type KeyLocator = (key: string) => string;

export interface ValidateOptions {
    /** Fully qualified keys stored as secrets (from `pulumi.runtime.isConfigSecret`). */
    secretKeys?: Set<string> | string[];
    /** Says where a key is set; defaults to the bare key. */
    locate?: KeyLocator;
}

/** Thrown by validateConfig; `problems` holds one line per problem. */
export class StackConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(
            `invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map(p => `  - ${p}`).join("\n"),
        );
        this.name = "StackConfigError";
    }
}

/** Paths the brick filesystem or the volume must never be mounted on (or over). */
const SYSTEM_PATHS = [
    "/",
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/lib32",
    "/lib64",
    "/opt",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/srv",
    "/sys",
    "/tmp",
    "/usr",
    "/var",
    "/var/lib",
    "/var/log",
    "/var/www",
    "/var/cache",
    "/var/tmp",
    "/var/lib/glusterd",
    "/glusterfs",
    "/glusterfs/bricks",
];

/**
 * Validates raw config strings (missing keys take CONFIG_DEFAULTS) and returns the typed config; throws one
 * StackConfigError naming every problem.
 */
export function validateConfig(raw: Record<string, string | undefined>, opts: ValidateOptions = {}): StackConfig {
    const problems: string[] = [];
    const locate: KeyLocator = opts.locate ?? (() => "");
    const secret = new Set(opts.secretKeys ?? []);
    const value = (key: string) => {
        const v = raw[key];
        return (v === undefined ? CONFIG_DEFAULTS[key] : v).trim();
    };
    const problem = (key: string, what: string, fix: string) => {
        const where = locate(key);
        problems.push(`${where ? where + ": " : ""}${PROJECT}:${key}: ${what}. Fix: ${fix}`);
    };
    const set = (key: string, example: string) => `pulumi config set ${key} ${example}`;

    // region
    const region = value("region");
    const regionOk = /^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(region);
    if (!regionOk) problem("region", `'${region}' is not an AWS region name`, set("region", "us-east-1"));

    // azs: exactly one per node, all inside the region
    let azs: string[] = [];
    const azsRaw = value("azs");
    const azList = parseStringList(azsRaw);
    if (!azList) {
        problem(
            "azs",
            `'${azsRaw}' is not a list of zone names`,
            `pulumi config set --path 'azs[0]' ${region}b (and azs[1], azs[2])`,
        );
    } else {
        azs = azList;
        if (azs.length !== NODE_NAMES.length) {
            problem(
                "azs",
                `needs exactly ${NODE_NAMES.length} availability zones, one per node (${NODE_NAMES.join(", ")}), got ${azs.length}`,
                `list ${NODE_NAMES.length} zones, e.g. pulumi config set --path 'azs[${Math.min(azs.length, NODE_NAMES.length - 1)}]' ${region}d; repeat a zone to share it`,
            );
        }
        azs.forEach((az, i) => {
            if (regionOk && !new RegExp(`^${escapeRegExp(region)}[a-z]$`).test(az)) {
                problem(
                    "azs",
                    `zone '${az}' (node ${NODE_NAMES[i] ?? i + 1}) is not in region ${region}`,
                    `use zones of ${region} such as ${region}a, or change region`,
                );
            }
        });
    }

    // instance type and AMI
    const instanceType = value("instanceType");
    if (!/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(instanceType)) {
        problem("instanceType", `'${instanceType}' is not an EC2 instance type`, set("instanceType", "t3.medium"));
    }
    // Graviton families carry a "g" after the generation digit (t4g, m7gd, c7gn); they need the arm64 image.
    const architecture = /^[a-z]+\d+[a-z]*g[a-z]*\./.test(instanceType) ? "arm64" : "x86_64";
    const ami = value("ami");
    if (ami !== "" && !/^ami-[0-9a-f]{8,17}$/.test(ami)) {
        problem(
            "ami",
            `'${ami}' is not an AMI id`,
            `${set("ami", "ami-0123456789abcdef0")}, or leave it empty for the newest Debian 12 AMI`,
        );
    }

    // brick volume
    const size = parseIntStrict(value("brickVolumeSize"));
    if (size === undefined || size < 1 || size > 16384) {
        problem(
            "brickVolumeSize",
            `'${value("brickVolumeSize")}' is not a size in GiB between 1 and 16384`,
            set("brickVolumeSize", "20"),
        );
    }
    const type = value("brickVolumeType") as EbsBrickType;
    if (!["gp3", "io1", "io2"].includes(type)) {
        problem("brickVolumeType", `'${type}' is not supported (gp3, io1 or io2)`, set("brickVolumeType", "gp3"));
    }
    const iopsText = value("brickVolumeIops"),
        tputText = value("brickVolumeThroughput");
    const iops = iopsText === "" ? undefined : parseIntStrict(iopsText);
    const throughput = tputText === "" ? undefined : parseIntStrict(tputText);
    if (iopsText !== "" && iops === undefined)
        problem("brickVolumeIops", `'${iopsText}' is not a number`, set("brickVolumeIops", "3000"));
    if (tputText !== "" && throughput === undefined)
        problem("brickVolumeThroughput", `'${tputText}' is not a number`, set("brickVolumeThroughput", "125"));
    if (type === "gp3") {
        if (iops !== undefined && (iops < 3000 || iops > 16000)) {
            problem("brickVolumeIops", `gp3 takes 3000 to 16000 IOPS, got ${iops}`, set("brickVolumeIops", "3000"));
        } else if (iops !== undefined && size !== undefined && iops > 3000 && iops > size * 500) {
            problem(
                "brickVolumeIops",
                `gp3 allows at most 500 IOPS per GiB (${size * 500} for ${size} GiB), got ${iops}`,
                `lower brickVolumeIops or raise brickVolumeSize`,
            );
        }
        if (throughput !== undefined && (throughput < 125 || throughput > 1000)) {
            problem(
                "brickVolumeThroughput",
                `gp3 takes 125 to 1000 MiB/s, got ${throughput}`,
                set("brickVolumeThroughput", "125"),
            );
        } else if (throughput !== undefined && throughput > 125 && throughput > (iops ?? 3000) / 4) {
            problem(
                "brickVolumeThroughput",
                `gp3 allows at most 0.25 MiB/s per IOPS (${(iops ?? 3000) / 4}), got ${throughput}`,
                `raise brickVolumeIops or lower brickVolumeThroughput`,
            );
        }
    } else if (type === "io1" || type === "io2") {
        if (iops === undefined || iops < 100 || iops > 64000) {
            problem(
                "brickVolumeIops",
                `${type} needs provisioned IOPS between 100 and 64000, got '${iopsText}'`,
                set("brickVolumeIops", "3000"),
            );
        }
    }

    // access
    const adminCidr = value("adminCidr");
    if (adminCidr === "") {
        problem(
            "adminCidr",
            "is not set: SSH (and so every host step) is allowed only from this network",
            `${set("adminCidr", "203.0.113.7/32")} (your address; curl -s https://checkip.amazonaws.com)`,
        );
    } else {
        const err = cidrProblem(adminCidr);
        if (err) problem("adminCidr", `'${adminCidr}' ${err}`, set("adminCidr", "203.0.113.7/32"));
        else if (adminCidr.endsWith("/0")) {
            problem(
                "adminCidr",
                `'${adminCidr}' would open SSH to the whole internet`,
                `${set("adminCidr", "203.0.113.7/32")} (your address)`,
            );
        }
    }
    const keyName = value("keyName");
    if (keyName === "") {
        problem(
            "keyName",
            "is not set: the EC2 key pair whose public key the nodes accept",
            `aws ec2 import-key-pair --key-name ha-wordpress --public-key-material fileb://~/.ssh/id_ed25519.pub, then ${set("keyName", "ha-wordpress")}`,
        );
    }
    const sshPrivateKey = raw.sshPrivateKey ?? "";
    const keyFix = "pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519 (the key pair's private half)";
    if (sshPrivateKey.trim() === "") {
        problem("sshPrivateKey", "is not set: the private key the host steps log in with", keyFix);
    } else {
        if (!/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(sshPrivateKey)) {
            problem(
                "sshPrivateKey",
                "does not look like a private key (no '-----BEGIN ... PRIVATE KEY-----' line)",
                keyFix,
            );
        }
        if (!secret.has(`${PROJECT}:sshPrivateKey`) && !secret.has("sshPrivateKey")) {
            problem("sshPrivateKey", "is stored in plain text", `pulumi config rm sshPrivateKey; ${keyFix}`);
        }
    }
    const sshUser = value("sshUser");
    if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(sshUser))
        problem("sshUser", `'${sshUser}' is not a user name`, `${set("sshUser", "admin")} (Debian AMIs)`);
    const connectVia = value("connectVia");
    if (connectVia !== "public" && connectVia !== "private") {
        problem(
            "connectVia",
            `'${connectVia}' must be 'public' or 'private'`,
            `${set("connectVia", "public")} (private needs a VPN or bastion into the VPC)`,
        );
    }

    // gluster
    const volumeName = value("volumeName");
    if (!/^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/.test(volumeName)) {
        problem(
            "volumeName",
            `'${volumeName}' is not a valid Gluster volume name (letters, digits, - and _)`,
            set("volumeName", "wp"),
        );
    }
    const brickPath = value("brickPath");
    const brickMountPoint = parentDir(brickPath);
    const brickErr = pathProblem(brickPath);
    if (brickErr) {
        problem("brickPath", `'${brickPath}' ${brickErr}`, set("brickPath", "/glusterfs/bricks/brick1/gv"));
    } else if (/^brick\d*$/.test(basename(brickPath)) || brickMountPoint === "/") {
        problem(
            "brickPath",
            `'${brickPath}' is a bare mount point: gluster refuses a brick that is a mount point itself ` +
                "('is a mount point. Please create a sub-directory')",
            `use a sub-directory below the brick mount point: ${set("brickPath", brickPath === "/" ? "/glusterfs/bricks/brick1/gv" : brickPath.replace(/\/+$/, "") + "/gv")}`,
        );
    } else if (SYSTEM_PATHS.includes(brickMountPoint)) {
        problem(
            "brickPath",
            `its mount point ${brickMountPoint} is a system directory; the brick volume would be mounted over it`,
            set("brickPath", "/glusterfs/bricks/brick1/gv"),
        );
    }
    const mountPoint = value("mountPoint");
    const mountErr = pathProblem(mountPoint);
    if (mountErr) {
        problem("mountPoint", `'${mountPoint}' ${mountErr}`, set("mountPoint", "/var/www/html"));
    } else if (SYSTEM_PATHS.includes(mountPoint)) {
        problem(
            "mountPoint",
            `'${mountPoint}' is a system directory; the volume would hide it`,
            set("mountPoint", "/var/www/html"),
        );
    } else if (!brickErr && (isWithin(mountPoint, brickMountPoint) || isWithin(brickMountPoint, mountPoint))) {
        problem(
            "mountPoint",
            `'${mountPoint}' overlaps the brick mount point ${brickMountPoint}`,
            "keep the volume mount and the brick apart, e.g. /var/www/html and /glusterfs/bricks/brick1/gv",
        );
    }
    const pingTimeout = parseIntStrict(value("pingTimeout"));
    if (pingTimeout === undefined || pingTimeout < 1 || pingTimeout > 1013) {
        problem(
            "pingTimeout",
            `'${value("pingTimeout")}' is not a number of seconds between 1 and 1013`,
            set("pingTimeout", "10"),
        );
    }

    // network
    const vpcCidr = value("vpcCidr");
    const vpcErr = cidrProblem(vpcCidr);
    if (vpcErr) problem("vpcCidr", `'${vpcCidr}' ${vpcErr}`, set("vpcCidr", "10.20.0.0/16"));
    else {
        const prefix = Number(vpcCidr.split("/")[1]);
        if (prefix < 16 || prefix > 24)
            problem(
                "vpcCidr",
                `a VPC needs a prefix between /16 and /24, got /${prefix}`,
                set("vpcCidr", "10.20.0.0/16"),
            );
    }
    const vpcId = value("vpcId");
    const subnetsRaw = value("subnetIds");
    const subnetIds = parseStringList(subnetsRaw);
    let existingNetwork: StackConfig["existingNetwork"];
    if (!subnetIds) {
        problem(
            "subnetIds",
            `'${subnetsRaw}' is not a list of subnet ids`,
            "pulumi config set --path 'subnetIds[0]' subnet-0123456789abcdef0",
        );
    } else if (vpcId !== "" || subnetIds.length > 0) {
        if (!/^vpc-[0-9a-f]{8,17}$/.test(vpcId)) {
            problem(
                "vpcId",
                vpcId === "" ? "is not set but subnetIds is" : `'${vpcId}' is not a VPC id`,
                `${set("vpcId", "vpc-0123456789abcdef0")}, or remove vpcId and subnetIds to create a VPC`,
            );
        }
        if (subnetIds.length !== NODE_NAMES.length) {
            problem(
                "subnetIds",
                `needs one subnet per node (${NODE_NAMES.length}, in node order, each in that node's zone), got ${subnetIds.length}`,
                "pulumi config set --path 'subnetIds[0]' subnet-... (and [1], [2]; repeat an id for nodes sharing a zone)",
            );
        }
        for (const s of subnetIds) {
            if (!/^subnet-[0-9a-f]{8,17}$/.test(s))
                problem("subnetIds", `'${s}' is not a subnet id`, "use ids like subnet-0123456789abcdef0");
        }
        existingNetwork = { vpcId, subnetIds };
    }
    const retainText = value("retainBricks");
    if (retainText !== "true" && retainText !== "false")
        problem("retainBricks", `'${retainText}' must be true or false`, set("retainBricks", "true"));

    // backups and alarms: one retention for the brick snapshots and the database, bounded by RDS's maximum of 35
    // days (a longer brick retention alone would be a restore point without the database that goes with it).
    const retentionText = value("backupRetentionDays");
    const backupRetentionDays = parseIntStrict(retentionText);
    if (backupRetentionDays === undefined || backupRetentionDays < 1 || backupRetentionDays > 35) {
        problem(
            "backupRetentionDays",
            `'${retentionText}' is not a number of days between 1 and 35 (RDS keeps automated backups at most 35 days)`,
            set("backupRetentionDays", "30"),
        );
    }
    const alarmEmail = value("alarmEmail");
    if (alarmEmail !== "" && !/^[^@\s"'<>(),;:\\]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/.test(alarmEmail)) {
        problem(
            "alarmEmail",
            `'${alarmEmail}' is not an e-mail address`,
            `${set("alarmEmail", "ops@example.com")}, or leave it empty for no e-mail`,
        );
    }

    // A zone that holds a majority of the nodes takes the site with it: losing it loses both the Gluster server
    // quorum and the replica-3 client quorum (2 of 3 bricks), so the volume turns read-only. Allowed (the seed's
    // own layout), but said.
    const warnings: string[] = [];
    for (const zone of new Set(azs)) {
        const holders = azs
            .map((z, i) => (z === zone ? (NODE_NAMES[i] ?? `node ${i + 1}`) : undefined))
            .filter(Boolean);
        if (azs.length > 1 && holders.length * 2 > azs.length) {
            const where = locate("azs");
            warnings.push(
                `${where ? where + ": " : ""}${PROJECT}:azs: zone ${zone} holds ${holders.length} of ${azs.length} nodes ` +
                    `(${holders.join(", ")}): an outage of ${zone} loses the Gluster quorum and takes the site down. ` +
                    `Put every node in its own zone, e.g. ${region}b, ${region}c, ${region}d`,
            );
        }
    }

    if (problems.length > 0) throw new StackConfigError(problems);
    return {
        region,
        azs,
        zonesInUse: [...new Set(azs)],
        instanceType,
        architecture,
        ami: ami === "" ? undefined : ami,
        brickVolume: {
            sizeGiB: size!,
            type,
            iops: type === "gp3" || type === "io1" || type === "io2" ? iops : undefined,
            throughput: type === "gp3" ? throughput : undefined,
        },
        adminCidr,
        keyName,
        sshPrivateKey,
        sshUser,
        connectVia: connectVia as "public" | "private",
        volumeName,
        brickPath,
        brickMountPoint,
        mountPoint,
        pingTimeout: pingTimeout!,
        vpcCidr,
        existingNetwork,
        retainBricks: retainText === "true",
        backupRetentionDays: backupRetentionDays!,
        alarmEmail: alarmEmail === "" ? undefined : alarmEmail,
        nodeNames: [...NODE_NAMES],
        warnings,
    };
}

/** Finds the line of `key` in a stack file (`ha-wordpress:key:`) or in Pulumi.yaml's config block (`  key:`). */
export function findKeyLine(fileText: string, key: string, kind: "stack" | "project"): number | undefined {
    const lines = fileText.split("\n");
    const re =
        kind === "stack"
            ? new RegExp(`^\\s+${escapeRegExp(PROJECT)}:${escapeRegExp(key)}:`)
            : new RegExp(`^  ${escapeRegExp(key)}:`);
    let inConfig = kind === "stack";
    for (let i = 0; i < lines.length; i++) {
        if (kind === "project" && /^\S/.test(lines[i])) inConfig = /^config:/.test(lines[i]);
        if (inConfig && re.test(lines[i])) return i + 1;
    }
    return undefined;
}

/** A locator over the stack file and Pulumi.yaml texts: `Pulumi.prod.yaml:7`, else `Pulumi.yaml:40 (default)`. */
export function fileLocator(
    stackFile: { name: string; text?: string },
    projectFile: { name: string; text?: string },
): KeyLocator {
    return key => {
        const s = stackFile.text !== undefined ? findKeyLine(stackFile.text, key, "stack") : undefined;
        if (s !== undefined) return `${stackFile.name}:${s}`;
        const p = projectFile.text !== undefined ? findKeyLine(projectFile.text, key, "project") : undefined;
        if (p !== undefined) return `${projectFile.name}:${p} (default)`;
        return `${stackFile.name} (not set)`;
    };
}

function parseStringList(text: string): string[] | undefined {
    if (text === "") return [];
    try {
        const v = JSON.parse(text);
        if (Array.isArray(v) && v.every(x => typeof x === "string")) return v.map(x => x.trim());
    } catch {
        /* fall through */
    }
    return undefined;
}

function parseIntStrict(text: string): number | undefined {
    return /^\d+$/.test(text) ? Number(text) : undefined;
}

/** Why `cidr` is not a canonical IPv4 CIDR block, or undefined if it is one. */
export function cidrProblem(cidr: string): string | undefined {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
    if (!m) return "is not an IPv4 CIDR block like 203.0.113.7/32";
    const octets = m.slice(1, 5).map(Number);
    const prefix = Number(m[5]);
    if (octets.some(o => o > 255) || prefix > 32) return "is not an IPv4 CIDR block like 203.0.113.7/32";
    const addr = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    if ((addr & ~mask) >>> 0 !== 0) {
        const net = (addr & mask) >>> 0;
        return `has host bits set (did you mean ${[net >>> 24, (net >>> 16) & 255, (net >>> 8) & 255, net & 255].join(".")}/${prefix}?)`;
    }
    return undefined;
}

function pathProblem(p: string): string | undefined {
    if (!p.startsWith("/")) return "is not an absolute path";
    if (p !== "/" && !/^(\/[A-Za-z0-9._-]+)+$/.test(p))
        return "must be a plain absolute path (letters, digits, . _ -; no trailing slash)";
    if (p.split("/").some(c => c === "." || c === "..")) return "must not contain . or .. components";
    return undefined;
}

function parentDir(p: string): string {
    const i = p.replace(/\/+$/, "").lastIndexOf("/");
    return i <= 0 ? "/" : p.slice(0, i);
}

function basename(p: string): string {
    return p.replace(/\/+$/, "").split("/").pop() ?? "";
}

function isWithin(inner: string, outer: string): boolean {
    return inner === outer || inner.startsWith(outer === "/" ? "/" : outer + "/");
}

function escapeRegExp(s: string): string {
    return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
