// Gluster facts read off lab hosts, for the lab tests.
import { LAB_GLUSTER } from "../../../lab/glusterLab";
import { hostProcesses, killPids, onHost, tryOnHost, waitFor } from "./lab";

const VOL = LAB_GLUSTER.volumeName;

/** `gluster --mode=script ARGS` on a host; stdout. */
export function gluster(name: string, args: string): Promise<string> {
    return onHost(name, `gluster --mode=script ${args}`, 60_000);
}

/** Peers a host sees as "Peer in Cluster (Connected)", by name. */
export async function connectedPeers(name: string): Promise<string[]> {
    const out = await gluster(name, "peer status");
    const peers: string[] = [];
    let current = "";
    for (const line of out.split("\n")) {
        const m = /^Hostname:\s*(\S+)/.exec(line);
        if (m) current = m[1];
        if (/^State:\s*Peer in Cluster \(Connected\)/.test(line)) peers.push(current);
    }
    return peers.sort();
}

/** `gluster volume info` as key/value pairs (first occurrence wins), plus the brick list. */
export async function volumeInfo(name: string): Promise<{ fields: Record<string, string>; bricks: string[] }> {
    const out = await gluster(name, `volume info ${VOL}`);
    const fields: Record<string, string> = {};
    const bricks: string[] = [];
    for (const line of out.split("\n")) {
        const m = /^([^:]+):\s*(.*)$/.exec(line.trim());
        if (!m) continue;
        if (/^Brick\d+$/.test(m[1])) bricks.push(m[2]);
        else if (!(m[1] in fields)) fields[m[1]] = m[2];
    }
    return { fields, bricks };
}

/** Brick status from `volume status --xml`: `host:path` -> online. */
export async function brickOnline(name: string): Promise<Record<string, boolean>> {
    const xml = await gluster(name, `volume status ${VOL} --xml`);
    const out: Record<string, boolean> = {};
    for (const node of xml.split("<node>").slice(1)) {
        const host = /<hostname>([^<]*)<\/hostname>/.exec(node)?.[1] ?? "";
        const path = /<path>([^<]*)<\/path>/.exec(node)?.[1] ?? "";
        if (!path.startsWith("/")) continue; // self-heal daemons
        out[`${host}:${path}`] = /<status>1<\/status>/.test(node);
    }
    return out;
}

/**
 * Whether each brick serves, as the self-heal machinery reaches it (`heal info`: "Status: Connected").
 * `volume status` can report a restarted brick offline while it serves (glusterd started it twice on regaining
 * server quorum; upstream issue 4641), so tests that follow a restart ask the bricks themselves.
 */
export async function bricksServing(name: string): Promise<Record<string, boolean>> {
    const r = await tryOnHost(name, `gluster --mode=script volume heal ${VOL} info`, 60_000);
    const out: Record<string, boolean> = {};
    // A brick's block lists the entries it has to heal between its "Brick" and "Status" lines.
    for (const block of r.stdout.split(/^Brick /m).slice(1)) {
        const name = block.slice(0, block.indexOf("\n")).trim();
        const status = /^Status: (.*)$/m.exec(block);
        if (name && status) out[name] = status[1].trim() === "Connected";
    }
    return out;
}

/** Entries waiting for heal, summed over bricks; undefined if some brick cannot be asked. */
export async function healPending(name: string): Promise<number | undefined> {
    const r = await tryOnHost(name, `gluster --mode=script volume heal ${VOL} info`, 60_000);
    if (r.code !== 0) return undefined;
    const counts = [...r.stdout.matchAll(/^Number of entries:\s*(\S+)/gm)].map(m => Number(m[1]));
    if (counts.length !== 3 || counts.some(n => !Number.isInteger(n))) return undefined;
    return counts.reduce((a, b) => a + b, 0);
}

/** Processes of GlusterFS on a host: glusterd, the brick (glusterfsd), self-heal and FUSE clients (glusterfs). */
export function glusterProcesses(name: string): { pid: number; comm: string; cmd: string }[] {
    return hostProcesses(name).filter(p => /^gluster(d|fsd|fs)$/.test(p.comm));
}

/** Kills a host's GlusterFS processes by pid, as a crash would (SIGKILL); returns what was killed. */
export async function crashGluster(
    name: string,
    which: (p: { comm: string; cmd: string }) => boolean = () => true,
): Promise<{ pid: number; comm: string }[]> {
    const victims = glusterProcesses(name).filter(which);
    await killPids(victims.map(p => p.pid));
    return victims;
}

/**
 * The host's view after a crash and reboot: a rebooted machine has no FUSE mount of a dead client, so the stale
 * mount is dropped (lazily: its daemon is gone). The brick filesystem stays mounted, as fstab would mount it.
 */
export async function dropDeadFuseMount(name: string): Promise<void> {
    await tryOnHost(name, `umount -l ${LAB_GLUSTER.mountPoint} 2>/dev/null || true`);
}

/** sha256 of a file, as seen on a host. */
export async function sha256(name: string, file: string): Promise<string> {
    return (await onHost(name, `sha256sum ${file} | cut -d' ' -f1`)).trim();
}

/** Entries in split-brain, summed over bricks (`heal info split-brain`); undefined if some brick cannot be asked. */
export async function splitBrainEntries(name: string): Promise<number | undefined> {
    const r = await tryOnHost(name, `gluster --mode=script volume heal ${VOL} info split-brain`, 60_000);
    if (r.code !== 0) return undefined;
    const counts = [...r.stdout.matchAll(/^Number of entries in split-brain:\s*(\S+)/gm)].map(m => Number(m[1]));
    if (counts.length !== 3 || counts.some(n => !Number.isInteger(n))) return undefined;
    return counts.reduce((a, b) => a + b, 0);
}

/**
 * Waits for heal info to show 0 entries. A brick that comes back (new process) makes every self-heal daemon
 * start an index heal at once; a connection that merely stalled does not, and the daemon's next periodic crawl
 * (cluster.heal-timeout, 600 s) is too far away for a test. After `triggerAfterMs` the test does what the
 * runbook says, `gluster volume heal wp`, and keeps waiting.
 */
export async function waitHealed(name: string, what: string, triggerAfterMs = 30_000): Promise<void> {
    const start = Date.now();
    let lastTrigger = 0;
    await waitFor(
        what,
        async () => {
            if ((await healPending(name)) === 0) return true;
            if (Date.now() - start >= triggerAfterMs && Date.now() - lastTrigger >= 10_000) {
                lastTrigger = Date.now();
                // Refused ("Commit failed on node-gfs3") while that node's brick or daemon is still starting: retried.
                await tryOnHost(name, `gluster --mode=script volume heal ${VOL}`);
            }
            return false;
        },
        triggerAfterMs + 120_000,
        2_000,
    );
}

/**
 * What a failed wait on the bricks leaves for the reader of a CI log: glusterd's view, the brick processes and their
 * listening ports, the heal client's view and the brick logs' last lines, per host.
 */
export async function brickDiagnostics(names: string[]): Promise<string> {
    const parts = await Promise.all(
        names.map(async n => {
            const r = await tryOnHost(
                n,
                `gluster --mode=script volume status ${VOL} 2>&1 | grep -E '^(Brick|Self-heal)' ; ` +
                    `echo '# processes'; pgrep -a glusterfsd | sed 's/ --process-name.*--brick-port/ ... --brick-port/' ; ` +
                    `echo '# listening'; ss -ltnpH 2>/dev/null | grep glusterfsd ; ` +
                    `echo '# heal info'; timeout 30 gluster --mode=script volume heal ${VOL} info 2>&1 | grep -E '^(Brick|Status)' ; ` +
                    `echo '# brick log'; tail -n 8 /var/log/glusterfs/bricks/*.log 2>&1 | cut -c1-220`,
                90_000,
            );
            return `--- ${n}\n${r.stdout}${r.stderr}`;
        }),
    );
    return parts.join("\n");
}

/** Runs a wait; when it times out, its error carries brickDiagnostics of the hosts. */
export async function withBrickDiagnostics<T>(names: string[], wait: () => Promise<T>): Promise<T> {
    try {
        return await wait();
    } catch (e) {
        const diag = await brickDiagnostics(names).catch(d => `(no diagnostics: ${d})`);
        throw new Error(`${(e as Error).message}\n${diag}`);
    }
}

/**
 * Which bricks a host's FUSE client is connected to, in brick order (the mount's `.meta` view of its protocol/client
 * translators): what that node's writes reach, which glusterd's `volume status` does not show.
 */
export async function clientConnections(name: string, mountPoint = LAB_GLUSTER.mountPoint): Promise<boolean[]> {
    const out = await onHost(
        name,
        `for c in 0 1 2; do grep -m1 '^connected' ${mountPoint}/.meta/graphs/active/${VOL}-client-$c/private || echo 'connected = ?'; done`,
    );
    return out
        .trim()
        .split("\n")
        .map(l => /=\s*1\s*$/.test(l));
}
