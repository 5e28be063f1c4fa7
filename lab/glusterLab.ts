// The Gluster part of the lab: three hosts standing in for the three EC2 instances, and GlusterCluster's own
// plan (components/glusterPlan.ts) with the lab's values.
import { HostStep } from "../components/hostStep";
import { glusterPlan } from "../components/glusterPlan";
import { HostSpec, LabHost, createHost, exec } from "./hosts";
import { RunPlanOptions, RunReport, runPlan } from "./runner";
import { LB_PRIVATE_IP } from "./balancer";
import { LAB_SUBNET_PREFIX } from "./state";

/** The Gluster volume settings the lab uses: the seed's names and paths, and a short ping-timeout. */
export const LAB_GLUSTER = {
    volumeName: "wp",
    brickPath: "/glusterfs/bricks/brick1/gv",
    /** The brick filesystem's mount point: the seed's "is a mount point" trap if used as the brick itself. */
    brickMount: "/glusterfs/bricks/brick1",
    mountPoint: "/var/www/html",
    /** Seconds; short, so node-loss tests stay quick, long enough not to drop a busy node on a loaded machine. */
    pingTimeout: 10,
};

/** The lab's stand-in for an EBS volume id: `vol-0lab` and the host number, 16 characters like a real id. */
export function labVolumeId(n: number): string {
    return `vol-0lab${String(n).padStart(12, "0")}`;
}

/** node-gfs1..3 at 10.77.0.1-3, each with a 1 GiB raw disk; replies to visitors go back through the balancer. */
export const GLUSTER_HOSTS: HostSpec[] = [1, 2, 3].map(n => ({
    name: `node-gfs${n}`,
    ip: `${LAB_SUBNET_PREFIX}${n}`,
    gateway: LB_PRIVATE_IP,
    disk: { volumeId: labVolumeId(n), sizeMiB: 1024 },
}));

/** GlusterCluster's plan for the lab hosts: the same function the component calls, fed plain strings. */
export function labGlusterPlan(hosts: HostSpec[] = GLUSTER_HOSTS): HostStep<string>[] {
    return glusterPlan<string>({
        nodes: hosts.map(h => ({ name: h.name, privateIp: h.ip, brickVolumeId: h.disk!.volumeId })),
        volumeName: LAB_GLUSTER.volumeName,
        brickPath: LAB_GLUSTER.brickPath,
        mountPoint: LAB_GLUSTER.mountPoint,
        pingTimeout: LAB_GLUSTER.pingTimeout,
    }) as HostStep<string>[];
}

/** Makes (or finds) the three Gluster hosts, in parallel. */
export function provisionGlusterHosts(): Promise<LabHost[]> {
    return Promise.all(GLUSTER_HOSTS.map(h => createHost(h)));
}

/** Runs the Gluster plan (all of it, or the selected steps) on the lab hosts. */
export function runGlusterPlan(hosts: LabHost[], opts?: RunPlanOptions): Promise<RunReport> {
    return runPlan(labGlusterPlan(), hosts, opts);
}

/** Runs a gluster CLI command on a host and returns its output (stderr appended, for display). */
async function gluster(host: LabHost, ...args: string[]): Promise<string> {
    const r = await exec(host, ["gluster", "--mode=script", ...args], { timeoutMs: 30_000 });
    return (r.stdout + r.stderr).trimEnd();
}

/** The volume's health as `up` prints it: info, brick status, heal state, and each host's mount. */
export async function volumeHealth(hosts: LabHost[]): Promise<string> {
    const vol = LAB_GLUSTER.volumeName;
    const out = [
        await gluster(hosts[0], "volume", "info", vol),
        "",
        await gluster(hosts[0], "volume", "status", vol),
        "",
        await gluster(hosts[0], "volume", "heal", vol, "info", "summary"),
        "",
    ];
    for (const h of hosts) out.push(`${h.name}: ${await mountLine(h)}`);
    return out.join("\n");
}

/** Everything `status` shows: peers as each host sees them, bricks, heal state, mounts. */
export async function labStatus(hosts: LabHost[]): Promise<string> {
    const out: string[] = [];
    for (const h of hosts) {
        out.push(`== ${h.name} (${h.ip}) peers`, await gluster(h, "pool", "list"), "");
    }
    return out.join("\n") + "\n" + (await volumeHealth(hosts));
}

async function mountLine(host: LabHost): Promise<string> {
    const r = await exec(host, ["findmnt", "-n", "-o", "SOURCE,FSTYPE,OPTIONS", LAB_GLUSTER.mountPoint]);
    return r.code === 0 ? `${LAB_GLUSTER.mountPoint} <- ${r.stdout.trim()}` : `${LAB_GLUSTER.mountPoint} not mounted`;
}
