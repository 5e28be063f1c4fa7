// wordpressPlan (pure), the web config validator, and the web/jail scripts' syntax.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { effectiveConfig } from "./support/pulumiRuntime";
import { COMMON_LIB, SCRIPTS_DIR, renderStep, topoOrder } from "../../components/hostStep";
import { WordPressPlanArgs, webPackages, webStepIds, wordpressPlan } from "../../components/wordpressPlan";
import { WEB_CONFIG_DEFAULTS, validateWebConfig } from "../../components/webConfig";
import { StackConfigError } from "../../components/config";

const NODES = ["n1", "n2", "n3"];
const base: WordPressPlanArgs<string> = {
    nodes: NODES,
    mountPoint: "/var/www/html",
    afterMount: { n1: ["mount-n1"], n2: ["mount-n2"], n3: ["mount-n3"] },
    source: { kind: "debian" },
    dbHost: "db:3306",
    dbName: "wordpress",
    dbMasterUser: "dbmaster",
    dbMasterPassword: "mpw",
    dbUser: "wordpress",
    dbPassword: "pw",
    salts: "1 2 3 4 5 6 7 8",
    siteUrl: "",
    installUrl: "http://x",
    siteTitle: "T",
    adminUser: "a",
    adminPassword: "p",
    adminEmail: "a@b.c",
};

describe("wordpressPlan (pure)", () => {
    it("has five steps per node, the database user and one site install on the first node", () => {
        const plan = wordpressPlan(base);
        assert.strictEqual(plan.length, 17);
        const site = plan.filter(s => s.id === webStepIds.site);
        assert.deepStrictEqual(
            site.map(s => s.host),
            ["n1"],
        );
        assert.deepStrictEqual([...site[0].dependsOn].sort(), [
            "db-user",
            "php-fpm-n1",
            "wordpress-n1",
            "wordpress-n2",
            "wordpress-n3",
        ]);
    });

    it("puts Nginx and WordPress after the node's mount, Varnish after Nginx, every step on its own node", () => {
        const plan = wordpressPlan(base);
        const by = new Map(plan.map(s => [s.id, s]));
        for (const n of NODES) {
            assert.ok(by.get(webStepIds.nginx(n))!.dependsOn.includes(`mount-${n}`));
            assert.ok(by.get(webStepIds.wordpress(n))!.dependsOn.includes(`mount-${n}`));
            assert.deepStrictEqual(by.get(webStepIds.varnish(n))!.dependsOn, [webStepIds.nginx(n)]);
            for (const s of plan.filter(x => x.id.endsWith(`-${n}`))) assert.strictEqual(s.host, n, s.id);
            assert.strictEqual(by.get(webStepIds.varnish(n))!.params.TLS_PORT, "", "no :81 without a certificate");
        }
        // Orderable once the Gluster steps exist.
        const gluster = NODES.map(n => ({ id: `mount-${n}`, host: n, script: "x", params: {}, dependsOn: [] }));
        assert.strictEqual(topoOrder([...gluster, ...plan]).length, 20);
    });

    it("renders every step (parameter names valid, scripts present)", () => {
        for (const s of wordpressPlan(base)) assert.match(renderStep(s.script, s.params), /bash -c /, s.id);
    });

    it("rejects a tarball without a SHA-256, a relative mount point and a node without a mount step", () => {
        assert.throws(
            () => wordpressPlan({ ...base, source: { kind: "tarball", url: "https://x/w.tar.gz", sha256: "abc" } }),
            /sha256/,
        );
        assert.throws(() => wordpressPlan({ ...base, mountPoint: "var/www" }), /absolute/);
        assert.throws(() => wordpressPlan({ ...base, afterMount: { n1: [] } }), /afterMount has no entry for node n2/);
    });

    it("installs Debian's WordPress and its default theme only for the debian source", () => {
        assert.ok(webPackages("8.2", { kind: "debian" }).includes("wordpress-theme-twentytwentythree"));
        assert.ok(!webPackages("8.2", { kind: "tarball", url: "u", sha256: "s" }).includes("wordpress"));
        assert.ok(webPackages("8.2", { kind: "debian" }, ["php8.2-imagick"]).includes("php8.2-imagick"));
        // XML-RPC cannot parse a single call without ext/xml (seen in the lab: every call a -32700 fault).
        for (const ext of ["xml", "mbstring", "zip", "intl"])
            assert.ok(webPackages("8.3", { kind: "debian" }).includes(`php8.3-${ext}`), ext);
    });
});

describe("web config validator", () => {
    const problems = (raw: Record<string, string>): string[] => {
        try {
            validateWebConfig(raw);
        } catch (e) {
            if (e instanceof StackConfigError) return e.problems;
            throw e;
        }
        return [];
    };

    it("accepts the defaults, prod and dev; prod keeps the database safe, dev does not", () => {
        assert.deepStrictEqual(problems({}), []);
        const prod = validateWebConfig(effectiveConfig("prod"));
        const dev = validateWebConfig(effectiveConfig("dev"));
        assert.deepStrictEqual([prod.db.multiAz, prod.db.deletionProtection], [true, true]);
        assert.deepStrictEqual([dev.db.multiAz, dev.db.deletionProtection], [false, false]);
        assert.deepStrictEqual(prod.xmlrpcJail, { maxretry: 20, findtime: 120, bantime: 43200 });
        assert.strictEqual(WEB_CONFIG_DEFAULTS.dbMultiAz, "true");
    });

    it("names the key and the fix for each bad value", () => {
        const cases: [Record<string, string>, RegExp][] = [
            [
                { dbMultiAz: "yes" },
                /ha-wordpress:dbMultiAz: 'yes' must be true or false\. Fix: pulumi config set dbMultiAz true/,
            ],
            [{ dbUser: "admin" }, /ha-wordpress:dbUser: .*reserved/],
            [
                { wordpressSource: "tarball", wordpressTarballUrl: "https://wordpress.org/latest.tar.gz" },
                /ha-wordpress:wordpressTarballSha256: must be the release's SHA-256/,
            ],
            [{ wordpressSource: "svn" }, /ha-wordpress:wordpressSource: 'svn' must be 'debian'/],
            [
                { certificateArn: "arn:aws:iam::1:cert" },
                /ha-wordpress:certificateArn: .* is not an ACM certificate ARN/,
            ],
            [{ siteUrl: "https://example.com/blog" }, /ha-wordpress:siteUrl: .*without a path/],
            [{ xmlrpcBantime: "0" }, /ha-wordpress:xmlrpcBantime: '0' must be seconds/],
            [
                { jailwatchPeerPort: "80" },
                /ha-wordpress:jailwatchPeerPort: '80' is not a whole number between 1024 and 65535/,
            ],
            [{ webIngressCidr: "10.0.0.1/8" }, /ha-wordpress:webIngressCidr: .*host bits/],
        ];
        for (const [raw, re] of cases) {
            const p = problems(raw);
            assert.strictEqual(p.length, 1, `${JSON.stringify(raw)}: ${p.join(" | ")}`);
            assert.match(p[0], re);
        }
        assert.strictEqual(problems({ dbMultiAz: "no", siteTitle: " " }).length, 2, "all problems at once");
    });
});

describe("web and jail host scripts", () => {
    const scripts = ["web", "jail"].flatMap(d =>
        fs
            .readdirSync(path.join(SCRIPTS_DIR, d))
            .filter(f => f.endsWith(".sh"))
            .map(f => `${d}/${f}`),
    );

    it("parse with bash -n, prefixed by the common library as they run", () => {
        assert.ok(scripts.length >= 9, scripts.join(" "));
        const common = fs.readFileSync(path.join(SCRIPTS_DIR, COMMON_LIB), "utf8");
        for (const s of scripts) {
            execFileSync("bash", ["-n", "-c", common + "\n" + fs.readFileSync(path.join(SCRIPTS_DIR, s), "utf8")]);
        }
    });

    it("fail with a message naming a missing parameter instead of running half-configured", () => {
        for (const s of scripts) {
            let err = "";
            try {
                execFileSync("bash", ["-c", renderStep(s, {})], {
                    stdio: ["ignore", "pipe", "pipe"],
                    env: { PATH: process.env.PATH },
                });
            } catch (e: any) {
                err = String(e.stderr);
            }
            assert.match(err, /parameter [A-Z_]+ is missing/, `${s}: ${err}`);
        }
    });

    // .ci/run installs varnish, nginx and php-fpm: the config files must pass the real tools' own checks.
    it("ship config files that the real tools accept (varnishd -C, nginx -t, php-fpm8.2 -t)", () => {
        const tmp = fs.mkdtempSync("/tmp/ha-webconf-");
        try {
            execFileSync("varnishd", ["-C", "-f", path.join(SCRIPTS_DIR, "web/varnish.vcl")], { stdio: "pipe" });
            const site = fs
                .readFileSync(path.join(SCRIPTS_DIR, "web/nginx-site.conf"), "utf8")
                .replace(/@@WEB_ROOT@@/g, `${tmp}/www`)
                .replace(/\/var\/log\/nginx\//g, `${tmp}/`);
            fs.writeFileSync(`${tmp}/site.conf`, site);
            fs.writeFileSync(
                `${tmp}/nginx.conf`,
                `pid ${tmp}/nginx.pid;\nerror_log ${tmp}/error.log;\nevents {}\nhttp {\ninclude /etc/nginx/mime.types;\ninclude ${tmp}/site.conf;\n}\n`,
            );
            execFileSync("nginx", ["-t", "-q", "-c", `${tmp}/nginx.conf`], { stdio: "pipe" });
            // The pool's size is filled in by php-fpm.sh on the node (from its memory); any numbers do for the check.
            const pool = fs
                .readFileSync(path.join(SCRIPTS_DIR, "web/php-fpm-pool.conf"), "utf8")
                .replace("@@MAX_CHILDREN@@", "16")
                .replace("@@START_SERVERS@@", "4")
                .replace("@@MIN_SPARE@@", "2")
                .replace("@@MAX_SPARE@@", "8");
            fs.writeFileSync(`${tmp}/pool.conf`, pool);
            fs.writeFileSync(
                `${tmp}/fpm.conf`,
                `[global]\npid = ${tmp}/fpm.pid\nerror_log = ${tmp}/fpm.log\ninclude = ${tmp}/pool.conf\n`,
            );
            execFileSync("php-fpm8.2", ["-t", "-y", `${tmp}/fpm.conf`], { stdio: "pipe" });
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });
});
