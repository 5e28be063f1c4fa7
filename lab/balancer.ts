// The lab's load balancer, standing in for the NLB: a booted host between the public side (visitors, attackers)
// and the private LAN (the nodes), balancing TCP in the kernel (nftables DNAT) to the nodes whose /healthz answers.
// The visitor's address reaches the node unchanged, as with the NLB's client IP preservation, because the nodes
// route their replies back through it (their gateway).
import * as fs from "fs";
import * as path from "path";
import { HostSpec, LabHost, exec } from "./hosts";
import { LAB_SUBNET_PREFIX, PUBLIC_SUBNET_PREFIX } from "./state";

/** Its inside address, the nodes' gateway. */
export const LB_PRIVATE_IP = `${LAB_SUBNET_PREFIX}100`;
/** The site's address as visitors see it (the NLB's DNS name, in AWS terms). */
export const LB_PUBLIC_IP = `${PUBLIC_SUBNET_PREFIX}100`;

/** Health check: like the NLB's target group (GET /healthz), faster so the lab's tests stay short. */
export const LB_HEALTH = { intervalSeconds: 1, rise: 2, fall: 2 };

const CHECK_SCRIPT = path.join(__dirname, "balancer", "halb-check.sh");

/** The balancer host for the given backends (node addresses), listening on port 80 of LB_PUBLIC_IP. */
export function balancerSpec(backends: string[], ports: number[] = [80]): HostSpec {
    const conf =
        `VIP=${LB_PUBLIC_IP}\nPORTS="${ports.join(" ")}"\nBACKENDS="${backends.join(" ")}"\n` +
        `INTERVAL=${LB_HEALTH.intervalSeconds}\nRISE=${LB_HEALTH.rise}\nFALL=${LB_HEALTH.fall}\n`;
    return {
        name: "lb",
        ip: LB_PRIVATE_IP,
        moreAddresses: [LB_PUBLIC_IP],
        forward: true,
        files: {
            "/etc/halb.conf": { content: conf },
            "/usr/local/sbin/halb-check": { content: fs.readFileSync(CHECK_SCRIPT, "utf8"), mode: 0o755 },
            "/etc/systemd/system/halb.service": {
                content:
                    "[Unit]\nDescription=lab load balancer (nftables DNAT to healthy web nodes)\n" +
                    "Wants=network-online.target\nAfter=network-online.target\n\n[Service]\n" +
                    "ExecStart=/usr/local/sbin/halb-check\nRestart=always\nRestartSec=1\n\n" +
                    "[Install]\nWantedBy=multi-user.target\n",
            },
        },
        enableUnits: ["halb.service"],
    };
}

/** The backends the balancer sends new connections to right now ("none": it fails open to all). */
export async function healthyBackends(lb: LabHost): Promise<string[]> {
    const r = await exec(lb, ["cat", "/run/halb.healthy"]);
    const words = r.code === 0 ? r.stdout.trim().split(/\s+/).filter(Boolean) : [];
    return words[0] === "none" ? [] : words;
}
