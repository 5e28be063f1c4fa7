// jailwatch's host steps as a pure plan (no Pulumi): install the binary, write the configuration, run the service.
// Fail2BanJail maps it onto remote.Commands; the lab runs the same steps over SSH.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { HostStep } from "./hostStep";

/** The shipped jailwatch configuration (fail2ban layout) and systemd unit. */
export const WATCHER_CONFIG_DIR = path.join(__dirname, "..", "watcher", "config");
export const WATCHER_UNIT_FILE = path.join(__dirname, "..", "watcher", "systemd", "jailwatch.service");

/** Peer port of jailwatch's ban sharing (jailwatch's own default). */
export const DEFAULT_PEER_PORT = 7478;

/** The seed's jail: 20 xmlrpc.php POSTs within 120 s ban for 12 hours. */
export const SEED_XMLRPC_JAIL = { maxretry: 20, findtime: 120, bantime: 43200 };

/**
 * Ports a ban drops on a web node: 80 (plain HTTP), 81 (Varnish's listener behind the load balancer's TLS
 * listener: a TLS client arrives there, not on 443) and 443. The shipped jails say `http,https`, which would let a
 * banned client carry on over TLS.
 */
export const WEB_NODE_PORTS = "http,https,81";

/** Default jail.local overrides: the seed's xmlrpc values, and the web node's ports for both shipped jails. */
export function defaultJails(
    xmlrpc: { maxretry: number; findtime: number; bantime: number } = SEED_XMLRPC_JAIL,
): Record<string, JailOverrides> {
    return {
        "nginx-wp-xmlrpc": { ...xmlrpc, port: WEB_NODE_PORTS },
        "nginx-wp-login": { port: WEB_NODE_PORTS },
    };
}

/** One jail's settings in jail.local (the shipped jail.conf holds the rest). */
export interface JailOverrides {
    /** Ports the ban drops (fail2ban syntax). Default: the jail's own. */
    port?: string;
    /** Failures within `findtime` that ban an address. Default: the jail's own. */
    maxretry?: number;
    /** Window in seconds over which failures are counted. Default: the jail's own. */
    findtime?: number;
    /** Seconds; negative bans permanently. Default: the jail's own. */
    bantime?: number;
    /** Whether the jail runs. Default: the jail's own. */
    enabled?: boolean;
}

export interface Fail2BanPlanArgs<V> {
    /** Node names; each node shares bans with all the others. */
    nodes: string[];
    /** Each node's private address (where its peers reach it), by node name. */
    addresses: Record<string, V | string>;
    /** Each node's peer list (the other nodes' addresses, space-separated), by node name. Empty: no sharing. */
    peers: Record<string, V | string>;
    /** Secret shared by the nodes to authenticate ban messages (sent on the config step's stdin). */
    peerSecret: V | string;
    peerPort?: number;
    /** Where the nodes fetch the binary: https:// (S3 object) or file:// on the host. */
    binaryUrl: V | string;
    /** SHA-256 of the binary (hex). */
    binarySha256: string;
    /** Addresses/CIDRs never banned besides loopback (e.g. the VPC CIDR), space-separated. */
    ignoreIp: V | string;
    /** Per-jail overrides written to jail.local; default: defaultJails() (the seed's xmlrpc values, ports 80/81/443). */
    jails?: Record<string, JailOverrides>;
    /** Steps each node's jail steps wait for (e.g. Nginx, so the log exists), by node name. */
    after?: Record<string, string[]>;
    /**
     * jailwatch's Prometheus endpoint on every node (`metricslisten`): a port (bound to 127.0.0.1) or HOST:PORT.
     * Default: none, no port opened.
     */
    metricsListen?: string;
}

export const jailStepIds = {
    binary: (node: string) => `jailwatch-binary-${node}`,
    config: (node: string) => `jailwatch-config-${node}`,
    service: (node: string) => `jailwatch-service-${node}`,
};

function listFiles(dir: string, rel = ""): string[] {
    const out: string[] = [];
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) out.push(...listFiles(dir, r));
        else if (e.isFile()) out.push(r);
    }
    return out.sort();
}

/** The shipped config files (relative path -> content). */
export function shippedConfig(dir = WATCHER_CONFIG_DIR): Record<string, string> {
    if (!fs.existsSync(dir)) throw new Error(`jailwatch configuration not found at ${dir}`);
    const files: Record<string, string> = {};
    for (const rel of listFiles(dir)) files[rel] = fs.readFileSync(path.join(dir, rel), "utf8");
    return files;
}

/** The FILES parameter of scripts/jail/config.sh: one "path base64" line per file. */
export function encodeBundle(files: Record<string, string>): string {
    return Object.keys(files)
        .sort()
        .map(rel => {
            if (rel.startsWith("/") || rel.includes("..") || /\s/.test(rel))
                throw new Error(`bad config path '${rel}'`);
            return `${rel} ${Buffer.from(files[rel], "utf8").toString("base64")}`;
        })
        .join("\n");
}

/** jail.local sections for the per-jail overrides (ignoreip is added on the host, it may be a deploy-time value). */
export function jailOverridesText(jails: Record<string, JailOverrides>): string {
    const sections: string[] = [];
    for (const name of Object.keys(jails).sort()) {
        if (!/^[A-Za-z0-9_.-]+$/.test(name))
            throw new Error(`jail name '${name}' may hold only letters, digits, . _ -`);
        const j = jails[name];
        const lines = [`[${name}]`];
        for (const key of ["enabled", "port", "maxretry", "findtime", "bantime"] as const) {
            const v = j[key];
            if (v === undefined) continue;
            if (key === "port" && !/^[A-Za-z0-9,:-]+$/.test(String(v)))
                throw new Error(`jail ${name}: port '${v}' is not a port list`);
            if (typeof v === "number" && (!Number.isInteger(v) || (key !== "bantime" && v <= 0))) {
                throw new Error(
                    `jail ${name}: ${key} must be a ${key === "bantime" ? "" : "positive "}whole number, got ${v}`,
                );
            }
            lines.push(`${key} = ${v}`);
        }
        sections.push(lines.join("\n"));
    }
    return sections.join("\n\n");
}

/** The systemd unit shipped with jailwatch. */
export function unitFile(file = WATCHER_UNIT_FILE): string {
    if (!fs.existsSync(file)) throw new Error(`jailwatch systemd unit not found at ${file}`);
    return fs.readFileSync(file, "utf8");
}

export function sha256(data: string | Buffer): string {
    return crypto.createHash("sha256").update(data).digest("hex");
}

/** What the plan ships, as content hashes: the service step's DEPLOY_ID, and the components' triggers. */
export function configSha256(bundle: string, overrides: string, unit: string): string {
    return sha256(JSON.stringify([bundle, overrides, unit]));
}

export function fail2banPlan<V>(args: Fail2BanPlanArgs<V>): HostStep<V | string>[] {
    if (!/^[0-9a-f]{64}$/.test(args.binarySha256)) throw new Error("fail2banPlan: binarySha256 must be 64 hex digits");
    const port = args.peerPort ?? DEFAULT_PEER_PORT;
    if (!Number.isInteger(port) || port < 1024 || port > 65535)
        throw new Error(`fail2banPlan: peerPort ${port} must be 1024-65535`);
    const bundle = encodeBundle(shippedConfig());
    const overrides = jailOverridesText(args.jails ?? defaultJails());
    const unit = unitFile();
    const metrics = args.metricsListen ?? "";
    if (metrics !== "" && !/^(\d{1,5}|[A-Za-z0-9.-]+:\d{1,5}|\[[0-9A-Fa-f:.]+\]:\d{1,5})$/.test(metrics)) {
        throw new Error(`fail2banPlan: metricsListen '${metrics}' must be PORT or HOST:PORT`);
    }
    // The endpoint is part of what the service runs: a change restarts it (and no change keeps the old hash).
    const deployId = `binary=${args.binarySha256.slice(0, 16)} config=${configSha256(bundle, metrics ? `${overrides}\nmetricslisten=${metrics}` : overrides, unit).slice(0, 16)}`;
    const steps: HostStep<V | string>[] = [];
    for (const node of args.nodes) {
        if (args.addresses[node] === undefined || args.peers[node] === undefined) {
            throw new Error(`fail2banPlan: no address/peers for node ${node}`);
        }
        const after = args.after?.[node] ?? [];
        steps.push({
            id: jailStepIds.binary(node),
            host: node,
            script: "jail/binary.sh",
            params: { BINARY_URL: args.binaryUrl, BINARY_SHA256: args.binarySha256 },
            dependsOn: [...after],
        });
        steps.push({
            id: jailStepIds.config(node),
            host: node,
            script: "jail/config.sh",
            params: {
                FILES: bundle,
                JAIL_OVERRIDES: overrides,
                IGNORE_IP: args.ignoreIp,
                PEERS: args.peers[node],
                PEER_LISTEN: args.addresses[node],
                PEER_PORT: String(port),
                ...(metrics ? { METRICS_LISTEN: metrics } : {}),
            },
            secrets: { PEER_SECRET: args.peerSecret },
            dependsOn: [jailStepIds.binary(node)],
        });
        steps.push({
            id: jailStepIds.service(node),
            host: node,
            script: "jail/service.sh",
            params: { UNIT_FILE: unit, DEPLOY_ID: deployId },
            dependsOn: [jailStepIds.config(node)],
        });
    }
    return steps;
}
