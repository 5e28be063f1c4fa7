// The performance tuning the plans hand to the host steps: Gluster volume options, PHP settings, the FPM pool's size.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HostStep } from "../../components/hostStep";
import { PHP_VOLUME_TUNING, glusterPlan, volumeTuningParam } from "../../components/glusterPlan";
import { DEFAULT_FPM_SIZING, WordPressPlanArgs, webConfigFiles, wordpressPlan } from "../../components/wordpressPlan";

const NODES = ["n1", "n2", "n3"];
const gluster = (tuning?: ReadonlyArray<readonly [string, string]>) =>
    glusterPlan<string>({
        nodes: NODES.map((name, i) => ({
            name,
            privateIp: `10.0.0.${i + 1}`,
            brickVolumeId: `vol-0abc00000000000${i + 1}`,
        })),
        volumeName: "wp",
        brickPath: "/glusterfs/bricks/brick1/gv",
        mountPoint: "/var/www/html",
        pingTimeout: 10,
        tuning,
    }) as HostStep<string>[];
const volumeStep = (steps: HostStep<string>[]) => steps.find(s => s.id === "volume")!;

const wpArgs = (more: Partial<WordPressPlanArgs<string>> = {}): WordPressPlanArgs<string> => ({
    nodes: NODES,
    mountPoint: "/var/www/html",
    afterMount: Object.fromEntries(NODES.map(n => [n, [`mount-${n}`]])),
    source: { kind: "debian" },
    dbHost: "db",
    dbName: "wp",
    dbMasterUser: "admin",
    dbMasterPassword: "m",
    dbUser: "app",
    dbPassword: "p",
    salts: "a b c d e f g h",
    siteUrl: "",
    installUrl: "http://x",
    siteTitle: "t",
    adminUser: "u",
    adminPassword: "pw",
    adminEmail: "a@b.invalid",
    ...more,
});
const fpmStep = (steps: HostStep<string>[], node = "n1") => steps.find(s => s.id === `php-fpm-${node}`)!;

describe("performance tuning in the plans", () => {
    it("the volume step gets gluster's metadata-cache and nl-cache options, readdir-ahead and event threads by default", () => {
        const lines = String(volumeStep(gluster()).params.TUNING).split("\n");
        const opts = new Map(lines.map(l => l.split(" ") as [string, string]));
        for (const [k, v] of [
            ["features.cache-invalidation", "on"],
            ["performance.md-cache-timeout", "600"],
            ["performance.cache-invalidation", "on"],
            ["performance.nl-cache", "on"],
            ["performance.readdir-ahead", "on"],
            ["client.event-threads", "3"],
            ["server.event-threads", "3"],
        ]) {
            assert.strictEqual(opts.get(k), v, `${k} should be ${v}`);
        }
        assert.strictEqual(lines.length, PHP_VOLUME_TUNING.length);
    });

    it("every cache it turns on is kept coherent between the nodes by cache invalidation", () => {
        const opts = new Map(PHP_VOLUME_TUNING.map(([k, v]) => [k, v]));
        if (opts.get("performance.md-cache-timeout") !== undefined || opts.get("performance.nl-cache") === "on") {
            assert.strictEqual(opts.get("features.cache-invalidation"), "on");
            assert.strictEqual(opts.get("performance.cache-invalidation"), "on");
        }
        assert.ok(
            !opts.has("performance.parallel-readdir"),
            "parallel-readdir has nothing to parallelise on a 1 x 3 volume",
        );
    });

    it("tuning [] leaves gluster's defaults; bad names, values and duplicates are refused", () => {
        assert.strictEqual(volumeStep(gluster([])).params.TUNING, "");
        assert.throws(() => volumeTuningParam([["performance.nl-cache", "on; rm -rf /"]]), /may hold only/);
        assert.throws(() => volumeTuningParam([["nl-cache", "on"]]), /not a gluster option name/);
        assert.throws(
            () =>
                volumeTuningParam([
                    ["performance.nl-cache", "on"],
                    ["performance.nl-cache", "off"],
                ]),
            /twice/,
        );
    });

    it("the PHP-FPM step gets the PHP settings and the pool sizing parameters", () => {
        const p = fpmStep(wordpressPlan<string>(wpArgs()) as HostStep<string>[]).params;
        assert.strictEqual(p.PHP_INI, webConfigFiles().phpIni);
        assert.strictEqual(p.FPM_RESERVE_MIB, String(DEFAULT_FPM_SIZING.reserveMib));
        assert.strictEqual(p.FPM_CHILD_MIB, String(DEFAULT_FPM_SIZING.childMib));
        const q = fpmStep(
            wordpressPlan<string>(
                wpArgs({ fpmSizing: { reserveMib: 1024, childMib: 80 }, phpTuning: false }),
            ) as HostStep<string>[],
        ).params;
        assert.deepStrictEqual([q.FPM_RESERVE_MIB, q.FPM_CHILD_MIB, q.PHP_INI], ["1024", "80", ""]);
        assert.throws(() => wordpressPlan<string>(wpArgs({ fpmSizing: { reserveMib: 768, childMib: 0 } })), /childMib/);
        assert.throws(
            () => wordpressPlan<string>(wpArgs({ fpmSizing: { reserveMib: 1.5, childMib: 64 } })),
            /reserveMib/,
        );
    });

    it("the PHP settings keep timestamp validation with a bounded revalidation and size opcache for WordPress", () => {
        const ini = Object.fromEntries(
            webConfigFiles()
                .phpIni.split("\n")
                .filter(l => /^[a-z]/.test(l))
                .map(l => l.split(/\s*=\s*/)),
        );
        assert.strictEqual(ini["opcache.validate_timestamps"], "1");
        const freq = Number(ini["opcache.revalidate_freq"]);
        assert.ok(freq > 0 && freq <= 60, `revalidate_freq ${freq} must bound how long another node's change takes`);
        assert.ok(Number(ini["opcache.memory_consumption"]) >= 128);
        assert.ok(Number(ini["opcache.max_accelerated_files"]) >= 10000);
        assert.ok(ini["realpath_cache_size"] && ini["realpath_cache_ttl"]);
        // The opcache answers file_exists() for the scripts it holds; only timestamp validation keeps that answer
        // within the revalidate_freq bound (without it a deleted script would be "found" until PHP-FPM restarts).
        assert.strictEqual(ini["opcache.enable_file_override"], "1");
    });

    // php-fpm8.2 and php are installed on the test machine (.ci/run): the real tools judge the real files.
    it("the pool file with its placeholders filled and the PHP settings pass PHP's own checks", () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "perf-tuning-"));
        try {
            const pool = webConfigFiles()
                .fpmPool.replace("@@MAX_CHILDREN@@", "16")
                .replace("@@START_SERVERS@@", "4")
                .replace("@@MIN_SPARE@@", "2")
                .replace("@@MAX_SPARE@@", "8");
            assert.ok(!/@@[A-Z_]+@@/.test(pool), "every placeholder is one php-fpm.sh fills");
            fs.writeFileSync(`${tmp}/pool.conf`, pool);
            fs.writeFileSync(
                `${tmp}/fpm.conf`,
                `[global]\npid = ${tmp}/fpm.pid\nerror_log = ${tmp}/fpm.log\ninclude = ${tmp}/pool.conf\n`,
            );
            execFileSync("php-fpm8.2", ["-t", "-y", `${tmp}/fpm.conf`], { stdio: "pipe" });
            fs.writeFileSync(`${tmp}/t.ini`, webConfigFiles().phpIni);
            const out = execFileSync(
                "php",
                [
                    "-n",
                    "-c",
                    `${tmp}/t.ini`,
                    "-r",
                    "echo ini_get('realpath_cache_ttl'), ' ', ini_get('realpath_cache_size');",
                ],
                { encoding: "utf8" },
            );
            assert.strictEqual(out.trim(), "600 4096K");
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });
});
