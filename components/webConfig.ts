// Stack configuration of the web tier and the jail: keys, defaults, and a pure validator in the style of config.ts
// (one StackConfigError listing every problem, each naming where the key is set, the key, and the fix).
import { KeyLocator, PROJECT, StackConfigError, cidrProblem } from "./config";

/**
 * Keys WordPressTier and Fail2BanJail read, with their defaults (Pulumi.yaml declares the same). The defaults are
 * the safe production values; Pulumi.dev.yaml turns the expensive or sticky ones off.
 */
export const WEB_CONFIG_DEFAULTS: Record<string, string> = {
    dbInstanceClass: "db.t4g.small",
    dbEngineVersion: "8.4",
    dbAllocatedStorage: "20",
    dbMaxAllocatedStorage: "100",
    dbMultiAz: "true",
    dbDeletionProtection: "true",
    dbName: "wordpress",
    dbUser: "dbmaster",
    dbAppUser: "wordpress",
    siteUrl: "",
    siteTitle: "HA WordPress",
    adminUser: "wpadmin",
    adminEmail: "admin@example.com",
    wordpressSource: "debian",
    wordpressTarballUrl: "",
    wordpressTarballSha256: "",
    sqlDumpUrl: "",
    sqlDumpSha256: "",
    certificateArn: "",
    webIngressCidr: "0.0.0.0/0",
    varnishCacheSize: "256m",
    jailwatchBinary: "",
    jailwatchPeerPort: "7478",
    xmlrpcMaxretry: "20",
    xmlrpcFindtime: "120",
    xmlrpcBantime: "43200",
};

export const WEB_CONFIG_KEYS = Object.keys(WEB_CONFIG_DEFAULTS);

export interface WebConfig {
    db: {
        instanceClass: string;
        engineVersion: string;
        allocatedStorageGiB: number;
        maxAllocatedStorageGiB: number;
        multiAz: boolean;
        deletionProtection: boolean;
        name: string;
        user: string;
        appUser: string;
    };
    siteUrl: string;
    siteTitle: string;
    adminUser: string;
    adminEmail: string;
    source: { kind: "debian" } | { kind: "tarball"; url: string; sha256: string };
    sqlDumpUrl: string;
    sqlDumpSha256: string;
    certificateArn?: string;
    webIngressCidr: string;
    varnishCacheSize: string;
    /** The executable to deploy; empty: the build for the nodes' architecture (elf.ts JAILWATCH_BUILDS). */
    jailwatchBinary: string;
    jailwatchPeerPort: number;
    xmlrpcJail: { maxretry: number; findtime: number; bantime: number };
}

export function validateWebConfig(
    raw: Record<string, string | undefined>,
    opts: { locate?: KeyLocator } = {},
): WebConfig {
    const problems: string[] = [];
    const locate: KeyLocator = opts.locate ?? (() => "");
    const value = (key: string) => (raw[key] ?? WEB_CONFIG_DEFAULTS[key]).trim();
    const problem = (key: string, what: string, fix: string) => {
        const where = locate(key);
        problems.push(`${where ? where + ": " : ""}${PROJECT}:${key}: ${what}. Fix: ${fix}`);
    };
    const set = (key: string, example: string) => `pulumi config set ${key} ${example}`;
    const bool = (key: string) => {
        const v = value(key);
        if (v !== "true" && v !== "false")
            problem(key, `'${v}' must be true or false`, set(key, WEB_CONFIG_DEFAULTS[key]));
        return v === "true";
    };
    const int = (key: string, min: number, max: number) => {
        const v = value(key);
        const n = /^-?\d+$/.test(v) ? Number(v) : NaN;
        if (!(n >= min && n <= max))
            problem(key, `'${v}' is not a whole number between ${min} and ${max}`, set(key, WEB_CONFIG_DEFAULTS[key]));
        return n;
    };

    const instanceClass = value("dbInstanceClass");
    if (!/^db\.[a-z0-9]+\.[a-z0-9]+$/.test(instanceClass))
        problem(
            "dbInstanceClass",
            `'${instanceClass}' is not an RDS instance class`,
            set("dbInstanceClass", "db.t4g.small"),
        );
    const engineVersion = value("dbEngineVersion");
    if (!/^8\.\d+(\.\d+)?$/.test(engineVersion))
        problem("dbEngineVersion", `'${engineVersion}' is not a MySQL 8 version`, set("dbEngineVersion", "8.4"));
    const allocated = int("dbAllocatedStorage", 20, 65536);
    const maxAllocated = int("dbMaxAllocatedStorage", 20, 65536);
    if (maxAllocated < allocated)
        problem(
            "dbMaxAllocatedStorage",
            `${maxAllocated} GiB is below dbAllocatedStorage (${allocated} GiB)`,
            set("dbMaxAllocatedStorage", String(Math.max(allocated * 2, 100))) + " (storage autoscaling ceiling)",
        );
    const multiAz = bool("dbMultiAz");
    const deletionProtection = bool("dbDeletionProtection");
    const dbName = value("dbName");
    if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(dbName))
        problem(
            "dbName",
            `'${dbName}' is not a MySQL database name (letter, then letters, digits, _)`,
            set("dbName", "wordpress"),
        );
    const dbUser = value("dbUser");
    if (!/^[A-Za-z][A-Za-z0-9_]{0,15}$/.test(dbUser) || ["admin", "root", "rdsadmin"].includes(dbUser.toLowerCase())) {
        problem(
            "dbUser",
            `'${dbUser}' is not allowed as the RDS master user (1-16 letters/digits/_, not a reserved name)`,
            set("dbUser", "dbmaster"),
        );
    }
    const dbAppUser = value("dbAppUser");
    if (
        !/^[A-Za-z][A-Za-z0-9_]{0,31}$/.test(dbAppUser) ||
        ["root", "rdsadmin", "mysql.sys", "mysql.session"].includes(dbAppUser.toLowerCase())
    ) {
        problem(
            "dbAppUser",
            `'${dbAppUser}' is not a MySQL user name (1-32 letters/digits/_)`,
            set("dbAppUser", "wordpress"),
        );
    } else if (dbAppUser === dbUser) {
        problem(
            "dbAppUser",
            `'${dbAppUser}' is also the master user (dbUser); WordPress needs its own, least-privileged user`,
            set("dbAppUser", "wordpress"),
        );
    }

    const siteUrl = value("siteUrl");
    if (siteUrl !== "" && !/^https?:\/\/[A-Za-z0-9.-]+(:\d+)?$/.test(siteUrl)) {
        problem(
            "siteUrl",
            `'${siteUrl}' must be a scheme and host without a path, e.g. https://www.example.com`,
            set("siteUrl", "https://www.example.com"),
        );
    }
    const siteTitle = value("siteTitle");
    if (siteTitle === "") problem("siteTitle", "is empty", set("siteTitle", "'My site'"));
    const adminUser = value("adminUser");
    if (!/^[A-Za-z0-9_.@-]{3,60}$/.test(adminUser))
        problem("adminUser", `'${adminUser}' is not a WordPress user name`, set("adminUser", "wpadmin"));
    const adminEmail = value("adminEmail");
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(adminEmail))
        problem("adminEmail", `'${adminEmail}' is not an e-mail address`, set("adminEmail", "you@example.com"));

    const sourceKind = value("wordpressSource");
    let source: WebConfig["source"] = { kind: "debian" };
    if (sourceKind === "tarball") {
        const url = value("wordpressTarballUrl"),
            sha256 = value("wordpressTarballSha256").toLowerCase();
        if (!/^https:\/\/\S+\.tar\.gz$/.test(url))
            problem(
                "wordpressTarballUrl",
                `'${url}' must be an https:// URL of a .tar.gz release`,
                set("wordpressTarballUrl", "https://wordpress.org/wordpress-6.8.3.tar.gz"),
            );
        if (!/^[0-9a-f]{64}$/.test(sha256))
            problem(
                "wordpressTarballSha256",
                "must be the release's SHA-256 (64 hex digits)",
                "copy it from the .sha256 file published beside the tarball: " +
                    set("wordpressTarballSha256", "<sha256>"),
            );
        source = { kind: "tarball", url, sha256 };
    } else if (sourceKind !== "debian") {
        problem(
            "wordpressSource",
            `'${sourceKind}' must be 'debian' (Debian's wordpress package) or 'tarball'`,
            set("wordpressSource", "debian"),
        );
    }
    const sqlDumpUrl = value("sqlDumpUrl");
    if (sqlDumpUrl !== "" && !/^(https:\/\/\S+|\/\S+)$/.test(sqlDumpUrl))
        problem(
            "sqlDumpUrl",
            `'${sqlDumpUrl}' must be an https:// URL or an absolute path on node 1 (plain http could be altered on the way)`,
            set("sqlDumpUrl", "https://example.com/site.sql.gz"),
        );
    const sqlDumpSha256 = value("sqlDumpSha256").toLowerCase();
    if (sqlDumpUrl !== "" && !/^[0-9a-f]{64}$/.test(sqlDumpSha256))
        problem(
            "sqlDumpSha256",
            "must be the dump's SHA-256 (64 hex digits) when sqlDumpUrl is set",
            "sha256sum site.sql.gz, then " + set("sqlDumpSha256", "<sha256>"),
        );
    const certificateArn = value("certificateArn");
    if (
        certificateArn !== "" &&
        !/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]+$/.test(certificateArn)
    ) {
        problem(
            "certificateArn",
            `'${certificateArn}' is not an ACM certificate ARN`,
            set("certificateArn", "arn:aws:acm:us-east-1:123456789012:certificate/..."),
        );
    }
    const webIngressCidr = value("webIngressCidr");
    const cidrErr = cidrProblem(webIngressCidr);
    if (cidrErr) problem("webIngressCidr", `'${webIngressCidr}' ${cidrErr}`, set("webIngressCidr", "0.0.0.0/0"));
    const varnishCacheSize = value("varnishCacheSize");
    if (!/^\d+[kmgKMG]$/.test(varnishCacheSize))
        problem(
            "varnishCacheSize",
            `'${varnishCacheSize}' is not a size like 256m or 1g`,
            set("varnishCacheSize", "256m"),
        );
    const jailwatchBinary = value("jailwatchBinary");
    const peerPort = int("jailwatchPeerPort", 1024, 65535);
    const maxretry = int("xmlrpcMaxretry", 1, 100000);
    const findtime = int("xmlrpcFindtime", 1, 31536000);
    const bantime = value("xmlrpcBantime");
    const bantimeN = /^-?\d+$/.test(bantime) && bantime !== "0" ? Number(bantime) : NaN;
    if (Number.isNaN(bantimeN))
        problem("xmlrpcBantime", `'${bantime}' must be seconds (negative: permanent)`, set("xmlrpcBantime", "43200"));

    if (problems.length > 0) throw new StackConfigError(problems);
    return {
        db: {
            instanceClass,
            engineVersion,
            allocatedStorageGiB: allocated,
            maxAllocatedStorageGiB: maxAllocated,
            multiAz,
            deletionProtection,
            name: dbName,
            user: dbUser,
            appUser: dbAppUser,
        },
        siteUrl,
        siteTitle,
        adminUser,
        adminEmail,
        source,
        sqlDumpUrl,
        sqlDumpSha256,
        certificateArn: certificateArn === "" ? undefined : certificateArn,
        webIngressCidr,
        varnishCacheSize,
        jailwatchBinary,
        jailwatchPeerPort: peerPort,
        xmlrpcJail: { maxretry, findtime, bantime: bantimeN },
    };
}
