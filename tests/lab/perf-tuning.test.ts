// The performance tuning the host steps install is in effect on the booted stack: Gluster's volume options, PHP's
// opcache/realpath settings as PHP-FPM serves them, one FPM pool sized from the node's memory, Varnish's grace, and a
// re-run changes nothing.
import * as assert from "assert";
import { control, destroyLab } from "../../lab/hosts";
import { NODE_NAMES, labStackPlan, publishBinary, stackSecrets, stackUp } from "../../lab/stack";
import { GLUSTER_HOSTS, LAB_GLUSTER } from "../../lab/glusterLab";
import { runPlan } from "../../lab/runner";
import { PHP_VOLUME_TUNING } from "../../components/glusterPlan";
import { DEFAULT_FPM_SIZING, webRootOf } from "../../components/wordpressPlan";
import { assertPlanOk, footprint, host, leftovers, onHost, requireRoot, tryOnHost, waitFor } from "./helpers/lab";

const [N1] = NODE_NAMES;
const WEB_ROOT = webRootOf(LAB_GLUSTER.mountPoint);
const POOL = "/etc/php/8.2/fpm/pool.d/ha-wordpress.conf";

/** pm.* of the pool file as written on a node. */
async function poolSize(node: string): Promise<Record<string, number>> {
    const out = await onHost(
        node,
        `grep -E '^pm\\.(max_children|start_servers|min_spare_servers|max_spare_servers) ' ${POOL}`,
    );
    return Object.fromEntries(
        out
            .trim()
            .split("\n")
            .map(l => {
                const [k, v] = l.split(/\s*=\s*/);
                return [k, Number(v)];
            }),
    );
}

/** Master pids of php-fpm and varnishd on a node (a restart changes them; a reload of FPM by USR2 does too). */
async function daemonPids(node: string): Promise<string> {
    return (
        await onHost(
            node,
            "echo $(systemctl show -p MainPID --value php8.2-fpm) $(systemctl show -p MainPID --value varnish)",
        )
    ).trim();
}

describe("lab: performance tuning of the host steps (Gluster caches, opcache, one FPM pool, Varnish grace)", function () {
    this.timeout(300_000);

    before(async function () {
        this.timeout(900_000);
        requireRoot();
        await destroyLab();
        assertPlanOk((await stackUp()).report, "the stack plan");
    });

    after(async function () {
        this.timeout(120_000);
        const fp = footprint();
        await destroyLab();
        assert.deepStrictEqual(await leftovers(fp), []);
    });

    it("the volume carries every tuning option, as `gluster volume get` reports it", async () => {
        const out = await onHost(N1, `gluster volume get ${LAB_GLUSTER.volumeName} all`);
        const got = new Map(
            out
                .split("\n")
                .map(l => l.trim().split(/\s+/))
                .filter(w => w.length >= 2)
                .map(w => [w[0], w[1]]),
        );
        for (const [opt, value] of PHP_VOLUME_TUNING)
            assert.strictEqual(got.get(opt), value, `${opt}: ${got.get(opt)}`);
    });

    it("PHP-FPM serves with the opcache and realpath settings, on every node (asked through Nginx -> FPM)", async () => {
        const probe = `perf-ini-${Date.now()}.php`;
        await onHost(
            N1,
            `cat >${WEB_ROOT}/${probe} <<'PHP'
<?php
header('Content-Type: text/plain');
$s = function_exists('opcache_get_status') ? opcache_get_status(false) : false;
echo json_encode(['sapi' => PHP_SAPI, 'opcache' => $s !== false && $s['opcache_enabled'],
  'validate' => ini_get('opcache.validate_timestamps'), 'freq' => ini_get('opcache.revalidate_freq'),
  'mem' => ini_get('opcache.memory_consumption'), 'files' => ini_get('opcache.max_accelerated_files'),
  'rp_ttl' => ini_get('realpath_cache_ttl'), 'rp_size' => ini_get('realpath_cache_size')]);
PHP`,
        );
        try {
            for (const n of NODE_NAMES) {
                const body = await onHost(n, `curl -s -m 20 http://127.0.0.1:8080/${probe}`);
                const ini = JSON.parse(body);
                assert.deepStrictEqual(
                    ini,
                    {
                        sapi: "fpm-fcgi",
                        opcache: true,
                        validate: "1",
                        freq: "10",
                        mem: "128",
                        files: "20000",
                        rp_ttl: "600",
                        rp_size: "4096K",
                    },
                    `${n}: ${body}`,
                );
            }
        } finally {
            await onHost(N1, `rm -f ${WEB_ROOT}/${probe}`);
        }
    });

    it("only our pool runs (Debian's www disabled), sized from the node's memory by the documented formula", async () => {
        for (const n of NODE_NAMES) {
            assert.strictEqual(
                (await onHost(n, "ls /etc/php/8.2/fpm/pool.d/"))
                    .trim()
                    .split(/\s+/)
                    .filter(f => f.endsWith(".conf"))
                    .join(" "),
                "ha-wordpress.conf",
            );
            const pools = (await onHost(n, "ps -eo args | grep -oE '^php-fpm: pool [^ ]+' | sort -u")).trim();
            assert.strictEqual(pools, "php-fpm: pool ha-wordpress", `${n}: ${pools}`);
            const facts = (
                await onHost(
                    n,
                    "awk '$1 == \"MemTotal:\" { print $2 }' /proc/meminfo; cat /sys/fs/cgroup/memory.max 2>/dev/null || echo max; nproc",
                )
            )
                .trim()
                .split("\n");
            let memMib = Math.floor(Number(facts[0]) / 1024);
            if (/^\d+$/.test(facts[1]) && Number(facts[1]) / 1024 / 1024 < memMib)
                memMib = Math.floor(Number(facts[1]) / 1024 / 1024);
            const cpus = Number(facts[2]);
            const want = Math.min(
                64,
                Math.max(
                    4,
                    Math.min(
                        8 * cpus,
                        Math.floor((memMib - DEFAULT_FPM_SIZING.reserveMib) / DEFAULT_FPM_SIZING.childMib),
                    ),
                ),
            );
            const size = await poolSize(n);
            assert.strictEqual(size["pm.max_children"], want, `${n}: memory ${memMib} MiB, ${cpus} CPUs`);
            assert.ok(
                size["pm.min_spare_servers"] <= size["pm.start_servers"] &&
                    size["pm.start_servers"] <= size["pm.max_spare_servers"] &&
                    size["pm.max_spare_servers"] <= size["pm.max_children"],
                JSON.stringify(size),
            );
        }
    });

    it("re-running the Gluster and web steps changes nothing: no volume option set, no FPM or Varnish restart", async () => {
        const before = await Promise.all(NODE_NAMES.map(daemonPids));
        const secrets = stackSecrets();
        const report = await runPlan(
            labStackPlan(secrets, await publishBinary()),
            Object.fromEntries(
                [...GLUSTER_HOSTS.map(h => h.name), "db", "lb", "client1", "client2"].map(n => [n, host(n)]),
            ),
            { stepTimeoutMs: 600_000 },
        );
        assertPlanOk(report, "second run");
        assert.deepStrictEqual(await Promise.all(NODE_NAMES.map(daemonPids)), before);
        // Every option reported as already set by the volume step, none set again.
        const volume = report.steps.find(s => s.id === "volume")!.stdout;
        for (const [opt, value] of PHP_VOLUME_TUNING) {
            assert.ok(
                volume.includes(`${opt} already ${value}`),
                `${opt} not reported as already ${value}:\n${volume.slice(-600)}`,
            );
            assert.ok(!volume.includes(`gluster volume set ${LAB_GLUSTER.volumeName} ${opt} `), `${opt} set again`);
        }
        const fpm = report.steps
            .filter(s => s.id.startsWith("php-fpm-"))
            .map(s => s.stdout)
            .join("\n");
        assert.ok(!/pool file written|PHP settings written|www disabled/.test(fpm), fpm.slice(-600));
    });

    it("Varnish serves a page it holds past its TTL while the backend is down (grace), and fresh ones again after", async () => {
        const ip = GLUSTER_HOSTS[0].ip;
        const url = `http://${ip}/?grace=${Date.now()}`;
        const get = async () =>
            (await control(["curl", "-s", "-m", "10", "-D", "-", "-o", "/dev/null", url], { timeoutMs: 30_000 }))
                .stdout;
        await onHost(N1, "varnishadm param.set default_ttl 3 >/dev/null");
        try {
            assert.match(await get(), /^HTTP\/1\.1 200/m);
            await onHost(N1, "systemctl stop php8.2-fpm");
            // The probe says sick after 3 of 5 failed probes 2 s apart; the object's 3 s TTL has long run out by then.
            await waitFor(
                "varnish's backend to be sick",
                async () => /sick/i.test(await onHost(N1, "varnishadm backend.list")),
                60_000,
                500,
            );
            const stale = await get();
            assert.match(stale, /^HTTP\/1\.1 200/m, stale);
            assert.match(stale, /^X-Cache: hit/im, stale);
            const age = Number(/^Age: (\d+)/im.exec(stale)?.[1] ?? 0);
            assert.ok(age > 3, `served past its TTL (Age ${age})`);
        } finally {
            await tryOnHost(N1, "systemctl start php8.2-fpm; varnishadm param.set default_ttl 120 >/dev/null");
        }
        await waitFor(
            "varnish's backend to be healthy again",
            async () => /healthy/i.test(await onHost(N1, "varnishadm backend.list")),
            60_000,
            500,
        );
    });
});
