// The whole stack in the lab: the three Gluster nodes run GlusterCluster's, WordPressTier's and Fail2BanJail's host
// steps (the same plans the components use, fed plain strings), a MariaDB host stands in for RDS, and two client
// hosts play visitors and attackers. Nothing is retyped: scripts come from scripts/, plans from components/.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { HostStep } from "../components/hostStep";
import { fail2banPlan, sha256 } from "../components/fail2banPlan";
import { webStepIds, wordpressPlan } from "../components/wordpressPlan";
import { stepIds as glusterStepIds } from "../components/glusterPlan";
import { GLUSTER_HOSTS, LAB_GLUSTER, labGlusterPlan } from "./glusterLab";
import { HostSpec, LabHost, createHost, exec } from "./hosts";
import { check } from "./proc";
import { RunPlanOptions, RunReport, runPlan } from "./runner";
import { LAB_DIR, LAB_SUBNET_PREFIX } from "./state";

/** MariaDB host standing in for RDS. */
export const DB_HOST: HostSpec = { name: "db", ip: `${LAB_SUBNET_PREFIX}10` };
/** Visitors / attackers (no disk). */
export const CLIENT_HOSTS: HostSpec[] = [1, 2].map(n => ({ name: `client${n}`, ip: `${LAB_SUBNET_PREFIX}${20 + n}` }));
export const STACK_HOSTS: HostSpec[] = [...GLUSTER_HOSTS, DB_HOST, ...CLIENT_HOSTS];
export const NODE_NAMES = GLUSTER_HOSTS.map(h => h.name);

export const LAB_SITE = {
    dbName: "wordpress",
    dbUser: "wordpress",
    title: "HA WordPress (lab)",
    adminUser: "wpadmin",
    adminEmail: "admin@lab.invalid",
    installUrl: `http://${GLUSTER_HOSTS[0].ip}`,
};

/** The jailwatch executable the nodes install (the lab hosts see this machine's files through their overlay root). */
export const LAB_BINARY = path.join(__dirname, "..", "dist", "jailwatch");

/** Generated once per lab and kept (0600) so re-runs change nothing; the lab's stand-ins for the random resources. */
export interface StackSecrets {
    dbPassword: string;
    salts: string;
    adminPassword: string;
    peerSecret: string;
}

const SECRETS_FILE = () => path.join(LAB_DIR, "stack-secrets.json");

export function stackSecrets(): StackSecrets {
    const file = SECRETS_FILE();
    if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, "utf8"));
    const word = (n: number) => crypto.randomBytes(n).toString("base64").replace(/[+/=]/g, "x");
    const s: StackSecrets = {
        dbPassword: word(24),
        salts: Array.from({ length: 8 }, () => word(48)).join(" "),
        adminPassword: word(18),
        peerSecret: word(36),
    };
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
        dbUser: LAB_SITE.dbUser,
        dbPassword: s.dbPassword,
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
export function labFail2banPlan(s: StackSecrets, binary = LAB_BINARY): HostStep<string>[] {
    if (!fs.existsSync(binary)) throw new Error(`${binary} not found: run \`npm run build\` first`);
    const ipOf = Object.fromEntries(GLUSTER_HOSTS.map(h => [h.name, h.ip]));
    return fail2banPlan<string>({
        nodes: NODE_NAMES,
        addresses: ipOf,
        peers: Object.fromEntries(NODE_NAMES.map(n => [n, NODE_NAMES.filter(o => o !== n).map(o => ipOf[o]).join(" ")])),
        peerSecret: s.peerSecret,
        binaryUrl: `file://${binary}`,
        binarySha256: sha256(fs.readFileSync(binary)),
        ignoreIp: GLUSTER_HOSTS.map(h => h.ip).join(" "),
        after: Object.fromEntries(NODE_NAMES.map(n => [n, [webStepIds.nginx(n)]])),
    }) as HostStep<string>[];
}

/** Every host step of the stack, one plan: Gluster, then web, then jail (by their dependencies). */
export function labStackPlan(s: StackSecrets): HostStep<string>[] {
    return [...labGlusterPlan(), ...labWordPressPlan(s), ...labFail2banPlan(s)];
}

/** Makes (or finds) all stack hosts, in parallel. */
export async function provisionStackHosts(): Promise<Record<string, LabHost>> {
    const hosts = await Promise.all(STACK_HOSTS.map(createHost));
    return Object.fromEntries(hosts.map(h => [h.name, h]));
}

/** Starts MariaDB on the db host with the stack's database and user (lab/stack-db.sh). */
export async function startDatabase(db: LabHost, s: StackSecrets): Promise<void> {
    const script = fs.readFileSync(path.join(__dirname, "stack-db.sh"), "utf8");
    check("database host", await exec(db, ["bash", "-c", script, "stack-db", DB_HOST.ip, LAB_SITE.dbName,
        LAB_SITE.dbUser, s.dbPassword, `${LAB_SUBNET_PREFIX}%`], { timeoutMs: 120_000 }));
}

/** The whole stack: hosts, database, and every host step. */
export async function stackUp(opts: RunPlanOptions = {}): Promise<{ hosts: Record<string, LabHost>; report: RunReport; secrets: StackSecrets }> {
    const hosts = await provisionStackHosts();
    const secrets = stackSecrets();
    await startDatabase(hosts[DB_HOST.name], secrets);
    const report = await runPlan(labStackPlan(secrets), hosts, { stepTimeoutMs: 600_000, ...opts });
    return { hosts, report, secrets };
}
