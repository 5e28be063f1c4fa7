// Day two in the lab: the nodes' health report (scripts/gluster/health.sh, installed by the mount step) tells the
// truth, and every runbook of the README works on real hosts: a node replaced with its brick or without it, a
// rolling reboot gated on the heal count, a split-brain resolved, a restore from a brick snapshot into a fresh
// cluster. Steps and runbook scripts run through lab/runner.ts, the same text the components send.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { HostStep } from "../../components/hostStep";
import { healedStep, stepIds } from "../../components/glusterPlan";
import { GLUSTER_HOSTS, LAB_GLUSTER, provisionGlusterHosts, runGlusterPlan } from "../../lab/glusterLab";
import {
    LAB_DIR,
    LabHost,
    control,
    createHost,
    destroyHost,
    destroyLab,
    getHost,
    powerOff,
    powerOn,
    rebootHost,
} from "../../lab/hosts";
import { signal } from "../../lab/proc";
import { RunReport, runPlan } from "../../lab/runner";
import { readHostRecord } from "../../lab/state";
import {
    brickOnline,
    clientConnections,
    gluster,
    glusterProcesses,
    sha256,
    volumeInfo,
    waitHealed,
    withBrickDiagnostics,
} from "./helpers/gluster";
import { assertPlanOk, killPids, logTails, onHost, requireRoot, tryOnHost, waitFor } from "./helpers/lab";
import { HealthMetrics, detachImage, healthMetrics, healthText, opsStep, plugImage } from "./helpers/ops";

const NAMES = GLUSTER_HOSTS.map(h => h.name);
const [N1, N2, N3] = NAMES;
const VOL = LAB_GLUSTER.volumeName;
const MNT = LAB_GLUSTER.mountPoint;
const BRICK = LAB_GLUSTER.brickPath;
/** The brick snapshot lives outside the lab's directory: the restore test rebuilds the lab from nothing. */
const SNAP_DIR = `${LAB_DIR}-snapshots`;
const SNAPSHOT = path.join(SNAP_DIR, "brick-node-gfs1.img");

const HEALTHY: Omit<HealthMetrics, "BrickDiskUsedPercent"> = {
    PeersConnected: 2,
    BricksOnline: 3,
    HealPending: 0,
    SplitBrainEntries: 0,
    VolumeMounted: 1,
    JailwatchBansLastMinute: 0,
};
const withoutDisk = (m: HealthMetrics) => {
    const { BrickDiskUsedPercent: _, ...rest } = m;
    return rest;
};

describe("lab: day-two operations (gluster-health and the README's runbooks) on node-gfs1..3", function () {
    this.timeout(300_000);
    let hosts: LabHost[];

    const rec = (name: string) => {
        const h = readHostRecord(name);
        assert.ok(h, `no lab host ${name}`);
        return h;
    };
    const run = async (steps: HostStep<string>[], what: string): Promise<RunReport> => {
        const report = await runPlan(steps, hosts);
        assertPlanOk(report, what);
        return report;
    };
    const planFor = (ids: string[]) => runGlusterPlan(hosts, { select: s => ids.includes(s.id) });
    /** The rolling gate as GlusterCluster runs it (scripts/gluster/healed.sh). */
    const gate = (node: string, timeoutSeconds: number) => runPlan([healedStep(node, VOL, timeoutSeconds)], hosts);
    const listing = (name: string, dir: string) =>
        onHost(
            name,
            `cd ${dir} && find . -path ./.glusterfs -prune -o -name '.ha-wordpress*' -prune -o -type f -print | sort`,
        );
    const manifest = (name: string, dir: string) =>
        onHost(
            name,
            `cd ${dir} && find . -path ./.glusterfs -prune -o -name '.ha-wordpress*' -prune -o -type f -print0 | sort -z | xargs -0 sha256sum`,
        );
    const write = (name: string, prefix: string, n: number) =>
        onHost(
            name,
            `mkdir -p ${MNT}/ops && for i in $(seq 1 ${n}); do echo "${prefix} $i" > ${MNT}/ops/${prefix}-$i.txt; done`,
            120_000,
        );
    const allHealthy = async (names = NAMES) => {
        for (const n of names) assert.deepStrictEqual(withoutDisk(await healthMetrics(n)), HEALTHY, `${n}: health`);
    };
    const eventuallyHealthy = (what: string, timeoutMs: number) =>
        waitFor(
            what,
            () =>
                allHealthy().then(
                    () => true,
                    () => false,
                ),
            timeoutMs,
            2_000,
        );

    before(async function () {
        this.timeout(300_000);
        requireRoot();
        await destroyLab();
        detachImage(SNAPSHOT);
        fs.rmSync(SNAP_DIR, { recursive: true, force: true });
        hosts = await provisionGlusterHosts();
        assertPlanOk(await runGlusterPlan(hosts), "gluster plan");
        // The site's files: a front page and uploads, as WordPress keeps them on the volume.
        await onHost(
            N1,
            `mkdir -p ${MNT}/wp-content/uploads/2026/12
            echo '<html><body>ha-wordpress lab site, restored from a brick snapshot</body></html>' > ${MNT}/index.html
            for i in $(seq 1 20); do head -c 65536 /dev/urandom > ${MNT}/wp-content/uploads/2026/12/upload-$i.bin; done`,
        );
    });

    let failed = false;
    afterEach(function () {
        if (this.currentTest?.state === "failed") failed = true;
    });
    after(async function () {
        this.timeout(120_000);
        if (failed) console.log(`\nlab logs (last lines, before down):\n${logTails()}\n`);
        detachImage(SNAPSHOT);
        fs.rmSync(SNAP_DIR, { recursive: true, force: true });
        await destroyLab();
    });

    describe("gluster-health reports the truth", () => {
        it("all healthy: 2 peers, 3 bricks online, no heal backlog or split-brain, mounted; the brick disk as df says", async () => {
            await allHealthy();
            for (const n of NAMES) {
                const m = await healthMetrics(n);
                const df = Number(
                    (await onHost(n, `df --output=pcent ${LAB_GLUSTER.brickMount} | tail -n1 | tr -dc 0-9`)).trim(),
                );
                assert.strictEqual(m.BrickDiskUsedPercent, df, `${n}: brick disk used`);
                const text = await healthText(n);
                assert.match(text, new RegExp(`^gluster health of ${n}, volume ${VOL}: healthy$`, "m"));
                assert.match(text, /peers +2\/2 connected/);
                assert.match(text, /bricks +3\/3 online/);
                assert.match(text, /heal backlog 0 entries/);
                assert.match(text, /split-brain +0 entries/);
                assert.match(text, new RegExp(`mount +${MNT} mounted from node-gfs\\d:/${VOL}, answering`));
            }
        });

        it("a hung FUSE client counts as not mounted, and the report still comes back", async () => {
            const client = glusterProcesses(N2).find(p => p.comm === "glusterfs" && p.cmd.includes(` ${MNT}`));
            assert.ok(client, `no FUSE client of ${MNT} on ${N2}`);
            signal([client.pid], "SIGSTOP");
            try {
                const m = await healthMetrics(N2, 60_000);
                assert.strictEqual(m.VolumeMounted, 0);
                assert.strictEqual(m.BricksOnline, 3, "the bricks still serve");
                assert.match(await healthText(N2), /UNHEALTHY \(mount\)[\s\S]*NOT answering/);
            } finally {
                signal([client.pid], "SIGCONT");
            }
            await waitFor(
                `${N2}'s mount to answer again`,
                async () => (await healthMetrics(N2)).VolumeMounted === 1,
                60_000,
                1_000,
            );
        });

        it("node 3 powered off: 2 bricks, 1 peer, writes show a heal backlog and the gate holds; back on, 0 again", async () => {
            await powerOff(rec(N3), { force: true });
            try {
                await write(N1, "while-off", 30);
                let seen: HealthMetrics | undefined;
                await waitFor(
                    "node 1's report of node 3's loss",
                    async () => {
                        seen = await healthMetrics(N1);
                        return seen.BricksOnline === 2 && seen.PeersConnected === 1 && seen.HealPending > 0;
                    },
                    120_000,
                    2_000,
                ).catch(e => {
                    throw new Error(`${e.message}: last ${JSON.stringify(seen)}`);
                });
                assert.ok(seen!.HealPending >= 30, `heal backlog ${seen!.HealPending} after 30 writes`);
                assert.strictEqual(seen!.VolumeMounted, 1);
                assert.strictEqual(seen!.SplitBrainEntries, 0);
                const m2 = await healthMetrics(N2);
                assert.strictEqual(m2.BricksOnline, 2);
                assert.ok(m2.HealPending > 0);
                assert.match(await healthText(N1), /UNHEALTHY \(peers bricks heal backlog\)[\s\S]*node-gfs3:DOWN/);
                // The rolling gate refuses to let the next node go while the volume is degraded.
                const held = await gate(N1, 5);
                assert.strictEqual(held.ok, false, "the healed gate passed with a node down");
                assert.match(
                    held.steps[0].stderrTail,
                    /timed out after 5s waiting for: every brick of wp online and nothing left to heal/,
                );
            } finally {
                await powerOn(rec(N3));
            }
            await waitFor(
                "node 1's report of a healed volume",
                async () => {
                    const m = await healthMetrics(N1);
                    return m.BricksOnline === 3 && m.HealPending === 0;
                },
                180_000,
                2_000,
            );
            await eventuallyHealthy("every node healthy", 120_000);
            assert.deepStrictEqual(await listing(N3, BRICK), await listing(N1, MNT), "node 3's brick after heal");
        });
    });

    /** Best effort after a failed split-brain test: self-heal and quorum back, node 1's copy kept, heal run. */
    const recoverFromSplitBrain = async () => {
        for (const n of NAMES) await tryOnHost(n, "systemctl start ha-wordpress-brick.service");
        await tryOnHost(N1, `gluster --mode=script volume start ${VOL} force`);
        for (const o of ["self-heal-daemon", "data-self-heal", "metadata-self-heal", "entry-self-heal"])
            await tryOnHost(N1, `gluster --mode=script volume reset ${VOL} cluster.${o}`);
        await tryOnHost(
            N1,
            `gluster --mode=script volume heal ${VOL} split-brain source-brick ${N1}:${BRICK} /ops/split.txt`,
        );
        await planFor([stepIds.volume]).catch(() => undefined);
        await tryOnHost(N1, `gluster --mode=script volume heal ${VOL}`);
        await waitHealed(N1, "heal after a failed split-brain test", 10_000).catch(() => undefined);
    };

    describe("runbooks", function () {
        // Reboots, replacements and heals of a whole node: a slow machine must fail an assertion, not the timeout (a
        // timed-out test keeps running beside the next one and breaks it too).
        this.timeout(900_000);
        it("split-brain (made for real: quorum and self-heal off, the same file written while each side's bricks were down) is counted, resolved with source-brick", async () => {
            await onHost(N1, `mkdir -p ${MNT}/ops && echo base > ${MNT}/ops/split.txt`);
            // Whatever fails below, the later runbooks must not inherit a split-brain or a volume without quorum.
            let resolved = false;
            try {
                // The only way to a data split-brain on replica 3 with quorum on is to turn quorum off: what an operator
                // who "just wants writes to work" while bricks are down does. Self-heal off, so the copies cannot meet
                // in between; the brick keepers stopped, so they do not restart the bricks we stop.
                const keepers = (verb: string) =>
                    Promise.all(NAMES.map(n => onHost(n, `systemctl ${verb} ha-wordpress-brick.service`)));
                for (const o of [
                    "cluster.quorum-type none",
                    "cluster.self-heal-daemon off",
                    "cluster.data-self-heal off",
                    "cluster.metadata-self-heal off",
                    "cluster.entry-self-heal off",
                ])
                    await gluster(N1, `volume set ${VOL} ${o}`);
                await keepers("stop");
                const brickPid = (n: string) =>
                    glusterProcesses(n)
                        .filter(p => p.comm === "glusterfsd")
                        .map(p => p.pid);
                // Each write goes through a client mounted for it alone: the node's own mount carries the earlier
                // tests' history (frozen by the hung-client test, its peers power-cut), and twice on CI it reported
                // an fsynced write done that one connected live brick never held.
                const FRESH = "/mnt/split-write";
                const freshLog = `/var/log/glusterfs/${FRESH.slice(1).replace(/\//g, "-")}.log`;
                const writeOnce = async (writer: string, bricks: number[], text: string) => {
                    await onHost(
                        writer,
                        `mkdir -p ${FRESH} && { mountpoint -q ${FRESH} || mount -t glusterfs ${writer}:/${VOL} ${FRESH}; }`,
                    );
                    try {
                        // The new client connects to the bricks after mount returns: a write before it reaches
                        // them all lands on fewer.
                        await withBrickDiagnostics(NAMES, () =>
                            waitFor(
                                `${writer}'s new client connected to brick(s) ${bricks.map(b => NAMES[b]).join(", ")}`,
                                async () => {
                                    const c = await clientConnections(writer, FRESH);
                                    return bricks.every(b => c[b]);
                                },
                                120_000,
                                1_000,
                            ),
                        );
                        await waitFor(
                            `${writer} to write split.txt`,
                            // fsync: the command returns once the bricks hold the data (close() alone returns
                            // before, write-behind still sending it).
                            async () =>
                                (
                                    await tryOnHost(
                                        writer,
                                        `echo "${text}" | dd of=${FRESH}/ops/split.txt conv=fsync status=none`,
                                    )
                                ).code === 0,
                            120_000,
                            1_000,
                        );
                    } finally {
                        await tryOnHost(writer, `umount ${FRESH} || umount -l ${FRESH}`);
                    }
                };
                const onBricksNow = async (names: string[], text: string) => {
                    for (const n of names)
                        if ((await tryOnHost(n, `cat ${BRICK}/ops/split.txt`)).stdout !== text) return false;
                    return true;
                };
                /** What each brick holds and the writing client's own account (its warnings and errors). */
                const whatLanded = async (writer: string, names: string[]) => {
                    const held = await Promise.all(
                        names.map(
                            async n =>
                                `${n}: ${JSON.stringify((await tryOnHost(n, `cat ${BRICK}/ops/split.txt`)).stdout)}`,
                        ),
                    );
                    const log = await tryOnHost(writer, `grep -E '[]] [EW] [[]' ${freshLog} | tail -n 20`);
                    return `the bricks hold ${held.join(", ")}\n${writer}'s client log (warnings, errors):\n${log.stdout}`;
                };
                const onBricks = (writer: string, names: string[], text: string) =>
                    withBrickDiagnostics(NAMES, async () => {
                        try {
                            await waitFor(
                                `split.txt on the bricks of ${names.join(", ")}`,
                                () => onBricksNow(names, text),
                                60_000,
                                500,
                            );
                        } catch (e) {
                            throw new Error(`${(e as Error).message}; ${await whatLanded(writer, names)}`);
                        }
                    });
                // A write that the writer's client reports done (fsync included) yet that does not reach the live
                // bricks within 20 s is written again, by a new client, up to three times.
                const writeOnto = async (writer: string, bricks: number[], text: string) => {
                    const names = bricks.map(b => NAMES[b]);
                    for (let attempt = 1; attempt <= 3; attempt++) {
                        await writeOnce(writer, bricks, text);
                        const landed = await waitFor(
                            "the write on the bricks",
                            () => onBricksNow(names, `${text}\n`),
                            20_000,
                            500,
                        ).then(
                            () => true,
                            () => false,
                        );
                        if (landed) return;
                        console.log(
                            `      ${writer}'s write of split.txt not on the bricks of ${names.join(", ")} after 20 s (attempt ${attempt})`,
                        );
                    }
                    // A split-brain needs only the writer's brick to disagree with node 1's. In CI's full runs
                    // node 3's brick kept the truncate and not the data of node 2's writes, fresh clients included
                    // (its fd there was bad, EBADFD; not seen in runs of this file alone): shown, for the record.
                    console.log(`      ${(await whatLanded(writer, names)).replace(/\n/g, "\n      ")}`);
                    await onBricks(writer, [writer], `${text}\n`);
                };
                // glusterd's view (heal info, the bricks' own, needs the self-heal daemon on).
                const bricksUp = (want: number) =>
                    waitFor(
                        `${want} bricks online`,
                        async () => Object.values(await brickOnline(N1)).filter(Boolean).length === want,
                        120_000,
                        1_000,
                    );
                try {
                    await killPids(brickPid(N1));
                    await bricksUp(2);
                    await writeOnto(N2, [1, 2], "written while node 1's brick was down");
                    // writeOnto returns once the writer's brick holds it (node 3's too, but for the case it shows):
                    // the next step kills them.
                    await gluster(N1, `volume start ${VOL} force`);
                    await bricksUp(3);
                    await killPids([...brickPid(N2), ...brickPid(N3)]);
                    await writeOnto(N1, [0], "written while the other two bricks were down");
                    await gluster(N1, `volume start ${VOL} force`);
                    await bricksUp(3);
                } finally {
                    await keepers("start");
                    await gluster(N1, `volume start ${VOL} force`).catch(() => "");
                }
                for (const o of [
                    "cluster.self-heal-daemon",
                    "cluster.data-self-heal",
                    "cluster.metadata-self-heal",
                    "cluster.entry-self-heal",
                ])
                    await gluster(N1, `volume reset ${VOL} ${o}`);
                assert.strictEqual(
                    await onHost(N1, `cat ${BRICK}/ops/split.txt`),
                    "written while the other two bricks were down\n",
                );
                assert.strictEqual(
                    await onHost(N2, `cat ${BRICK}/ops/split.txt`),
                    "written while node 1's brick was down\n",
                );
                let seen: HealthMetrics | undefined;
                await waitFor(
                    "the split-brain counted by gluster-health",
                    async () => {
                        seen = await healthMetrics(N3);
                        return seen.SplitBrainEntries >= 1 && seen.BricksOnline === 3;
                    },
                    120_000,
                    2_000,
                ).catch(e => {
                    throw new Error(`${e.message}: last ${JSON.stringify(seen)}`);
                });
                assert.ok(seen!.HealPending >= 1);
                assert.match(await healthText(N3), /UNHEALTHY \([^)]*split-brain/);
                // Through a fresh client: a running one may still answer from its metadata and quick-read caches (the
                // PHP tuning keeps md-cache for 600 s, invalidated by the bricks, whose notices the killed bricks never sent).
                const read = await tryOnHost(
                    N3,
                    `mkdir -p /mnt/split-check && mount -t glusterfs ${N3}:/${VOL} /mnt/split-check && ` +
                        `{ cat /mnt/split-check/ops/split.txt; rc=$?; umount /mnt/split-check; exit $rc; }`,
                );
                assert.notStrictEqual(read.code, 0, "a file in split-brain must not be served");
                assert.match(read.stderr, /Input\/output error/);

                // The runbook: list, resolve (the newer copy wins), restore quorum by re-running the volume step.
                assert.match(await gluster(N1, `volume heal ${VOL} info split-brain`), /split\.txt|gfid:/);
                // The copy to keep: node 1's brick holds the later write (latest-mtime would pick the same one).
                const healed = await tryOnHost(
                    N1,
                    `gluster --mode=script volume heal ${VOL} split-brain source-brick ${N1}:${BRICK} /ops/split.txt`,
                );
                assert.strictEqual(healed.code, 0, `split-brain source-brick: ${healed.stdout}${healed.stderr}`);
                assert.match(healed.stdout, /Healed \/ops\/split\.txt/);
                assertPlanOk(await planFor([stepIds.volume]), "volume step (quorum back)");
                const { fields } = await volumeInfo(N1);
                assert.strictEqual(fields["cluster.quorum-type"], "auto");
                assert.strictEqual(fields["cluster.server-quorum-type"], "server");
                await waitHealed(N1, "heal after the split-brain was resolved", 10_000);
                const LATEST = "written while the other two bricks were down\n";
                for (const n of NAMES) {
                    assert.strictEqual(await onHost(n, `cat ${BRICK}/ops/split.txt`), LATEST, `${n}'s brick`);
                    assert.strictEqual(await onHost(n, `cat ${MNT}/ops/split.txt`), LATEST, `${n}'s mount`);
                }
                await eventuallyHealthy("every node healthy", 60_000);
                resolved = true;
            } finally {
                if (!resolved) await recoverFromSplitBrain();
            }
        });

        it("rolling reboot: each node waits for the healed gate, then reboots while the others take writes", async () => {
            for (const [i, node] of NAMES.entries()) {
                const t0 = Date.now();
                const passed = await gate(node, 300);
                assertPlanOk(passed, `healed gate before rebooting ${node}`);
                console.log(`      gate before ${node}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
                assert.deepStrictEqual(
                    withoutDisk(await healthMetrics(NAMES[(i + 1) % 3])),
                    HEALTHY,
                    `health before rebooting ${node}`,
                );
                const writer = NAMES[(i + 1) % 3];
                await Promise.all([rebootHost(rec(node)), write(writer, `reboot-${node}`, 20)]);
            }
            assertPlanOk(await gate(N1, 300), "healed gate after the last reboot");
            await eventuallyHealthy("every node healthy after the rolling reboot", 120_000);
            const expected = await listing(N1, MNT);
            for (const n of NAMES) assert.strictEqual(await listing(n, BRICK), expected, `${n}'s brick`);
        });

        it("replace a dead node whose brick survived: a new instance, the same disk, the node's own steps, heal", async () => {
            const uuid = (await onHost(N3, "sed -n 's/^UUID=//p' /var/lib/glusterd/glusterd.info")).trim();
            await onHost(N3, "echo old > /root/old-instance");
            await powerOff(rec(N3), { force: true });
            await write(N1, "while-dead", 20);
            // The dead instance is gone; a new one boots from a fresh root volume with the old brick volume attached.
            await destroyHost(rec(N3), { keepDisk: true });
            hosts[2] = await createHost(GLUSTER_HOSTS[2]);
            assert.strictEqual((await tryOnHost(N3, "test -e /root/old-instance")).code, 1, "not a fresh root volume");
            // The runbook: `pulumi up` runs node 3's steps; its identity step takes back its UUID from the brick.
            assertPlanOk(
                await runGlusterPlan(hosts, { select: s => s.host === N3 }),
                "node 3's steps on the new instance",
            );
            assert.strictEqual((await onHost(N3, "sed -n 's/^UUID=//p' /var/lib/glusterd/glusterd.info")).trim(), uuid);
            assertPlanOk(await gate(N3, 300), "healed gate after the replacement");
            await eventuallyHealthy("every node healthy", 120_000);
            assert.deepStrictEqual(await listing(N3, BRICK), await listing(N1, MNT), "the new node's brick");
            assert.strictEqual(
                await sha256(N3, `${BRICK}/ops/while-dead-20.txt`),
                await sha256(N1, `${MNT}/ops/while-dead-20.txt`),
            );
        });

        it("replace a dead node whose brick is lost: a new instance and an empty disk, reset-brick, heal full", async () => {
            const uuid = (await onHost(N3, "sed -n 's/^UUID=//p' /var/lib/glusterd/glusterd.info")).trim();
            await powerOff(rec(N3), { force: true });
            await write(N1, "brick-lost", 20);
            await destroyHost(rec(N3)); // instance and brick volume gone
            hosts[2] = await createHost(GLUSTER_HOSTS[2]);
            // The runbook: the node's steps up to its identity (a new brick: nothing to restore), then the runbook
            // script, then the rest of its steps and the healed gate.
            assertPlanOk(
                await planFor([stepIds.hosts(N3), stepIds.install(N3), stepIds.brick(N3), stepIds.identity(N3)]),
                "node 3's steps up to its identity",
            );
            assert.strictEqual((await onHost(N3, `ls -A ${BRICK} | wc -l`)).trim(), "0", "the new brick is not empty");
            const replace = opsStep("replace-lost-brick", N3, "ops/replace-lost-brick.sh", {
                VOLUME_NAME: VOL,
                BRICK_PATH: BRICK,
                NODE_NAME: N3,
                PEER: N1,
            });
            const first = await run([replace], "replace-lost-brick");
            console.log(
                `      ${first.steps[0].stdout
                    .split("\n")
                    .filter(l => /reset-brick|start .* force/.test(l))
                    .join("\n      ")}`,
            );
            assert.match(first.steps[0].stdout, /taking node-gfs3's identity/);
            assert.match(first.steps[0].stdout, /reset-brick node-gfs3:\/glusterfs\/bricks\/brick1\/gv/);
            assertPlanOk(
                await planFor([stepIds.peerView(N3), stepIds.identitySave(N3), stepIds.mount(N3)]),
                "node 3's remaining steps",
            );
            assert.strictEqual((await onHost(N3, "sed -n 's/^UUID=//p' /var/lib/glusterd/glusterd.info")).trim(), uuid);
            assertPlanOk(await gate(N3, 300), "healed gate after heal full");
            await eventuallyHealthy("every node healthy", 120_000);
            assert.strictEqual(await manifest(N3, BRICK), await manifest(N1, MNT), "the new brick holds every file");
            // Safe to run twice.
            const again = await run([replace], "replace-lost-brick again");
            assert.match(again.steps[0].stdout, /already has node-gfs3's identity/);
            assert.match(again.steps[0].stdout, /already is a brick of wp/);
        });

        it("restore from backup: a brick snapshot (frozen XFS, disk copied) into a fresh cluster, served by node 1", async () => {
            const img = rec(N1).disk!.image;
            fs.mkdirSync(SNAP_DIR, { recursive: true, mode: 0o700 });
            // Crash-consistent like an EBS snapshot: the brick filesystem frozen while its disk is copied.
            await onHost(N1, `fsfreeze -f ${LAB_GLUSTER.brickMount}`);
            try {
                const r = await control(["cp", "--sparse=always", img, SNAPSHOT]);
                assert.strictEqual(r.code, 0, r.stderr);
            } finally {
                await onHost(N1, `fsfreeze -u ${LAB_GLUSTER.brickMount}`);
            }
            const before = await manifest(N1, MNT);
            const oldVolumeId = (await volumeInfo(N1)).fields["Volume ID"];
            await onHost(N1, `echo "after the snapshot" > ${MNT}/after-snapshot.txt`);

            // A fresh cluster: new instances, new empty bricks, the plan from nothing.
            await destroyLab();
            hosts = await provisionGlusterHosts();
            assertPlanOk(await runGlusterPlan(hosts), "gluster plan of the fresh cluster");
            assert.notStrictEqual((await volumeInfo(N1)).fields["Volume ID"], oldVolumeId);
            const loop = await plugImage(N1, SNAPSHOT);
            const restore = opsStep("restore-volume", N1, "ops/restore-volume.sh", {
                SNAPSHOT_DEVICE: loop,
                BRICK_DIR: path.basename(BRICK),
                MOUNT_POINT: MNT,
            });
            const report = await run([restore], "restore-volume");
            assert.match(report.steps[0].stdout, /restored \d+ files .* checksums equal/);
            for (const n of NAMES) {
                assert.strictEqual(await manifest(n, MNT), before, `${n}: the restored volume`);
                assert.strictEqual(await manifest(n, BRICK), before, `${n}: its brick`);
            }
            assert.strictEqual(
                (await tryOnHost(N2, `test -e ${MNT}/after-snapshot.txt`)).code,
                1,
                "a file newer than the snapshot",
            );
            await allHealthy();
            // Served: node 1's web server (Debian's default site serves the web root) answers with the restored page.
            await onHost(N1, "systemctl start nginx");
            const page = await control([
                "curl",
                "-fsS",
                "--max-time",
                "10",
                `http://${GLUSTER_HOSTS[0].ip}/index.html`,
            ]);
            assert.strictEqual(page.code, 0, page.stderr);
            assert.match(page.stdout, /ha-wordpress lab site, restored from a brick snapshot/);
            // Safe to run twice.
            const again = await run([restore], "restore-volume again");
            assert.match(again.steps[0].stdout, /already holds the files of snapshot filesystem/);
            assert.ok(getHost(N1));
        });
    });
});
