// The performance tuning the host steps install is in effect on the booted stack: Gluster's volume options, PHP's
// opcache/realpath settings as PHP-FPM serves them, the site's FPM pool sized from the node's memory and xmlrpc.php's
// own small one, Varnish's grace, and a re-run changes nothing.
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

/** pm.* of the site's pool (the file's [ha-wordpress] section) as written on a node. */
async function poolSize(node: string): Promise<Record<string, number>> {
    const out = await onHost(
        node,
        `awk '/^\\[/ { s = $0 } s == "[ha-wordpress]" && /^pm\\.(max_children|start_servers|min_spare_servers|max_spare_servers) /' ${POOL}`,
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
  'rp_ttl' => ini_get('realpath_cache_ttl'), 'rp_size' => ini_get('realpath_cache_size'),
  'override' => ini_get('opcache.enable_file_override')]);
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
                        override: "1",
                    },
                    `${n}: ${body}`,
                );
            }
        } finally {
            await onHost(N1, `rm -f ${WEB_ROOT}/${probe}`);
        }
    });

    it("only our pools run (Debian's www disabled), the site's, sized from the node's memory by the documented formula", async () => {
        for (const n of NODE_NAMES) {
            assert.strictEqual(
                (await onHost(n, "ls /etc/php/8.2/fpm/pool.d/"))
                    .trim()
                    .split(/\s+/)
                    .filter(f => f.endsWith(".conf"))
                    .join(" "),
                "ha-wordpress.conf",
            );
            // Ours and xmlrpc.php's (two workers), never Debian's www.
            const pools = (await onHost(n, "ps -eo args | grep -oE '^php-fpm: pool [^ ]+' | sort | uniq -c")).trim();
            assert.match(
                pools,
                /^\d+ php-fpm: pool ha-wordpress\n\s*2 php-fpm: pool ha-wordpress-xmlrpc$/,
                `${n}: ${pools}`,
            );
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

    it("xmlrpc.php has a pool of its own: with it saturated, xmlrpc.php is answered 504 within seconds and logged, pages still served", async () => {
        // Both of its workers held and its queue filled by connections that never send a request (what a flood of
        // slow PHP does to it), then one request of each kind through Nginx on the node.
        const out = await onHost(
            N1,
            `pids=""
for i in $(seq 1 10); do (exec 3<>/dev/tcp/127.0.0.1/9001 && exec sleep 60) 2>/dev/null & pids="$pids $!"; done
sleep 3
busy=$(ps -eo args | grep -c '^php-fpm: pool ha-wordpress-xmlrpc')
x=$(curl -s -o /dev/null -m 20 -w '%{http_code} %{time_total}' -X POST -H 'Content-Type: text/xml' --data '<methodCall><methodName>demo.sayHello</methodName></methodCall>' http://127.0.0.1:8080/xmlrpc.php)
p=$(curl -s -o /dev/null -m 20 -w '%{http_code}' 'http://127.0.0.1:8080/?s=pool-check')
for p2 in $pids; do kill "$p2" 2>/dev/null; done
echo "$busy|$x|$p|$(tail -n 3 /var/log/nginx/access.log | grep -c 'POST /xmlrpc.php HTTP/1.1" 504')"`,
            60_000,
        );
        const [busy, xmlrpc, page, logged] = out.trim().split("|");
        const [code, seconds] = xmlrpc.split(" ");
        assert.strictEqual(busy, "2", `xmlrpc workers running: ${out}`);
        assert.strictEqual(code, "504", `xmlrpc.php with its pool full: ${out}`);
        assert.ok(Number(seconds) < 10, `answered after ${seconds} s, not at the connect timeout: ${out}`);
        assert.strictEqual(page, "200", `a page while xmlrpc's pool is full: ${out}`);
        assert.strictEqual(logged, "1", `the 504 in the access log the jail reads: ${out}`);
        // Free again: a real XML-RPC call is answered by WordPress.
        await waitFor(
            "xmlrpc.php answered by WordPress again",
            async () =>
                (
                    await tryOnHost(
                        N1,
                        `curl -s -m 10 -X POST -H 'Content-Type: text/xml' --data '<methodCall><methodName>demo.sayHello</methodName></methodCall>' http://127.0.0.1:8080/xmlrpc.php`,
                    )
                ).stdout.includes("Hello!"),
            60_000,
            1_000,
        );
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
