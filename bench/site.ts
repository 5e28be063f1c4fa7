// `npm run bench -- --only=site [--no-up] [--rounds=N]`: how fast WordPress is from the replicated volume, in the lab,
// through the load balancer, against the same WordPress on local disk in the same run.
//
// - uncached page: a visitor (client1) asks the load balancer for the front page with a unique query string, so
//   Varnish misses and PHP renders it from the files. "volume" is the site as deployed (files on the Gluster mount);
//   "local" is the same files copied to each node's local disk (/srv/bench-wp-local) and served by a second Nginx
//   server block, picked by the Host header (Host: bench-local), with the same PHP-FPM pool, opcache and database.
//   Requests alternate between the two, so load from other work on the machine hits both alike.
// - cached throughput: the front page through Varnish, N requests with C in flight on keep-alive connections.
// - upload: an image written through WordPress (wp_upload_bits + an attachment with its thumbnails, as the media
//   uploader does) on node 1; pollers on every node ask their own Nginx (bypassing Varnish, which would store a 404)
//   every 10 ms until it serves the file. Reported: the time until the last node serves it.
// - wp-admin: the dashboard for a logged-in admin (log in once through the load balancer), volume and local.
// - syscalls: where the volume's extra time goes: node 1's PHP-FPM workers traced with perf while they render pages
//   from the volume and then from local disk, per system call (bench/siteSyscalls.ts).
// - settings: each tuning setting taken back to its default in turn (bench/siteSettings.ts), the uncached page measured against the tuned lab right before it, and
//   put back; the table shows which setting moves volume/local most.
// Targets: uncached page on the volume <= 1.2x local (median), the upload served by every node <= 1 s.
import * as fs from "fs";
import * as path from "path";
import type { BenchContext, Check } from "./run";
import { LabHost, exec, sh } from "../lab/hosts";
import { CLIENT_HOSTS, LAB_SITE, NODE_NAMES, stackSecrets } from "../lab/stack";
import { LB_PUBLIC_IP } from "../lab/balancer";
import { LAB_GLUSTER } from "../lab/glusterLab";
import { webRootOf } from "../components/wordpressPlan";
import { readScript } from "../components/hostStep";
import { Sample } from "./labLoadGen";
import { ALL_REVERTED, REVERTED, Reverted, deployedValue, glusterCommands } from "./siteSettings";
import { fmtMs, labStack, load, machineNote, percentile, table } from "./labBench";
import { syscallsPart } from "./siteSyscalls";

const LOCAL_ROOT = "/srv/bench-wp-local";
const LOCAL_HOST = "bench-local";
// Named to sort after ha-wordpress: it uses the log format that file defines.
const SITE_FILE = "/etc/nginx/sites-enabled/zz-ha-bench-local";
const TARGET_RATIO = 1.2;
const TARGET_UPLOAD_MS = 1000;
const PARTS = "page,syscalls,settings,admin,cached,upload";

function arg(ctx: BenchContext, name: string, dflt: number): number {
    const a = ctx.args.find(x => x.startsWith(`--${name}=`));
    const v = a ? Number(a.slice(name.length + 3)) : dflt;
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a whole number >= 1`);
    return v;
}

/** The second server block: our own site file's server block, rooted on local disk and named bench-local. */
function localSite(): string {
    const conf = readScript("web/nginx-site.conf");
    const server = conf.slice(conf.indexOf("\nserver {") + 1);
    return (
        "# bench/site.ts: the same WordPress from local disk, for the volume/local comparison (removed afterwards).\n" +
        server
            .replace("@@WEB_ROOT@@", LOCAL_ROOT)
            .replace(" default_server;", ";")
            .replace("server_name _;", `server_name ${LOCAL_HOST};`)
    );
}

async function setUpLocalCopies(nodes: LabHost[]): Promise<void> {
    const webRoot = webRootOf(LAB_GLUSTER.mountPoint);
    const site = Buffer.from(localSite()).toString("base64");
    await Promise.all(
        nodes.map(n =>
            sh(
                n,
                `set -e
rm -rf ${LOCAL_ROOT}; mkdir -p ${LOCAL_ROOT}
cp -a ${webRoot}/. ${LOCAL_ROOT}/
echo ${site} | base64 -d >${SITE_FILE}
nginx -t -q && systemctl reload nginx`,
                { timeoutMs: 300_000 },
            ),
        ),
    );
}

async function tearDownLocalCopies(nodes: LabHost[]): Promise<void> {
    await Promise.all(
        nodes.map(n =>
            exec(n, ["bash", "-c", `rm -f ${SITE_FILE}; nginx -t -q && systemctl reload nginx; rm -rf ${LOCAL_ROOT}`], {
                timeoutMs: 120_000,
            }),
        ),
    );
}

const okMs = (s: Sample[], tag: string) => s.filter(x => x.tag === tag && x.status === 200).map(x => x.ms);

/**
 * Logs in through the load balancer; returns the Cookie header of the admin session. The site's URL follows the Host
 * header (wp-config.php), and WordPress names its cookies after that URL: the local-disk copy (Host: bench-local)
 * needs a login of its own, or its dashboard only redirects to the login page.
 */
async function adminCookie(client: LabHost, password: string, host?: string): Promise<string> {
    const body = new URLSearchParams({
        log: LAB_SITE.adminUser,
        pwd: password,
        "wp-submit": "Log In",
        testcookie: "1",
    }).toString();
    const r = await exec(
        client,
        [
            "curl",
            "-s",
            "-m",
            "30",
            "-o",
            "/dev/null",
            "-D",
            "-",
            ...(host ? ["-H", `Host: ${host}`] : []),
            "-H",
            "Cookie: wordpress_test_cookie=WP%20Cookie%20check",
            "--data",
            body,
            `http://${LB_PUBLIC_IP}/wp-login.php`,
        ],
        { timeoutMs: 60_000 },
    );
    const cookies = [...r.stdout.matchAll(/^set-cookie:\s*([^;]+)/gim)]
        .map(m => m[1])
        .filter(c => c.startsWith("wordpress_"));
    if (!cookies.some(c => c.startsWith("wordpress_logged_in_")))
        throw new Error(`admin login through the load balancer failed: ${r.stdout.slice(0, 300)}`);
    return cookies.join("; ");
}

const UPLOAD_PHP = `<?php
// bench/site.ts: an image uploaded as WordPress's media uploader stores it (file, attachment, thumbnails).
$_SERVER['HTTP_HOST'] = '${LB_PUBLIC_IP}';
require '${webRootOf(LAB_GLUSTER.mountPoint)}/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/image.php';
$im = imagecreatetruecolor(1200, 800);
imagefilledrectangle($im, 0, 0, 1199, 799, imagecolorallocate($im, random_int(0, 255), 120, 200));
ob_start(); imagejpeg($im, null, 85); $jpg = ob_get_clean();
$name = $argv[1];
$up = wp_upload_bits($name, null, $jpg);
if ($up['error']) { fwrite(STDERR, $up['error']); exit(1); }
$written = (int) round(microtime(true) * 1000);
$id = wp_insert_attachment(['post_mime_type' => 'image/jpeg', 'post_title' => $name, 'post_status' => 'inherit'], $up['file']);
wp_update_attachment_metadata($id, wp_generate_attachment_metadata($id, $up['file']));
echo json_encode(['written' => $written, 'url' => $up['url'], 'done' => (int) round(microtime(true) * 1000)]), "\\n";
`;

interface Upload {
    writtenToLast: number;
    writtenToEach: number[];
    done: number;
}

async function uploadOnce(nodes: LabHost[], i: number, tmp: string): Promise<Upload> {
    const name = `bench-${Date.now()}-${i}.jpg`;
    const month = new Date().toISOString().slice(0, 7).replace("-", "/");
    const urlPath = `/wp-content/uploads/${month}/${name}`;
    // Pollers first (each node's own Nginx, on its loopback), then the upload on node 1.
    const ready = nodes.map(n => path.join(tmp, `ready-${n.name}-${i}`));
    const polls = nodes.map((n, k) =>
        load<{ at?: number }>(n, {
            kind: "poll",
            host: "127.0.0.1",
            port: 8080,
            req: { path: urlPath, headers: { Host: LB_PUBLIC_IP } },
            everyMs: 10,
            deadlineMs: 360_000,
            readyFile: ready[k],
        }),
    );
    const t0 = Date.now();
    while (!ready.every(f => fs.existsSync(f))) {
        if (Date.now() - t0 > 50_000) throw new Error("the upload pollers did not start within 50 s");
        await new Promise(r => setTimeout(r, 50));
    }
    const r = await exec(
        nodes[0],
        ["runuser", "-u", "www-data", "--", "php", "-d", "display_errors=stderr", "--", name],
        { input: UPLOAD_PHP, timeoutMs: 300_000 },
    );
    if (r.code !== 0)
        throw new Error(
            `upload on ${nodes[0].name} failed (${r.timedOut ? "timed out" : `exit ${r.code}`}): ${r.stderr.slice(-400)}`,
        );
    const up = JSON.parse(r.stdout.trim().split("\n").pop()!) as { written: number; url: string; done: number };
    if (!up.url.endsWith(urlPath)) throw new Error(`upload stored at ${up.url}, pollers watch ${urlPath}`);
    const seen = await Promise.all(polls);
    const each = seen.map(s => (s.at === undefined ? Infinity : Math.max(0, s.at - up.written)));
    return { writtenToLast: Math.max(...each), writtenToEach: each, done: up.done - up.written };
}

/** Uncached front pages, alternating volume and local disk (after a warm-up of both), through the balancer. */
async function uncachedPages(
    client: LabHost,
    rounds: number,
): Promise<{ vol: number[]; loc: number[]; failed: number }> {
    const volumeReq = { path: "/?bench=@@N@@", tag: "volume" };
    const localReq = { path: "/?bench=@@N@@", tag: "local", headers: { Host: LOCAL_HOST } };
    // Warm both (opcache, Gluster caches, connection): what a running site has.
    await load(client, {
        kind: "sequence",
        host: LB_PUBLIC_IP,
        reqs: [volumeReq, localReq].map(r => ({ ...r, path: `/?warm=${Date.now()}-@@N@@` })),
        rounds: 10,
        timeoutMs: 30_000,
        deadlineMs: 120_000,
    });
    const page = await load<{ samples: Sample[] }>(client, {
        kind: "sequence",
        host: LB_PUBLIC_IP,
        reqs: [volumeReq, localReq].map(r => ({ ...r, path: r.path.replace("bench=", `bench=${Date.now()}-`) })),
        rounds,
        timeoutMs: 30_000,
        deadlineMs: 900_000,
    });
    return {
        vol: okMs(page.samples, "volume"),
        loc: okMs(page.samples, "local"),
        failed: page.samples.filter(x => x.status !== 200).length,
    };
}

const PHP_FPM = "php8.2-fpm";
const BENCH_INI = "/etc/php/8.2/fpm/conf.d/99-zz-ha-bench-revert.ini";

/** Takes one setting back to its default on the lab (gluster on node 1, PHP on every node), or puts it back. */
async function applyReverted(nodes: LabHost[], r: Reverted, revert: boolean): Promise<void> {
    const vol = LAB_GLUSTER.volumeName;
    if (r.gluster?.length) {
        const opts = r.gluster.map(([o, v]) => [o, revert ? v : deployedValue(o)] as const);
        await sh(nodes[0], glusterCommands(vol, opts), { timeoutMs: 300_000 });
    }
    if (r.php) {
        const ini = Buffer.from(`; bench/site.ts: ${r.name} (removed after the measurement)\n${r.php}`).toString(
            "base64",
        );
        const text = revert ? `echo ${ini} | base64 -d >${BENCH_INI}` : `rm -f ${BENCH_INI}`;
        await Promise.all(nodes.map(n => sh(n, `${text} && systemctl reload ${PHP_FPM}`, { timeoutMs: 120_000 })));
    }
    // Clients switch to the new volume graph and PHP-FPM's workers restart asynchronously: let both settle.
    await new Promise(res => setTimeout(res, 5_000));
}

/**
 * Per setting: the uncached page with that setting at its default, against the tuned lab measured right before it,
 * both as volume/local. Prints the table and returns the setting that moved the ratio most.
 */
async function settingsPart(client: LabHost, nodes: LabHost[], rounds: number): Promise<Check> {
    const rows: string[][] = [];
    const moved: { name: string; by: number }[] = [];
    const ratioOf = (p: { vol: number[]; loc: number[] }) => percentile(p.vol, 50) / percentile(p.loc, 50);
    console.log(`\nsite: each setting at its default in turn (${rounds} pages each from volume and local disk)`);
    for (const r of [...REVERTED, ALL_REVERTED]) {
        const tuned = await uncachedPages(client, rounds);
        await applyReverted(nodes, r, true);
        let off: { vol: number[]; loc: number[] };
        try {
            off = await uncachedPages(client, rounds);
        } finally {
            await applyReverted(nodes, r, false);
        }
        const by = ratioOf(off) - ratioOf(tuned);
        moved.push({ name: r.name, by });
        rows.push([
            r.name,
            `${fmtMs(percentile(tuned.vol, 50))} / ${fmtMs(percentile(tuned.loc, 50))} = ${ratioOf(tuned).toFixed(2)}x`,
            `${fmtMs(percentile(off.vol, 50))} / ${fmtMs(percentile(off.loc, 50))} = ${ratioOf(off).toFixed(2)}x`,
            `${by >= 0 ? "+" : ""}${by.toFixed(2)}`,
        ]);
        console.log(
            `site: ${r.name}: ratio ${ratioOf(tuned).toFixed(2)}x tuned, ${ratioOf(off).toFixed(2)}x at default`,
        );
    }
    console.log(
        table(["setting taken back to its default", "tuned: volume / local (p50)", "at default", "ratio change"], rows),
    );
    const single = moved.slice(0, REVERTED.length).sort((a, b) => b.by - a.by);
    return {
        name: "site: the setting that moves volume/local most",
        pass: undefined,
        detail: single
            .slice(0, 3)
            .map(m => `${m.name} (${m.by >= 0 ? "+" : ""}${m.by.toFixed(2)})`)
            .join("; "),
    };
}

export async function run(ctx: BenchContext): Promise<Check[]> {
    const hosts = await labStack(ctx.args);
    const nodes = NODE_NAMES.map(n => hosts[n]);
    const client = hosts[CLIENT_HOSTS[0].name];
    const rounds = arg(ctx, "rounds", ctx.quick ? 20 : 60);
    const cachedTotal = arg(ctx, "cached", ctx.quick ? 500 : 3000);
    // --parts=page,syscalls,... (default all of PARTS): a run of only some of them, e.g. by hand on a lab.
    const parts = new Set((ctx.args.find(a => a.startsWith("--parts="))?.slice(8) ?? PARTS).split(","));
    const note = await machineNote();
    const tuning = (
        await sh(
            nodes[0],
            `gluster volume get ${LAB_GLUSTER.volumeName} performance.nl-cache | awk 'NR==3 {print $2}'; ` +
                `php-fpm8.2 -i 2>/dev/null | awk -F' => ' '/^opcache.revalidate_freq/ {print $2}'`,
        )
    )
        .trim()
        .split("\n");
    console.log(
        `site: lab on this machine: ${note}; nl-cache ${tuning[0] ?? "?"}, opcache.revalidate_freq ${tuning[1] ?? "?"}`,
    );

    try {
        await setUpLocalCopies(nodes);
        const checks: Check[] = [{ name: "site: machine", pass: undefined, detail: note }];
        const rows: string[][] = [];
        const printRows = () =>
            console.log(
                table(["what", "volume p50", "volume p99", "local p50", "local p99", "volume/local (p50)"], rows),
            );
        if (parts.has("page")) {
            const { vol, loc, failed } = await uncachedPages(client, rounds);
            const ratio = percentile(vol, 50) / percentile(loc, 50);
            console.log(
                `\nsite: ${rounds} uncached front pages each from the volume and from local disk (alternating), through ${LB_PUBLIC_IP}; ${failed} failed`,
            );
            rows.push([
                "uncached page (Varnish miss)",
                fmtMs(percentile(vol, 50)),
                fmtMs(percentile(vol, 99)),
                fmtMs(percentile(loc, 50)),
                fmtMs(percentile(loc, 99)),
                `${ratio.toFixed(2)}x`,
            ]);
            printRows();
            checks.push({
                name: "site: uncached page on the volume <= 1.2x local disk (p50)",
                pass: ratio <= TARGET_RATIO,
                detail: `${fmtMs(percentile(vol, 50))} vs ${fmtMs(percentile(loc, 50))}, ${ratio.toFixed(2)}x; p99 ${fmtMs(percentile(vol, 99))} vs ${fmtMs(percentile(loc, 99))}`,
            });
        }
        if (parts.has("syscalls"))
            checks.push(
                await syscallsPart(
                    nodes[0],
                    { volume: LB_PUBLIC_IP, local: LOCAL_HOST },
                    arg(ctx, "syscall-rounds", ctx.quick ? 5 : 20),
                    ctx.tmp,
                ),
            );
        if (parts.has("settings"))
            checks.push(await settingsPart(client, nodes, arg(ctx, "setting-rounds", ctx.quick ? 10 : 30)));
        if (parts.has("admin")) {
            const cookie = await adminCookie(client, stackSecrets().adminPassword);
            const localCookie = await adminCookie(client, stackSecrets().adminPassword, LOCAL_HOST);
            const adminRounds = Math.max(10, Math.round(rounds / 5));
            const admin = await load<{ samples: Sample[] }>(client, {
                kind: "sequence",
                host: LB_PUBLIC_IP,
                rounds: adminRounds,
                timeoutMs: 30_000,
                deadlineMs: 600_000,
                reqs: [
                    { path: "/wp-admin/", tag: "volume", headers: { Cookie: cookie } },
                    { path: "/wp-admin/", tag: "local", headers: { Cookie: localCookie, Host: LOCAL_HOST } },
                ],
            });
            const aVol = okMs(admin.samples, "volume"),
                aLoc = okMs(admin.samples, "local");
            const aRatio = percentile(aVol, 50) / percentile(aLoc, 50);
            rows.push([
                `wp-admin dashboard (${adminRounds} each)`,
                fmtMs(percentile(aVol, 50)),
                fmtMs(percentile(aVol, 99)),
                fmtMs(percentile(aLoc, 50)),
                fmtMs(percentile(aLoc, 99)),
                `${aRatio.toFixed(2)}x`,
            ]);
            printRows();
            checks.push({
                name: "site: wp-admin volume/local",
                pass: undefined,
                // A local run without a 200 names the statuses it got instead of printing NaN.
                detail: aLoc.length
                    ? `${aRatio.toFixed(2)}x (${fmtMs(percentile(aVol, 50))} vs ${fmtMs(percentile(aLoc, 50))})`
                    : `volume p50 ${fmtMs(percentile(aVol, 50))}; local: no 200 (statuses ${[
                          ...new Set(admin.samples.filter(x => x.tag === "local").map(x => x.status)),
                      ].join(", ")})`,
            });
        }
        if (parts.has("cached")) {
            await load(client, {
                kind: "sequence",
                host: LB_PUBLIC_IP,
                reqs: [{ path: "/" }],
                rounds: 5,
                timeoutMs: 30_000,
                deadlineMs: 60_000,
            });
            const cached = await load<{ samples: Sample[]; elapsedMs: number }>(client, {
                kind: "throughput",
                host: LB_PUBLIC_IP,
                req: { path: "/", tag: "cached" },
                total: cachedTotal,
                concurrency: 16,
                timeoutMs: 10_000,
                deadlineMs: 120_000,
            });
            const cOk = okMs(cached.samples, "cached");
            const rps = (cOk.length / cached.elapsedMs) * 1000;
            console.log(
                `site: cached front page (Varnish hit), ${cachedTotal} requests, 16 in flight: ${rps.toFixed(0)} req/s, p50 ${fmtMs(percentile(cOk, 50))}, p99 ${fmtMs(percentile(cOk, 99))}, ${cached.samples.length - cOk.length} failed`,
            );
            checks.push({
                name: "site: cached throughput through Varnish",
                pass: undefined,
                detail: `${rps.toFixed(0)} req/s, p99 ${fmtMs(percentile(cOk, 99))}`,
            });
        }
        if (parts.has("upload")) {
            const uploads: Upload[] = [];
            for (let i = 0; i < (ctx.quick ? 2 : 5); i++) {
                const u = await uploadOnce(nodes, i, ctx.tmp);
                uploads.push(u);
                console.log(
                    `site: upload ${i + 1}: written on node 1 -> served by ${NODE_NAMES.join(" / ")}: ${u.writtenToEach.map(fmtMs).join(" / ")} (WordPress finished the thumbnails ${fmtMs(u.done)} after the file)`,
                );
            }
            const worstUpload = Math.max(...uploads.map(u => u.writtenToLast));
            checks.push({
                name: "site: upload served by every node <= 1 s",
                pass: worstUpload <= TARGET_UPLOAD_MS,
                detail: `worst of ${uploads.length}: ${fmtMs(worstUpload)}`,
            });
        }
        return checks;
    } finally {
        await tearDownLocalCopies(nodes);
    }
}
