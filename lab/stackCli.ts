// `npm run lab -- up`: the whole stack (Gluster, MariaDB, web tier, jailwatch) and where to browse it.
import { DB_HOST, CLIENT_HOSTS, LAB_SITE, SITE_URL, STACK_HOSTS, stackUp } from "./stack";
import { formatStep } from "./runner";
import { LAB_DIR } from "./state";
import { GLUSTER_HOSTS } from "./glusterLab";
import { ensureForwarder, forwardUrl } from "./forward";

const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

export async function stackUpCommand(): Promise<number> {
    const t0 = Date.now();
    console.log(`lab: hosts ${STACK_HOSTS.map(h => `${h.name} (${h.ip})`).join(", ")}`);
    const { report, secrets } = await stackUp({ onStep: r => console.log(formatStep(r)) });
    if (!report.ok) {
        const failed = report.steps.filter(s => s.status === "failed").map(s => s.id);
        console.error(`lab: stack FAILED (${failed.join(", ")}); logs in ${LAB_DIR}/hosts/*/log`);
        return 1;
    }
    const nodes = GLUSTER_HOSTS.map(h => `http://${h.ip}/`).join("  ");
    const site = SITE_URL;
    const browse = forwardUrl(await ensureForwarder());
    console.log(`
lab: ${report.steps.length} steps ok in ${secs(report.durationMs)} (total ${secs(Date.now() - t0)})

WordPress through the load balancer (${site}, nftables L4, health check /healthz) -> Varnish :80 -> Nginx -> PHP-FPM,
files on the Gluster volume, MariaDB on ${DB_HOST.ip}; the nodes themselves: ${nodes}
  admin: ${site}/wp-admin/  user ${LAB_SITE.adminUser}  password ${secrets.adminPassword}
The lab's network lives in namespaces; inside it, e.g.
  npm run lab -- ssh ${CLIENT_HOSTS[0].name} curl -s ${site}/ | head
  nsenter -t $(node -p 'require("${LAB_DIR}/control.json").init.pid') -n curl -sI ${site}/
Hosts are booted Debian 12 systems: npm run lab -- reboot node-gfs2 | reboot all | stop node-gfs3 --force | start node-gfs3
jailwatch: npm run lab -- ssh node-gfs1 jailwatch client status nginx-wp-xmlrpc
Remove it all with \`npm run lab -- down\`.

Open the site in a browser on this machine (loopback only; through the load balancer, so a node may be down):
  ${browse}
  admin: ${browse}wp-admin/  user ${LAB_SITE.adminUser}  password ${secrets.adminPassword}`);
    return 0;
}
