// `npm run bench -- --only=ping-timeout`: chooses network.ping-timeout by measurement on the booted lab.
//
// A short ping-timeout shortens the stall every client sees when a node vanishes; a too-short one drops a node that
// is only busy, and each such false disconnect costs a reconnect (locks re-acquired, files reopened, a heal). For each
// candidate the bench (1) loads all three nodes for a bounded time (busy CPUs beyond the machine's cores and a
// small-file workload on the volume from every node) and counts the disconnects the clients log, and (2) cuts the
// power of node 3 and measures the longest single write on node 1 (the stall), then powers it on and waits for heal.
//
// Uses its own lab (HA_LAB_DIR, default /tmp/ha-lab-bench-ping) so it never touches a lab that runs tests.
import type { BenchContext, Check } from "./run";

process.env.HA_LAB_DIR = process.env.HA_LAB_DIR || "/tmp/ha-lab-bench-ping";

/** Candidates in seconds, and the project's default (GlusterCluster's pingTimeout) that the verdict is about. */
const CANDIDATES = [5, 10, 20];
const DEFAULT_PING_TIMEOUT = 10;

interface Row {
    timeout: number;
    loadSeconds: number;
    disconnects: number;
    writes: number;
    stallMs: number;
}

export async function run(ctx: BenchContext): Promise<Check[]> {
    // Loaded here, after HA_LAB_DIR is set: the lab's paths are fixed when its modules load.
    const hosts = await import("../lab/hosts");
    const glusterLab = await import("../lab/glusterLab");
    const { waitFor, sleep } = await import("../lab/proc");
    const loadSeconds = ctx.quick ? 30 : Number(ctx.args.find(a => a.startsWith("--load-seconds="))?.slice(15) ?? 120);
    const vol = glusterLab.LAB_GLUSTER.volumeName,
        mnt = glusterLab.LAB_GLUSTER.mountPoint;

    await hosts.destroyLab();
    const nodes = await glusterLab.provisionGlusterHosts();
    const report = await glusterLab.runGlusterPlan(nodes);
    const failed = report.steps.filter(s => s.status !== "ok");
    if (failed.length) throw new Error(`gluster plan failed: ${failed.map(s => `${s.id} on ${s.host}`).join(", ")}`);
    const [n1, , n3] = nodes;
    const sh = (h: typeof n1, script: string, timeoutMs = 60_000) => hosts.sh(h, script, { timeoutMs });
    const clientLogs = "/var/log/glusterfs/*.log";
    /** Client-side disconnect lines ("has not responded in the last N seconds, disconnecting") on a node. */
    const disconnects = async (h: typeof n1) =>
        Number(
            (await sh(h, `cat ${clientLogs} 2>/dev/null | grep -c 'has not responded in the last' || true`)).trim() ||
                0,
        );
    const healed = async () => {
        const out = await hosts.sh(n1, `gluster --mode=script volume heal ${vol} info summary 2>&1 || true`, {
            timeoutMs: 60_000,
        });
        const online = (out.match(/^Status: Connected/gm) ?? []).length;
        const pending = [...out.matchAll(/^Total Number of entries: (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
        return online === 3 && pending === 0;
    };

    const rows: Row[] = [];
    try {
        for (const timeout of CANDIDATES) {
            await sh(n1, `gluster --mode=script volume set ${vol} network.ping-timeout ${timeout}`);
            await sleep(3_000); // clients take the new volfile
            const before = await Promise.all(nodes.map(disconnects));
            // (1) Load: 3 busy loops per node (9 on a 2-core machine) and a small-file workload on the volume.
            const load = nodes.map(h =>
                sh(
                    h,
                    `
                for k in 1 2 3; do timeout ${loadSeconds} sh -c 'while :; do :; done' & done
                d=${mnt}/ping-bench/$(hostname); mkdir -p "$d"; n=0; end=$(( $(date +%s) + ${loadSeconds} ))
                while [ "$(date +%s)" -lt "$end" ]; do
                  for j in 1 2 3 4 5 6 7 8 9 10; do head -c 32768 /dev/urandom > "$d/f$j"; done
                  cat "$d"/f* > /dev/null; rm -f "$d"/f*; n=$((n + 10))
                done
                wait; echo "$n"`,
                    (loadSeconds + 120) * 1000,
                ),
            );
            const writes = (await Promise.all(load)).reduce((a, out) => a + Number(out.trim().split("\n").pop()), 0);
            const after = await Promise.all(nodes.map(disconnects));
            const falseDisconnects = after.reduce((a, v, i) => a + v - before[i], 0);

            // (2) Stall: node 1 writes one small file after another while node 3 loses power.
            const writer = sh(
                n1,
                `
                mkdir -p ${mnt}/ping-stall; max=0; end=$(( $(date +%s) + ${timeout + 40} ))
                while [ "$(date +%s)" -lt "$end" ]; do
                  s=$(date +%s%N); echo x > ${mnt}/ping-stall/f || true; e=$(date +%s%N)
                  t=$(( (e - s) / 1000000 )); [ "$t" -gt "$max" ] && max=$t; sleep 0.05
                done; echo "$max"`,
                (timeout + 120) * 1000,
            );
            await sleep(5_000);
            await hosts.powerOff(n3, { force: true });
            const stallMs = Number((await writer).trim());
            await hosts.powerOn(n3);
            await waitFor("volume healed after node 3 came back", healed, 300_000, 2_000);
            rows.push({ timeout, loadSeconds, disconnects: falseDisconnects, writes, stallMs });
            console.log(
                `ping-timeout ${timeout}s: ${falseDisconnects} disconnects under ${loadSeconds}s of load (${writes} files written), ` +
                    `longest write during a power cut ${stallMs} ms`,
            );
        }
    } finally {
        await hosts.destroyLab();
    }

    console.log(
        "\n| ping-timeout | load | disconnects under load (false) | files written under load | longest write, node 3 power cut |",
    );
    console.log("|---|---|---|---|---|");
    for (const r of rows)
        console.log(
            `| ${r.timeout} s | ${r.loadSeconds} s, 3 nodes x 3 busy loops + small files | ${r.disconnects} | ${r.writes} | ${(r.stallMs / 1000).toFixed(1)} s |`,
        );
    const chosen = rows.find(r => r.timeout === DEFAULT_PING_TIMEOUT);
    const margin = rows.find(r => r.timeout === DEFAULT_PING_TIMEOUT / 2);
    return [
        ...rows.map(r => ({
            name: `ping-timeout ${r.timeout}s`,
            pass: undefined,
            detail: `${r.disconnects} false disconnects, stall ${(r.stallMs / 1000).toFixed(1)} s`,
        })),
        {
            // The default keeps a 2x margin: half of it must also ride out the load without a disconnect.
            name: `default ping-timeout ${DEFAULT_PING_TIMEOUT}s: no false disconnect under load at it or at half of it`,
            pass: chosen && margin ? chosen.disconnects === 0 && margin.disconnects === 0 : false,
            detail:
                chosen && margin
                    ? `${chosen.disconnects} at ${chosen.timeout}s, ${margin.disconnects} at ${margin.timeout}s`
                    : "not measured",
        },
        {
            name: `a power cut stalls node 1's writes at most 2 x ${DEFAULT_PING_TIMEOUT}s + 5 s`,
            pass: chosen ? chosen.stallMs <= (2 * DEFAULT_PING_TIMEOUT + 5) * 1000 : false,
            detail: chosen ? `${(chosen.stallMs / 1000).toFixed(1)} s` : "not measured",
        },
    ];
}
