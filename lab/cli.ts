// `npm run lab -- up | status | down | ssh HOST [COMMAND]`: the local lab from the command line.
import {
    LabHost,
    destroyLab,
    exec,
    getHost,
    hostIsUp,
    listHosts,
    powerOff,
    powerOn,
    rebootHost,
    ssh,
    LAB_DIR,
} from "./hosts";
import { ensureImage } from "./image";
import { LB_PUBLIC_IP, healthyBackends } from "./balancer";
import { readHostRecord } from "./state";
import { GLUSTER_HOSTS, labStatus, provisionGlusterHosts, runGlusterPlan, volumeHealth } from "./glusterLab";
import { formatStep } from "./runner";
import { stackUpCommand } from "./stackCli";
import { stopForwarder } from "./forward";

const USAGE = `usage: npm run lab -- <command>
  up             the whole stack: node-gfs1..3, a MariaDB host and two clients; Gluster, WordPress and jailwatch steps;
                 ends with the site's URL on this machine (http://127.0.0.1/, a loopback forward to the balancer)
  up --gluster   only node-gfs1..3 and GlusterCluster's host steps
  status         peers, bricks, heal state and mounts, and each node's own health report (gluster-health --text)
  down           remove every process, mount, loop device and namespace the lab made (state: ${LAB_DIR})
  ssh HOST CMD   run a command on a lab host over SSH, e.g. ssh node-gfs1 gluster peer status
  reboot HOST|all   reboot hosts from inside (systemctl reboot), all of them at once with "all"; waits until booted
  stop HOST [--force]   power a host off: a clean shutdown, or with --force a power cut (links down, every process killed)
  start HOST     power a stopped host on (same root volume and disk) and wait until it has booted
  image          build the cached Debian 12 image the hosts boot from, if missing (\`up\` does it when needed)`;

const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

async function up(): Promise<number> {
    const t0 = Date.now();
    console.log(`lab: hosts ${GLUSTER_HOSTS.map(h => `${h.name} (${h.ip})`).join(", ")}`);
    const hosts = await provisionGlusterHosts();
    const provisioned = Date.now() - t0;
    console.log(`lab: hosts up in ${secs(provisioned)}; running the gluster plan over SSH from 10.77.0.254`);
    const report = await runGlusterPlan(hosts, { onStep: r => console.log(formatStep(r)) });
    if (!report.ok) {
        const failed = report.steps.filter(s => s.status === "failed").map(s => s.id);
        console.error(`lab: plan FAILED (${failed.join(", ")}); logs in ${LAB_DIR}/hosts/*/log`);
        return 1;
    }
    console.log(
        `lab: ${report.steps.length} steps ok in ${secs(report.durationMs)} (total ${secs(Date.now() - t0)})\n`,
    );
    console.log(await volumeHealth(hosts));
    console.log(
        `\nlab: try \`npm run lab -- ssh node-gfs1 ls -la /var/www/html\`; remove it all with \`npm run lab -- down\``,
    );
    return 0;
}

async function status(): Promise<number> {
    const all = listHosts();
    if (!all.some(hostIsUp)) {
        console.log(
            all.length
                ? `lab: every host is powered off (${all.map(h => h.name).join(", ")}); \`npm run lab -- up\` boots them`
                : "lab: down (run `npm run lab -- up`)",
        );
        return 1;
    }
    for (const h of all) {
        const on = hostIsUp(h);
        const state = on ? (await exec(h, ["systemctl", "is-system-running"])).stdout.trim() : "powered off";
        const failed = on
            ? (await exec(h, ["systemctl", "--failed", "--no-legend", "--plain"])).stdout
                  .trim()
                  .split("\n")
                  .filter(Boolean)
                  .map(l => l.split(/\s+/)[0])
            : [];
        console.log(
            `lab: ${h.name.padEnd(10)} ${h.nics
                .map(n => n.ip)
                .join(",")
                .padEnd(22)} ${state}` +
                `${h.disk ? `  disk ${h.disk.loop || "-"}${h.diskAttached === false ? " (unplugged)" : ""}` : ""}` +
                `${failed.length ? `  failed: ${failed.join(" ")}` : ""}`,
        );
    }
    const lb = all.find(h => h.name === "lb" && hostIsUp(h));
    if (lb)
        console.log(
            `lab: load balancer ${LB_PUBLIC_IP}:80 sends new connections to: ${(await healthyBackends(lb)).join(" ") || "every node (none healthy: fails open)"}`,
        );
    const nodes = GLUSTER_HOSTS.map(h => getHost(h.name)).filter((h): h is LabHost => !!h);
    if (nodes.length) {
        console.log("");
        console.log(await labStatus(nodes));
        console.log("");
        for (const h of nodes) console.log(await nodeHealth(h));
    }
    return nodes.length === GLUSTER_HOSTS.length ? 0 : 1;
}

/** Where the mount step installs the health report (scripts/gluster/health.sh). */
const HEALTH_COMMAND = "/usr/local/lib/ha-wordpress/gluster-health";

/** One screen of Gluster health as the node itself reports it: the script the metrics publish from. */
async function nodeHealth(h: LabHost): Promise<string> {
    if (!hostIsUp(h)) return `gluster health of ${h.name}: powered off\n`;
    const r = await exec(h, [HEALTH_COMMAND, "--text"], { timeoutMs: 120_000 });
    if (r.code !== 0)
        return `gluster health of ${h.name}: ${HEALTH_COMMAND} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}\n`;
    return r.stdout;
}

async function down(): Promise<number> {
    const hosts = listHosts();
    // The browser's forwarder first (by its recorded pid): its socket is the machine's, not the lab's.
    stopForwarder();
    await destroyLab();
    console.log(
        `lab: removed ${hosts.length ? hosts.map(h => h.name).join(", ") : "nothing (no hosts)"}, ` +
            `the control namespace and ${LAB_DIR}`,
    );
    return 0;
}

async function sshCommand(name: string | undefined, words: string[]): Promise<number> {
    const host = name ? getHost(name) : undefined;
    if (!host) {
        console.error(
            `lab: no running host '${name ?? ""}' (hosts: ${
                listHosts()
                    .map(h => h.name)
                    .join(", ") || "none"
            })`,
        );
        return 2;
    }
    const r = await ssh(host, words.length ? words.join(" ") : "hostname", { timeoutMs: 600_000 });
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
    return r.code ?? 1;
}

function recorded(name: string | undefined): LabHost {
    const rec = name ? readHostRecord(name) : undefined;
    if (!rec)
        throw new Error(
            `no lab host '${name ?? ""}' (hosts: ${
                listHosts()
                    .map(h => h.name)
                    .join(", ") || "none"
            })`,
        );
    return rec;
}

async function power(verb: string, argv: string[]): Promise<number> {
    const t0 = Date.now();
    if (verb === "reboot") {
        const targets = argv[0] === "all" ? listHosts().filter(hostIsUp) : [recorded(argv[0])];
        await Promise.all(targets.map(rebootHost));
        console.log(`lab: rebooted ${targets.map(h => h.name).join(", ")} in ${secs(Date.now() - t0)}`);
    } else if (verb === "stop") {
        const host = recorded(argv[0]);
        await powerOff(host, { force: argv.includes("--force") });
        console.log(
            `lab: ${host.name} powered off${argv.includes("--force") ? " (power cut)" : ""} in ${secs(Date.now() - t0)}`,
        );
    } else {
        const host = recorded(argv[0]);
        await powerOn(host);
        console.log(`lab: ${host.name} booted in ${secs(Date.now() - t0)}`);
    }
    return 0;
}

async function main(argv: string[]): Promise<number> {
    if (process.getuid && process.getuid() !== 0) {
        console.error("lab: must run as root (it makes namespaces, mounts and loop devices)");
        return 2;
    }
    switch (argv[0]) {
        case "up":
            return argv.includes("--gluster") ? up() : stackUpCommand();
        case "status":
            return status();
        case "down":
            return down();
        case "ssh":
            return sshCommand(argv[1], argv.slice(2));
        case "reboot":
        case "stop":
        case "start":
            return power(argv[0], argv.slice(1));
        case "image": {
            const t0 = Date.now();
            const dir = await ensureImage(line => console.log(line));
            console.log(`lab: image ${dir} ready (${secs(Date.now() - t0)})`);
            return 0;
        }
        default:
            console.error(USAGE);
            return 2;
    }
}

main(process.argv.slice(2)).then(
    code => {
        process.exitCode = code;
    },
    (e: Error) => {
        console.error(`lab: ${e.message}`);
        process.exitCode = 1;
    },
);
