// The whole stack in the lab: the three Gluster nodes run GlusterCluster's, WordPressTier's and Fail2BanJail's host
// steps (the same plans the components use, fed plain strings), a MariaDB host stands in for RDS, and two client
// hosts play visitors and attackers. Nothing is retyped: scripts come from scripts/, plans from components/.
import { spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { HostStep } from "../components/hostStep";
import { JailOverrides, fail2banPlan, sha256 } from "../components/fail2banPlan";
import { webStepIds, wordpressPlan } from "../components/wordpressPlan";
import { stepIds as glusterStepIds } from "../components/glusterPlan";
import { GLUSTER_HOSTS, LAB_GLUSTER, labGlusterPlan } from "./glusterLab";
import { HostSpec, LabHost, control, createHost, exec } from "./hosts";
import { check, waitFor } from "./proc";
import { RunPlanOptions, RunReport, runPlan } from "./runner";
import { LB_PUBLIC_IP, balancerSpec } from "./balancer";
import { CONTROL_IP, LAB_DIR, LAB_SUBNET_PREFIX, PUBLIC_SUBNET_PREFIX, readControlRecord } from "./state";

/** MariaDB host standing in for RDS. */
export const DB_HOST: HostSpec = { name: "db", ip: `${LAB_SUBNET_PREFIX}10` };
/** Visitors / attackers (no disk), on the public side: they reach the site only through the load balancer. */
export const CLIENT_HOSTS: HostSpec[] = [1, 2].map(n => ({
    name: `client${n}`,
    ip: `${PUBLIC_SUBNET_PREFIX}${20 + n}`,
}));
/** The load balancer in front of the three nodes. */
export const LB_HOST: HostSpec = balancerSpec(GLUSTER_HOSTS.map(h => h.ip));
export const STACK_HOSTS: HostSpec[] = [...GLUSTER_HOSTS, DB_HOST, LB_HOST, ...CLIENT_HOSTS];
/** The site as a visitor reaches it: through the load balancer. */
export const SITE_URL = `http://${LB_PUBLIC_IP}`;
export const NODE_NAMES = GLUSTER_HOSTS.map(h => h.name);

export const LAB_SITE = {
    dbName: "wordpress",
    dbUser: "wordpress",
    title: "HA WordPress (lab)",
    adminUser: "wpadmin",
    adminEmail: "admin@lab.invalid",
    installUrl: `http://${GLUSTER_HOSTS[0].ip}`,
};

/** The jailwatch executable the nodes install. */
export const LAB_BINARY = path.join(__dirname, "..", "dist", "jailwatch");
/** Port of the lab's artifact server in the control namespace (the lab's stand-in for the S3 bucket). */
export const ARTIFACT_PORT = 8099;

/**
 * Publishes the binary as Fail2BanJail does on AWS: a copy keyed by its SHA-256, served over HTTP from the control
 * namespace (the operator's side), which every node downloads and verifies. (Reading dist/ through a host's overlay
 * root is not reliable: a rebuild replaces the file under the overlay's feet.) Returns URL and hash.
 */
export async function publishBinary(binary = LAB_BINARY): Promise<{ url: string; sha256: string }> {
    if (!fs.existsSync(binary)) throw new Error(`${binary} not found: run \`npm run build\` first`);
    const bytes = fs.readFileSync(binary);
    const hash = sha256(bytes);
    const dir = path.join(LAB_DIR, "artifacts");
    fs.mkdirSync(path.join(dir, "jailwatch", hash), { recursive: true, mode: 0o700 });
    const file = path.join(dir, "jailwatch", hash, "jailwatch");
    if (!fs.existsSync(file)) fs.writeFileSync(file, bytes, { mode: 0o600 });
    await ensureArtifactServer(dir);
    return { url: `http://${CONTROL_IP}:${ARTIFACT_PORT}/jailwatch/${hash}/jailwatch`, sha256: hash };
}

async function artifactServerUp(): Promise<boolean> {
    const r = await control(["bash", "-c", `exec 3<>/dev/tcp/${CONTROL_IP}/${ARTIFACT_PORT}`], { timeoutMs: 5_000 });
    return r.code === 0;
}

/** A static file server in the control namespace; `down` stops it with every other process of that namespace. */
async function ensureArtifactServer(dir: string): Promise<void> {
    if (await artifactServerUp()) return;
    const ctl = readControlRecord();
    if (!ctl) throw new Error("the lab's control namespace is not running");
    const program = `
const http = require("http"), fs = require("fs"), path = require("path");
const root = process.argv[1];
http.createServer((req, res) => {
  const rel = path.normalize(decodeURIComponent(req.url.split("?")[0])).replace(/^[/]+/, "");
  const file = path.join(root, rel);
  if (!file.startsWith(root + "/") || !fs.existsSync(file) || !fs.statSync(file).isFile()) { res.writeHead(404); res.end(); return; }
  res.writeHead(200, { "Content-Length": fs.statSync(file).size });
  fs.createReadStream(file).pipe(res);
}).listen(${ARTIFACT_PORT}, "${CONTROL_IP}");`;
    const log = fs.openSync(path.join(LAB_DIR, "artifacts.log"), "a");
    const child = spawn("nsenter", ["-t", String(ctl.init.pid), "-n", "--", process.execPath, "-e", program, dir], {
        detached: true,
        stdio: ["ignore", log, log],
    });
    fs.closeSync(log);
    child.unref();
    await waitFor(`artifact server on ${CONTROL_IP}:${ARTIFACT_PORT}`, artifactServerUp, 10_000, 100);
}

/** Generated once per lab and kept (0600) so re-runs change nothing; the lab's stand-ins for the random resources. */
export interface StackSecrets {
    /** The database's master user's password (the lab's stand-in for RDS's). */
    dbPassword: string;
    /** WordPress's own database user's password. */
    dbAppPassword: string;
    salts: string;
    adminPassword: string;
    peerSecret: string;
}

const SECRETS_FILE = () => path.join(LAB_DIR, "stack-secrets.json");

export function stackSecrets(): StackSecrets {
    const file = SECRETS_FILE();
    const word = (n: number) => crypto.randomBytes(n).toString("base64").replace(/[+/=]/g, "x");
    const fresh = (): StackSecrets => ({
        dbPassword: word(24),
        dbAppPassword: word(24),
        salts: Array.from({ length: 8 }, () => word(48)).join(" "),
        adminPassword: word(18),
        peerSecret: word(36),
    });
    // A file from an older lab lacks newer secrets: keep what it has, add the rest.
    const kept: Partial<StackSecrets> = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
    const s: StackSecrets = { ...fresh(), ...kept };
    if (Object.keys(kept).length === Object.keys(s).length) return s;
    fs.mkdirSync(LAB_DIR, { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, JSON.stringify(s), { mode: 0o600 });
    return s;
}

/** WordPressTier's plan with the lab's values: Debian's WordPress, MariaDB on the db host, any Host name. */
export function labWordPressPlan(s: StackSecrets): HostStep<string>[] {
    return wordpressPlan<string>({
        nodes: NODE_NAMES,
        mountPoint: LAB_GLUSTER.mountPoint,
        afterMount: Object.fromEntries(NODE_NAMES.map(n => [n, [glusterStepIds.mount(n)]])),
        afterInstall: Object.fromEntries(NODE_NAMES.map(n => [n, [glusterStepIds.install(n)]])),
        source: { kind: "debian" },
        dbHost: DB_HOST.ip,
        dbName: LAB_SITE.dbName,
        // As on AWS: the master user (stack-db.sh) only makes WordPress's own user, which the site uses.
        dbMasterUser: LAB_SITE.dbUser,
        dbMasterPassword: s.dbPassword,
        dbUser: `${LAB_SITE.dbUser}_app`,
        dbPassword: s.dbAppPassword,
        dbUserHost: `${LAB_SUBNET_PREFIX}%`,
        salts: s.salts,
        siteUrl: "",
        installUrl: LAB_SITE.installUrl,
        siteTitle: LAB_SITE.title,
        adminUser: LAB_SITE.adminUser,
        adminPassword: s.adminPassword,
        adminEmail: LAB_SITE.adminEmail,
        cacheSize: "64m",
    }) as HostStep<string>[];
}

/**
 * Fail2BanJail's plan with the lab's values. ignoreip: the nodes themselves (on AWS the VPC CIDR; here the clients
 * share the nodes' subnet, so the whole subnet cannot be ignored).
 */
export function labFail2banPlan(
    s: StackSecrets,
    binary: { url: string; sha256: string },
    jails?: Record<string, JailOverrides>,
    extra: { metricsListen?: string } = {},
): HostStep<string>[] {
    const ipOf = Object.fromEntries(GLUSTER_HOSTS.map(h => [h.name, h.ip]));
    return fail2banPlan<string>({
        nodes: NODE_NAMES,
        addresses: ipOf,
        peers: Object.fromEntries(
            NODE_NAMES.map(n => [
                n,
                NODE_NAMES.filter(o => o !== n)
                    .map(o => ipOf[o])
                    .join(" "),
            ]),
        ),
        peerSecret: s.peerSecret,
        binaryUrl: binary.url,
        binarySha256: binary.sha256,
        ignoreIp: GLUSTER_HOSTS.map(h => h.ip).join(" "),
        after: Object.fromEntries(NODE_NAMES.map(n => [n, [webStepIds.nginx(n)]])),
        jails,
        metricsListen: extra.metricsListen,
    }) as HostStep<string>[];
}

/** Every host step of the stack, one plan: Gluster, then web, then jail (by their dependencies). */
export function labStackPlan(
    s: StackSecrets,
    binary: { url: string; sha256: string },
    jails?: Record<string, JailOverrides>,
    extra: { metricsListen?: string } = {},
): HostStep<string>[] {
    return [...labGlusterPlan(), ...labWordPressPlan(s), ...labFail2banPlan(s, binary, jails, extra)];
}

/** Makes (or finds) all stack hosts, in parallel. */
export async function provisionStackHosts(): Promise<Record<string, LabHost>> {
    const hosts = await Promise.all(STACK_HOSTS.map(h => createHost(h)));
    return Object.fromEntries(hosts.map(h => [h.name, h]));
}

/** Starts MariaDB on the db host with the stack's database and master user (lab/stack-db.sh), as RDS would. */
export async function startDatabase(db: LabHost, s: StackSecrets, dbName = LAB_SITE.dbName): Promise<void> {
    const script = fs.readFileSync(path.join(__dirname, "stack-db.sh"), "utf8");
    check(
        "database host",
        await exec(
            db,
            [
                "bash",
                "-c",
                script,
                "stack-db",
                DB_HOST.ip,
                dbName,
                LAB_SITE.dbUser,
                s.dbPassword,
                `${LAB_SUBNET_PREFIX}%`,
            ],
            { timeoutMs: 120_000 },
        ),
    );
}

/** The whole stack: hosts, database, and every host step. */
export async function stackUp(
    opts: RunPlanOptions = {},
): Promise<{ hosts: Record<string, LabHost>; report: RunReport; secrets: StackSecrets }> {
    const hosts = await provisionStackHosts();
    const secrets = stackSecrets();
    await startDatabase(hosts[DB_HOST.name], secrets);
    const binary = await publishBinary();
    const report = await runPlan(labStackPlan(secrets, binary), hosts, { stepTimeoutMs: 600_000, ...opts });
    return { hosts, report, secrets };
}
