// High availability on booted hosts: reboots, power cuts, a glusterd restart, a late disk and a zone's worth of
// nodes lost, each judged through the load balancer as a visitor sees it. No host step runs during these tests:
// every node must come back by itself, from its units and its boot path (scripts/gluster/*.sh wrote them).
import * as assert from "assert";
import { LB_HOST, SITE_URL, CLIENT_HOSTS, LAB_SITE, NODE_NAMES, StackSecrets, stackUp } from "../../lab/stack";
import { GLUSTER_HOSTS, LAB_GLUSTER } from "../../lab/glusterLab";
import { healthyBackends } from "../../lab/balancer";
import {
    LabHost,
    control,
    destroyLab,
    exec,
    getHost,
    powerOff,
    powerOn,
    rebootHost,
    setDiskAttached,
} from "../../lab/hosts";
import { readHostRecord } from "../../lab/state";
import { stepRunsOn } from "../../lab/runner";
import { webRootOf } from "../../components/wordpressPlan";
import { bricksServing, splitBrainEntries, waitHealed } from "./helpers/gluster";
import { assertPlanOk, logTails, onHost, requireRoot, tryOnHost, waitFor } from "./helpers/lab";
import { describePoll, startPoller } from "./helpers/availability";

const [N1, N2, N3] = NODE_NAMES;
const IP: Record<string, string> = Object.fromEntries(GLUSTER_HOSTS.map(h => [h.name, h.ip]));
const MNT = LAB_GLUSTER.mountPoint;
const BRICK = LAB_GLUSTER.brickPath;
const WEB_ROOT = webRootOf(MNT);
const C1 = CLIENT_HOSTS[0].name;
const JAIL = "nginx-wp-xmlrpc";

const rec = (name: string): LabHost => {
    const r = readHostRecord(name);
    assert.ok(r, `no lab host ${name}`);
    return r;
};
const up = (name: string): LabHost => {
    const h = getHost(name);
    assert.ok(h, `lab host ${name} is not running`);
    return h;
};

/** HTTP status of a URL fetched from the control namespace (the operator's side: private LAN and public side). */
async function statusOf(url: string): Promise<string> {
    const r = await control(["curl", "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", url], {
        timeoutMs: 20_000,
    });
    return r.stdout.trim() || "000";
}

/** The node serves the site itself: an uncached page (unique query) through its own Varnish, with the site title. */
async function servesSite(name: string): Promise<boolean> {
    const r = await control(["curl", "-s", "-m", "10", `http://${IP[name]}/?ha=${Date.now()}`], { timeoutMs: 20_000 });
    return r.stdout.includes(`<title>${LAB_SITE.title}`);
}

async function volumeMounted(name: string): Promise<boolean> {
    const r = await tryOnHost(name, `findmnt -n -o FSTYPE --mountpoint ${MNT} && test -f ${WEB_ROOT}/wp-config.php`);
    return r.code === 0 && r.stdout.trim() === "fuse.glusterfs";
}

/** Mounted, /healthz 200 on the node itself, and in the load balancer's pool. */
async function ready(name: string): Promise<boolean> {
    if (!getHost(name) || !(await volumeMounted(name))) return false;
    if ((await statusOf(`http://${IP[name]}/healthz`)) !== "200") return false;
    return (await healthyBackends(up(LB_HOST.name))).includes(IP[name]);
}
const waitReady = (names: string[], timeoutMs = 180_000) =>
    waitFor(
        `${names.join(", ")} mounted, healthy and in the load balancer's pool`,
        async () => (await Promise.all(names.map(ready))).every(Boolean),
        timeoutMs,
        1_000,
    );

/** Host steps the lab has sent to each node so far (lab/runner.ts notes every one). */
const stepRuns = () => Object.fromEntries(NODE_NAMES.map(n => [n, stepRunsOn(rec(n))]));

/** How often a node's watchdog had to retry the volume mount in this boot (the race of a simultaneous boot). */
async function mountRetries(name: string): Promise<number> {
    const out = await onHost(
        name,
        "journalctl -b -u ha-wordpress-volume --no-pager -o cat | grep -c 'trying again' || true",
    );
    return Number(out.trim());
}

async function bricksAllServing(): Promise<boolean> {
    const s = await bricksServing(N1);
    return Object.keys(s).length === 3 && Object.values(s).every(Boolean);
}

async function jailwatchBanned(name: string): Promise<string> {
    return onHost(name, `nft list set inet jailwatch ${JAIL}.v4`);
}

/** Logs in to WordPress through the load balancer; returns what media uploads need. */
async function wpLogin(client: string, password: string): Promise<{ jar: string; nonce: string }> {
    const jar = "/tmp/ha-cookies";
    const c = up(client);
    const login = await exec(c, [
        "curl",
        "-s",
        "-m",
        "20",
        "-c",
        jar,
        "-b",
        "wordpress_test_cookie=WP%20Cookie%20check",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--data-urlencode",
        `log=${LAB_SITE.adminUser}`,
        "--data-urlencode",
        `pwd=${password}`,
        "-d",
        "testcookie=1",
        "-d",
        "redirect_to=/wp-admin/",
        `${SITE_URL}/wp-login.php`,
    ]);
    assert.strictEqual(login.stdout.trim(), "302", `login through the load balancer: ${login.stdout} ${login.stderr}`);
    const page = await exec(c, ["curl", "-s", "-m", "20", "-b", jar, `${SITE_URL}/wp-admin/media-new.php`]);
    const nonce = /"_wpnonce":"([0-9a-f]+)"/.exec(page.stdout)?.[1];
    assert.ok(nonce, "upload nonce on media-new.php");
    return { jar, nonce };
}

/** Uploads a fresh small PNG; returns its path below the web root and its sha256, or undefined if it failed. */
async function wpUpload(
    client: string,
    session: { jar: string; nonce: string },
    n: number,
): Promise<{ rel: string; sha: string } | undefined> {
    const c = up(client);
    const file = `/tmp/ha-upload-${n}.png`;
    await exec(c, [
        "php",
        "-r",
        `$i=imagecreatetruecolor(8,8);imagefill($i,0,0,imagecolorallocate($i,${n % 250},30,60));` +
            `imagestring($i,1,0,0,'${n}',0);imagepng($i,'${file}');`,
    ]);
    const r = await exec(
        c,
        [
            "curl",
            "-s",
            "-m",
            "20",
            "-b",
            session.jar,
            "-F",
            `name=ha-upload-${n}.png`,
            "-F",
            "action=upload-attachment",
            "-F",
            `_wpnonce=${session.nonce}`,
            "-F",
            `async-upload=@${file};type=image/png`,
            `${SITE_URL}/wp-admin/async-upload.php`,
        ],
        { timeoutMs: 40_000 },
    );
    try {
        const json = JSON.parse(r.stdout);
        if (json.success !== true) return undefined;
        const sha = (await exec(c, ["sha256sum", file])).stdout.split(" ")[0];
        return { rel: new URL(json.data.url).pathname, sha };
    } catch {
        return undefined;
    }
}

describe("lab: booted hosts come back by themselves (reboots, power cuts, a late disk, a zone loss)", function () {
    this.timeout(600_000);
    let secrets: StackSecrets;

    before(async function () {
        this.timeout(1_200_000);
        requireRoot();
        await destroyLab();
        const s = await stackUp();
        assertPlanOk(s.report, "the stack plan");
        secrets = s.secrets;
        await waitReady(NODE_NAMES);
    });

    let failed = false;
    afterEach(function () {
        if (this.currentTest?.state === "failed") failed = true;
    });
    after(async function () {
        this.timeout(180_000);
        if (failed) console.log(`\nlab logs (last lines, before down):\n${logTails()}\n`);
        await destroyLab();
    });

    it("1. reboot one node: its volume is mounted again, it serves the site, heal info is 0, no host step ran", async () => {
        const steps = stepRuns();
        const poll = startPoller(up(C1), `${SITE_URL}/`, 300);
        await rebootHost(up(N2));
        await waitReady([N2]);
        const report = await poll.stop();
        console.log(describePoll("reboot node-gfs2", report));
        assert.ok(await volumeMounted(N2));
        // Its own resolver, not this machine's (systemd-nspawn copies that one at every boot unless told not to).
        assert.strictEqual(await onHost(N2, "grep '^nameserver' /etc/resolv.conf"), "nameserver 127.0.0.1\n");
        assert.ok(await servesSite(N2), "node 2 serves an uncached page after its reboot");
        await waitHealed(N1, "heal info 0 after the reboot");
        assert.deepStrictEqual(stepRuns(), steps, "a host step ran during the reboot");
        assert.ok(report.sent > 0 && report.failed < report.sent, "the site answered while node 2 rebooted");
    });

    it("2. reboot all three at once, five times in a row: every node mounted and serving every time", async () => {
        const steps = stepRuns();
        const poll = startPoller(up(C1), `${SITE_URL}/`, 540);
        const retries: string[] = [];
        for (let round = 1; round <= 5; round++) {
            await Promise.all(NODE_NAMES.map(n => rebootHost(up(n))));
            await waitReady(NODE_NAMES);
            for (const n of NODE_NAMES) {
                assert.ok(await servesSite(n), `round ${round}: ${n} does not serve the site`);
                const r = await mountRetries(n);
                if (r > 0) retries.push(`round ${round} ${n}: ${r}`);
            }
        }
        const report = await poll.stop();
        console.log(describePoll("5 x reboot all three", report));
        console.log(
            `      mount retries by the watchdog (a boot-time mount that failed): ${retries.join("; ") || "none"}`,
        );
        await waitHealed(N1, "heal info 0 after the reboots");
        assert.deepStrictEqual(stepRuns(), steps, "a host step ran during the reboots");
    });

    it("3. power cut of a node for two minutes while a client uploads through the others: after power-on its brick has every file, no split-brain", async () => {
        const session = await wpLogin(C1, secrets.adminPassword);
        const steps = stepRuns();
        const poll = startPoller(up(C1), `${SITE_URL}/`, 400);
        await powerOff(rec(N3), { force: true });
        const uploads: { rel: string; sha: string }[] = [];
        let failedUploads = 0;
        const until = Date.now() + 120_000;
        for (let n = 1; Date.now() < until && n <= 60; n++) {
            const u = await wpUpload(C1, session, n);
            if (u) uploads.push(u);
            else failedUploads++;
            await new Promise(r => setTimeout(r, 4_000));
        }
        assert.ok(uploads.length >= 10, `only ${uploads.length} uploads succeeded while node 3 was off`);
        await powerOn(rec(N3));
        await waitReady([N3]);
        await waitFor("all three bricks serving", bricksAllServing, 120_000, 1_000);
        await waitHealed(N1, "heal info 0 after node 3 came back");
        const report = await poll.stop();
        console.log(describePoll("node-gfs3 off 2 min", report));
        console.log(
            `      uploads while node 3 was off: ${uploads.length} ok, ${failedUploads} failed (retried by the visitor)`,
        );
        for (const u of uploads) {
            const brickFile = `${BRICK}/wordpress${u.rel}`;
            const got = (await onHost(N3, `sha256sum ${brickFile} | cut -d' ' -f1`)).trim();
            assert.strictEqual(got, u.sha, `${brickFile} on node 3's brick`);
        }
        assert.strictEqual(await splitBrainEntries(N1), 0, "split-brain entries");
        assert.deepStrictEqual(stepRuns(), steps, "a host step ran while node 3 was off or coming back");
    });

    it("4. systemctl restart glusterd: the web root stays mounted (same client), bricks keep running, the site keeps answering", async () => {
        const pids = async () => ({
            fuse: (await onHost(N1, "pgrep -f -- '--process-name fuse' | head -n1")).trim(),
            brick: (await onHost(N1, "pgrep -x glusterfsd | head -n1")).trim(),
            glusterd: (await onHost(N1, "systemctl show -p MainPID --value glusterd")).trim(),
        });
        const before = await pids();
        assert.ok(before.fuse && before.brick, `client and brick running: ${JSON.stringify(before)}`);
        // /healthz through the load balancer: uncached, it runs PHP and reads the web root on the volume.
        const poll = startPoller(up(C1), `${SITE_URL}/healthz`, 120);
        await onHost(N1, "systemctl restart glusterd.service", 120_000);
        await waitFor(
            "glusterd answering again",
            async () => (await tryOnHost(N1, "gluster --mode=script pool list")).code === 0,
            60_000,
            500,
        );
        await new Promise(r => setTimeout(r, 5_000));
        const report = await poll.stop();
        console.log(describePoll("restart glusterd on node-gfs1", report));
        const after = await pids();
        assert.notStrictEqual(after.glusterd, before.glusterd, "glusterd restarted");
        assert.strictEqual(after.fuse, before.fuse, "the FUSE client of the web root was restarted with glusterd");
        assert.strictEqual(after.brick, before.brick, "the brick was killed by the glusterd restart");
        assert.ok(await volumeMounted(N1));
        assert.strictEqual(
            report.failed,
            0,
            `requests failed during the glusterd restart: ${report.failures.join(", ")}`,
        );
    });

    it("5. jailwatch: a ban survives a reboot (in the kernel set before Varnish starts); kill -9 is restarted by its unit", async () => {
        const attacker = "10.77.1.99";
        await onHost(N1, `jailwatch client set ${JAIL} banip ${attacker}`);
        await waitFor(
            "ban in node 1's kernel set",
            async () => (await jailwatchBanned(N1)).includes(attacker),
            10_000,
            200,
        );
        await new Promise(r => setTimeout(r, 1_500)); // the state file is saved at most once a second
        await rebootHost(up(N1));
        assert.match(await jailwatchBanned(N1), new RegExp(attacker.replace(/\./g, "\\.")), "ban lost by the reboot");
        // Ordering in this boot: jailwatch was started (bans restored, socket answering) before Varnish began to start.
        const ts = async (unit: string, prop: string) =>
            Number((await onHost(N1, `systemctl show -p ${prop} --value ${unit}`)).trim());
        const jwActive = await ts("jailwatch.service", "ActiveEnterTimestampMonotonic");
        const varnishStarting = await ts("varnish.service", "InactiveExitTimestampMonotonic");
        assert.ok(jwActive > 0 && varnishStarting > 0, `timestamps: jailwatch ${jwActive}, varnish ${varnishStarting}`);
        assert.ok(
            jwActive <= varnishStarting,
            `varnish started at ${varnishStarting} before jailwatch was up at ${jwActive}`,
        );

        const pid = (await onHost(N1, "systemctl show -p MainPID --value jailwatch")).trim();
        await onHost(N1, `kill -9 ${pid}`);
        await waitFor(
            "jailwatch restarted by its unit",
            async () => {
                const now = (await onHost(N1, "systemctl show -p MainPID --value jailwatch")).trim();
                return (
                    now !== "0" &&
                    now !== pid &&
                    (await tryOnHost(N1, "systemctl is-active --quiet jailwatch")).code === 0
                );
            },
            60_000,
            500,
        );
        assert.match(await onHost(N1, `jailwatch client status ${JAIL}`), new RegExp(attacker.replace(/\./g, "\\.")));
        assert.match(await onHost(N1, "systemctl show -p NRestarts --value jailwatch"), /^[1-9]/m);
        for (const n of NODE_NAMES) await onHost(n, `jailwatch client set ${JAIL} unbanip ${attacker} || true`);
        await waitReady([N1]);
    });

    it("6. the brick disk appears only after boot: the node serves meanwhile, and its brick comes online once the disk is there", async () => {
        const steps = stepRuns();
        await setDiskAttached(rec(N3), false);
        await rebootHost(up(N3));
        assert.strictEqual((await tryOnHost(N3, `test -b ${rec(N3).disk!.loop}`)).code, 1, "the disk is still there");
        assert.notStrictEqual(
            (await tryOnHost(N3, "systemctl is-active --quiet glusterd")).code,
            0,
            "glusterd runs without its brick",
        );
        assert.notStrictEqual((await tryOnHost(N3, `mountpoint -q ${LAB_GLUSTER.brickMount}`)).code, 0);
        assert.strictEqual((await tryOnHost(N3, `test -e ${BRICK}`)).code, 1, "a brick directory on the root disk");
        // Its web root mounts from the other two nodes' bricks.
        await waitReady([N3]);
        await onHost(N1, `echo "written while node 3 had no disk" > ${MNT}/late-disk.txt`);
        await setDiskAttached(rec(N3), true);
        await waitFor(
            "node 3's brick online after its disk appeared",
            async () => (await bricksServing(N1))[`${N3}:${BRICK}`] === true,
            120_000,
            1_000,
        );
        assert.strictEqual((await tryOnHost(N3, "systemctl is-active --quiet glusterd")).code, 0);
        await waitHealed(N1, "heal info 0 after the late disk");
        assert.strictEqual(await onHost(N3, `cat ${BRICK}/late-disk.txt`), "written while node 3 had no disk\n");
        assert.deepStrictEqual(stepRuns(), steps, "a host step ran to bring the brick online");
    });

    it("7. two nodes powered off (a zone of the seed's layout): the documented outage, then full recovery without an operator", async () => {
        const steps = stepRuns();
        const poll = startPoller(up(C1), `${SITE_URL}/`, 420);
        await Promise.all([N2, N3].map(n => powerOff(rec(n), { force: true })));
        // Documented behaviour: node 1 alone has neither client quorum (1 of 3 bricks) nor server quorum (1 of 3
        // glusterds), so its brick stops and the volume does not answer; the site answers 503, never stale or
        // empty pages from node 1's root disk, and nothing is written there.
        await waitFor(
            "the site to answer 503 (volume without quorum)",
            async () => (await statusOf(`http://${IP[N1]}/?zone=${Date.now()}`)) === "503",
            120_000,
            1_000,
        );
        const write = await tryOnHost(N1, `timeout 20 sh -c 'echo x > ${MNT}/during-zone-loss.txt'`, 40_000);
        assert.notStrictEqual(write.code, 0, "a write succeeded on a volume without quorum");
        await new Promise(r => setTimeout(r, 20_000));
        await Promise.all([N2, N3].map(n => powerOn(rec(n))));
        await waitReady(NODE_NAMES, 300_000);
        await waitFor("all three bricks serving", bricksAllServing, 120_000, 1_000);
        await waitHealed(N1, "heal info 0 after the zone came back");
        const report = await poll.stop();
        console.log(describePoll("node-gfs2 and node-gfs3 off", report));
        assert.strictEqual(await splitBrainEntries(N1), 0, "split-brain entries");
        for (const n of NODE_NAMES) assert.ok(await servesSite(n), `${n} serves the site after the zone came back`);
        assert.strictEqual((await tryOnHost(N1, `test -e ${MNT}/during-zone-loss.txt`)).code, 1);
        assert.deepStrictEqual(stepRuns(), steps, "an operator's step was needed after the zone loss");
    });
});
