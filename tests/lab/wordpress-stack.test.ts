// The whole stack in the lab: Gluster + WordPressTier's + Fail2BanJail's host steps on three real hosts, MariaDB
// standing in for RDS, two client hosts. Checks what a visitor, an editor and an attacker would see.
import * as assert from "assert";
import * as crypto from "crypto";
import { control, destroyLab, exec, getHost } from "../../lab/hosts";
import { RunResult } from "../../lab/proc";
import {
    CLIENT_HOSTS,
    DB_HOST,
    LAB_SITE,
    NODE_NAMES,
    SITE_URL,
    StackSecrets,
    labStackPlan,
    publishBinary,
    stackUp,
    startDatabase,
} from "../../lab/stack";
import { powerOff } from "../../lab/hosts";
import { runPlan } from "../../lab/runner";
import { GLUSTER_HOSTS, LAB_GLUSTER } from "../../lab/glusterLab";
import { webRootOf, stateDirOf, webStepIds } from "../../components/wordpressPlan";
import { SEED_XMLRPC_JAIL, defaultJails } from "../../components/fail2banPlan";
import { assertPlanOk, footprint, leftovers, onHost, requireRoot, waitFor } from "./helpers/lab";

const IPS = GLUSTER_HOSTS.map(h => h.ip);
const [N1, N2, N3] = NODE_NAMES;
const [C1, C2] = CLIENT_HOSTS.map(h => h.name);
const C1_IP = CLIENT_HOSTS[0].ip,
    C2_IP = CLIENT_HOSTS[1].ip;
const WEB_ROOT = webRootOf(LAB_GLUSTER.mountPoint);
const JAIL = "nginx-wp-xmlrpc";

function client(name: string) {
    const h = getHost(name);
    assert.ok(h, `lab host ${name} is not running`);
    return h;
}

/** curl on a client host; returns stdout (the -w output when given). Never throws: a banned client times out. */
async function curl(from: string, args: string[], timeoutMs = 60_000): Promise<RunResult> {
    return exec(client(from), ["curl", "-s", "-m", "5", ...args], { timeoutMs });
}
async function status(from: string, url: string, extra: string[] = []): Promise<string> {
    const r = await curl(from, ["-o", "/dev/null", "-w", "%{http_code}", ...extra, url]);
    return r.stdout.trim() || "000";
}
/** The same from the control namespace (the operator's machine: never banned, never ignored either). */
async function statusFromControl(url: string): Promise<string> {
    const r = await control(["curl", "-s", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}", url], {
        timeoutMs: 30_000,
    });
    return r.stdout.trim() || "000";
}
async function bannedAnywhere(ip: string): Promise<boolean> {
    for (const n of NODE_NAMES) if ((await banned(n)).includes(ip)) return true;
    return false;
}
async function banned(node: string): Promise<string[]> {
    const out = await onHost(node, `jailwatch client status ${JAIL}`);
    const line = out.split("\n").find(l => l.includes("Banned IP list")) ?? "";
    return line.split(":").slice(1).join(":").trim().split(/\s+/).filter(Boolean);
}

describe("lab: the whole HA WordPress stack (Varnish -> Nginx -> PHP-FPM on Gluster, MariaDB, jailwatch)", function () {
    this.timeout(300_000);
    let secrets: StackSecrets;

    before(async function () {
        this.timeout(900_000);
        requireRoot();
        await destroyLab();
        const up = await stackUp();
        assertPlanOk(up.report, "first run of the stack plan");
        secrets = up.secrets;
    });

    after(async function () {
        this.timeout(120_000);
        const fp = footprint();
        await destroyLab();
        assert.deepStrictEqual(await leftovers(fp), []);
    });

    it("WordPress answers 200 through Varnish on every node, with the installed site", async () => {
        for (const ip of IPS) {
            // Each node directly, from the operator's side (visitors only reach the load balancer).
            const r = await control(["curl", "-s", "-m", "10", "-i", `http://${ip}/`], { timeoutMs: 30_000 });
            assert.match(r.stdout, /^HTTP\/1\.1 200/m, `node ${ip}: ${r.stdout.slice(0, 200)}`);
            assert.match(r.stdout, new RegExp(`<title>${LAB_SITE.title.replace(/[()]/g, "\\$&")}</title>`));
            // Served by Varnish (our VCL's header), which runs on :80 in front of Nginx.
            assert.match(r.stdout, /^X-Cache: (hit|miss)/m);
            assert.strictEqual(await statusFromControl(`http://${ip}/healthz`), "200");
        }
        // A visitor reaches the site through the load balancer, with its own address in Nginx's log.
        assert.strictEqual(await status(C1, `${SITE_URL}/?visitor=${Date.now()}`), "200");
        const logged = await Promise.all(NODE_NAMES.map(n => onHost(n, "tail -n 3 /var/log/nginx/access.log")));
        assert.match(logged.join("\n"), new RegExp(`"${C1_IP.replace(/\./g, "\\.")}"$`, "m"));
        // Nginx is not reachable from outside: only Varnish may set the X-Forwarded-For it logs. Nor are the nodes
        // themselves from the public side: only the load balancer's address.
        assert.strictEqual(await statusFromControl(`http://${IPS[0]}:8080/`), "000");
        assert.strictEqual(await status(C1, `http://${IPS[0]}/`), "000");
    });

    it("installed WordPress exactly once on the shared volume (one marker, lock released)", async () => {
        const marker = await onHost(N2, `cat ${stateDirOf(LAB_GLUSTER.mountPoint)}/installed`);
        assert.match(marker, /^WordPress \S+ from debian by node-gfs[123] at /);
        assert.strictEqual(
            (await onHost(N3, `ls ${stateDirOf(LAB_GLUSTER.mountPoint)}`)).split("\n").filter(Boolean).sort().join(" "),
            "installed",
        );
        // The secrets stay out of the world-readable tree: wp-config is root:www-data 0640.
        assert.strictEqual(
            (await onHost(N1, `stat -c '%U:%G %a' ${WEB_ROOT}/wp-config.php`)).trim(),
            "root:www-data 640",
        );
    });

    it("a media upload through the load balancer is served by every node", async () => {
        const jar = "/tmp/wp-cookies";
        const login = await curl(C2, [
            "-m",
            "30",
            "-c",
            jar,
            "-b",
            "wordpress_test_cookie=WP%20Cookie%20check",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
            "--data-urlencode",
            `log=${LAB_SITE.adminUser}`,
            "--data-urlencode",
            `pwd=${secrets.adminPassword}`,
            "-d",
            "testcookie=1",
            "-d",
            "redirect_to=/wp-admin/",
            `${SITE_URL}/wp-login.php`,
        ]);
        assert.match(login.stdout, /^302 .*\/wp-admin\/$/, `login: ${login.stdout}`);
        const page = await curl(C2, ["-m", "30", "-b", jar, `${SITE_URL}/wp-admin/media-new.php`]);
        const nonce = /"_wpnonce":"([0-9a-f]+)"/.exec(page.stdout)?.[1];
        assert.ok(nonce, "upload nonce on media-new.php");
        // A small PNG made on the client (GD's CLI is on every lab host through the overlay root).
        await exec(client(C2), [
            "php",
            "-r",
            "$i=imagecreatetruecolor(8,8);imagefill($i,0,0,imagecolorallocate($i,200,30,60));imagepng($i,'/tmp/lab-upload.png');",
        ]);
        const up = await curl(C2, [
            "-m",
            "30",
            "-b",
            jar,
            "-F",
            "name=lab-upload.png",
            "-F",
            "action=upload-attachment",
            "-F",
            `_wpnonce=${nonce}`,
            "-F",
            "async-upload=@/tmp/lab-upload.png;type=image/png",
            `${SITE_URL}/wp-admin/async-upload.php`,
        ]);
        const json = JSON.parse(up.stdout);
        assert.strictEqual(json.success, true, up.stdout);
        const url = new URL(json.data.url);
        const want = (await exec(client(C2), ["sha256sum", "/tmp/lab-upload.png"])).stdout.split(" ")[0];
        for (const ip of IPS) {
            const got = await control(["bash", "-c", `curl -s -m 5 http://${ip}${url.pathname} | sha256sum`]);
            assert.strictEqual(got.stdout.split(" ")[0], want, `upload served by ${ip}`);
        }
    });

    it("a plugin installed on one node is active on all", async () => {
        const plugin = "ha-lab-probe";
        await onHost(
            N1,
            `install -d -o www-data -g www-data ${WEB_ROOT}/wp-content/plugins/${plugin} && ` +
                `printf '%s\\n' '<?php' '/* Plugin Name: HA lab probe */' ` +
                `"add_action('send_headers', function () { header('X-HA-Lab-Probe: active'); });" ` +
                `> ${WEB_ROOT}/wp-content/plugins/${plugin}/${plugin}.php && chown www-data: ${WEB_ROOT}/wp-content/plugins/${plugin}/${plugin}.php`,
        );
        const jar = "/tmp/wp-cookies";
        const list = await curl(C2, ["-m", "30", "-b", jar, `${SITE_URL}/wp-admin/plugins.php`]);
        const href = new RegExp(
            `href="(plugins\\.php\\?action=activate&amp;plugin=${plugin}%2F${plugin}\\.php[^"]*)"`,
        ).exec(list.stdout)?.[1];
        assert.ok(href, "activate link for the probe plugin on node 1's plugin list");
        const act = await status(C2, `${SITE_URL}/wp-admin/${href.replace(/&amp;/g, "&")}`, ["-m", "30", "-b", jar]);
        assert.strictEqual(act, "302");
        for (const ip of IPS) {
            // A query string nobody asked for yet: a fresh page, not one Varnish cached before the activation.
            const r = await control(["curl", "-s", "-m", "10", "-i", `http://${ip}/?probe=${Date.now()}`], {
                timeoutMs: 30_000,
            });
            assert.match(r.stdout, /^X-HA-Lab-Probe: active/m, `plugin active on ${ip}`);
        }
    });

    it("an xmlrpc.php flood through the load balancer bans the client on all three nodes; others are still served", async () => {
        // Spread over the three nodes by the balancer; each node counts its own share, the first to reach maxretry
        // shares the ban. 60 requests: at least one node sees 20 even when the spread is even.
        for (let i = 0; i < 60; i++) {
            const r = await curl(C1, [
                "-m",
                "20",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-X",
                "POST",
                "-d",
                "<methodCall/>",
                `${SITE_URL}/xmlrpc.php`,
            ]);
            // No answer: banned already, or only slow (a loaded machine); only a ban ends the flood early.
            if (r.stdout.trim() === "000" && (await bannedAnywhere(C1_IP))) break;
        }
        for (const n of NODE_NAMES) {
            await waitFor(`${C1_IP} banned on ${n}`, async () => (await banned(n)).includes(C1_IP), 30_000, 200);
        }
        for (let i = 0; i < 6; i++) {
            assert.strictEqual(await status(C1, `${SITE_URL}/`), "000", `${C1_IP} still reaches the site`);
            assert.strictEqual(await status(C2, `${SITE_URL}/`, ["-m", "20"]), "200", `${C2_IP} blocked`);
        }
    });

    it("a client forging X-Forwarded-For is banned by its real address, the forged one is not", async () => {
        const forged = "192.0.2.77";
        for (let i = 0; i < 60; i++) {
            const r = await curl(C2, [
                "-m",
                "20",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-X",
                "POST",
                "-H",
                `X-Forwarded-For: ${forged}`,
                "-d",
                "<methodCall/>",
                `${SITE_URL}/xmlrpc.php`,
            ]);
            if (r.stdout.trim() === "000" && (await bannedAnywhere(C2_IP))) break;
        }
        // Nginx logged "forged, real": the rightmost entry is the address Varnish saw.
        const logs = (await Promise.all(NODE_NAMES.map(n => onHost(n, "tail -n 1 /var/log/nginx/access.log")))).join(
            "\n",
        );
        assert.match(logs, new RegExp(`"${forged}, ${C2_IP.replace(/\./g, "\\.")}"$`, "m"));
        for (const n of NODE_NAMES) {
            await waitFor(`${C2_IP} banned on ${n}`, async () => (await banned(n)).includes(C2_IP), 30_000, 200);
            assert.ok(!(await banned(n)).includes(forged), `forged ${forged} banned on ${n}`);
        }
        assert.strictEqual(await status(C2, `${SITE_URL}/`), "000");
    });

    it("re-running every step succeeds and changes nothing (no reinstall, no jailwatch restart)", async () => {
        // wp-config's mtime, the install marker, and which process owns jailwatch's control socket on each node.
        const state = async () => {
            const out: string[] = [
                await onHost(
                    N1,
                    `stat -c %Y ${WEB_ROOT}/wp-config.php; cat ${stateDirOf(LAB_GLUSTER.mountPoint)}/installed`,
                ),
            ];
            for (const n of NODE_NAMES)
                out.push(
                    `${n}: ${(await onHost(n, "ss -xlpnH | grep -o '/run/jailwatch/jailwatch.sock.*pid=[0-9]*' | grep -o 'pid=[0-9]*'")).trim()}`,
                );
            return out.join("\n");
        };
        const before = await state();
        const hosts = Object.fromEntries(NODE_NAMES.map(n => [n, getHost(n)!]));
        const report = await runPlan(labStackPlan(secrets, await publishBinary()), hosts, { stepTimeoutMs: 300_000 });
        assertPlanOk(report, "re-run");
        const after = await state();
        const logs =
            after === before
                ? ""
                : (await Promise.all(NODE_NAMES.map(n => onHost(n, "journalctl -u jailwatch -n 8 --no-pager")))).join(
                      "\n",
                  );
        assert.strictEqual(after, before, `state changed by a re-run; jailwatch logs:\n${logs}`);
        for (const n of NODE_NAMES) {
            const out = report.steps.find(s => s.id === `jailwatch-service-${n}`)!.stdout;
            assert.match(out, /running, binary and configuration unchanged/, n);
            // Unchanged config files are not rewritten, so nothing reloads and Varnish loads no new VCL.
            const stdoutOf = (id: string) => report.steps.find(s => s.id === id)!.stdout;
            assert.match(stdoutOf(webStepIds.nginx(n)), /\(changed: no\)/, `${n}: nginx config rewritten by a re-run`);
            assert.match(stdoutOf(webStepIds.varnish(n)), /\(VCL changed: no\)/, `${n}: VCL reloaded by a re-run`);
            assert.doesNotMatch(
                stdoutOf(webStepIds.phpFpm(n)),
                /pool file written|reloaded/,
                `${n}: php-fpm pool rewritten by a re-run`,
            );
        }
        // Bans survive a re-run: the daemon was not restarted.
        assert.ok((await banned(N1)).includes(C1_IP));
    });

    it("a changed jail setting redeploys jailwatch on every node (new daemon, new value), and bans survive", async () => {
        const owner = (n: string) =>
            onHost(n, "ss -xlpnH | grep -o '/run/jailwatch/jailwatch.sock.*pid=[0-9]*' | grep -o 'pid=[0-9]*'");
        const before = await Promise.all(NODE_NAMES.map(owner));
        const hosts = Object.fromEntries(NODE_NAMES.map(n => [n, getHost(n)!]));
        const plan = labStackPlan(secrets, await publishBinary(), defaultJails({ ...SEED_XMLRPC_JAIL, maxretry: 25 }));
        const report = await runPlan(plan, hosts, { select: s => s.id.startsWith("jailwatch-") });
        assertPlanOk(report, "redeploy with maxretry 25");
        const after = await Promise.all(NODE_NAMES.map(owner));
        NODE_NAMES.forEach((n, i) => {
            assert.notStrictEqual(after[i], before[i], `${n}: jailwatch restarted`);
            assert.match(
                report.steps.find(s => s.id === `jailwatch-binary-${n}`)!.stdout,
                /already installed/,
                `${n}: binary untouched`,
            );
        });
        for (const n of NODE_NAMES) {
            assert.match(await onHost(n, "jailwatch -d -c /etc/jailwatch"), /^\[nginx-wp-xmlrpc\] maxretry = 25\b/m, n);
            assert.ok((await banned(n)).includes(C1_IP), `${n}: the ban outlived the restart`);
        }
    });

    it("imports an existing SQL dump into an empty database once, instead of a fresh install", async () => {
        // The seed moved its existing database: dump ours, and let the site step import it into a second, empty one.
        const db = getHost(DB_HOST.name)!;
        const dump = (await exec(db, ["mariadb-dump", LAB_SITE.dbName], { timeoutMs: 60_000 })).stdout;
        assert.match(dump, /CREATE TABLE `wp_options`/);
        await startDatabase(db, secrets, "imported");
        await exec(getHost(N1)!, ["bash", "-c", "cat > /root/site.sql"], { input: dump });
        const dumpSha = crypto.createHash("sha256").update(dump).digest("hex");
        // WordPress's own user gets its privileges on the second database from the db-user step, as on RDS.
        const plan = labStackPlan(secrets, await publishBinary()).map(s =>
            s.id === webStepIds.site
                ? {
                      ...s,
                      params: {
                          ...s.params,
                          DB_NAME: "imported",
                          SQL_DUMP_URL: "/root/site.sql",
                          SQL_DUMP_SHA256: dumpSha,
                      },
                  }
                : s.id === webStepIds.dbUser
                  ? { ...s, params: { ...s.params, DB_NAME: "imported" } }
                  : s,
        );
        const hosts = Object.fromEntries(NODE_NAMES.map(n => [n, getHost(n)!]));
        const onlySite = { select: (s: { id: string }) => s.id === webStepIds.site || s.id === webStepIds.dbUser };
        const first = await runPlan(plan, hosts, onlySite);
        assertPlanOk(first, "db-user and site steps with a SQL dump");
        const siteOut = (r: typeof first) => r.steps.find(x => x.id === webStepIds.site)!.stdout;
        assert.match(siteOut(first), /imported SQL dump into the empty database imported/);
        assert.match(siteOut(first), /WordPress site: already installed/);
        const title = await exec(db, [
            "mariadb",
            "-N",
            "-e",
            "SELECT option_value FROM wp_options WHERE option_name = 'blogname'",
            "imported",
        ]);
        assert.strictEqual(title.stdout.trim(), LAB_SITE.title);
        // Again: tables present, so no second import.
        const again = await runPlan(plan, hosts, onlySite);
        assertPlanOk(again, "site step again");
        assert.doesNotMatch(siteOut(again), /imported SQL dump/);
    });

    it("with node 3's power cut the site still answers on nodes 1 and 2", async () => {
        await powerOff(getHost(N3)!, { force: true });
        assert.strictEqual(await statusFromControl(`http://${IPS[2]}/`), "000");
        for (const ip of IPS.slice(0, 2)) {
            // The first requests may wait out Gluster's ping-timeout for the vanished brick; then they are served.
            await waitFor(
                `site on ${ip} with node 3 dead`,
                async () => (await statusFromControl(`http://${ip}/?after-node3=${Date.now()}`)) === "200",
                120_000,
                1_000,
            );
        }
    });
});
