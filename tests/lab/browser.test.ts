// The site as a person uses it: a real browser (Debian's headless Chromium over CDP) through the load balancer logs
// in, uploads an image, publishes a post with it and reads it from every node and through the balancer; and the URL
// `npm run lab -- up` prints, opened from this machine, keeps working with a node powered off.
import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import { control, destroyLab, getHost, powerOff } from "../../lab/hosts";
import { run } from "../../lab/proc";
import { LAB_SITE, LB_HOST, NODE_NAMES, SITE_URL, StackSecrets, stackUp } from "../../lab/stack";
import { GLUSTER_HOSTS } from "../../lab/glusterLab";
import { healthyBackends } from "../../lab/balancer";
import {
    ForwardRecord,
    ensureForwarder,
    forwardUrl,
    portAnswers,
    readForwardRecord,
    stopForwarder,
} from "../../lab/forward";
import { ARTIFACTS, LabBrowser, PHP_PROBLEM, launchLabBrowser, screenshot } from "../browser/browser";
import { solidPng } from "../browser/png";
import { assertPlanOk, footprint, leftovers, onHost, requireRoot, waitFor } from "./helpers/lab";

const NODE_URLS = GLUSTER_HOSTS.map(h => `http://${h.ip}`);
/** Where PHP's warnings land on a node: php-fpm's stderr goes to nginx's error log (FastCGI), the pool's to its log. */
const PHP_LOGS = "/var/log/nginx/error.log /var/log/php*-fpm.log";
const PHP_LOG_PROBLEM = /PHP (?:Warning|Notice|Deprecated|Fatal error|Parse error)/;

/**
 * WordPress's own update check calls api.wordpress.org and warns when it cannot: the lab has no internet, so that
 * warning says nothing about the stack. It is listed, not counted (like requests outside the lab, below).
 */
const NO_INTERNET_WARNING = /could not establish a secure connection to WordPress\.org/;

/** The lab's own addresses: requests elsewhere (gravatar, wordpress.org) cannot work in a lab without internet. */
const inLab = (url: string) => /^https?:\/\/10\.77\.[01]\.\d+(?::\d+)?\//.test(url);

/** Byte sizes of each node's PHP logs, to read only what a test added. */
async function logSizes(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const n of NODE_NAMES)
        out[n] = await onHost(n, `for f in ${PHP_LOGS}; do [ -f "$f" ] && echo "$f $(stat -c %s "$f")"; done; true`);
    return out;
}

/** PHP problems logged on any node since `since` (from logSizes). */
async function newPhpProblems(since: Record<string, string>): Promise<string[]> {
    const found: string[] = [];
    for (const n of NODE_NAMES) {
        const start = Object.fromEntries(
            since[n]
                .trim()
                .split("\n")
                .filter(Boolean)
                .map(l => l.split(" ")),
        );
        const files = (await onHost(n, `ls ${PHP_LOGS} 2>/dev/null; true`)).trim().split("\n").filter(Boolean);
        for (const f of files) {
            const from = Number(start[f] ?? 0) + 1;
            const added = await onHost(n, `tail -c +${from} ${f}`);
            found.push(
                ...added
                    .split("\n")
                    .filter(l => PHP_LOG_PROBLEM.test(l))
                    .filter(l => {
                        if (!NO_INTERNET_WARNING.test(l)) return true;
                        console.log(
                            `      browser: ${n}: WordPress.org unreachable from the lab (no internet), not counted`,
                        );
                        return false;
                    })
                    .map(l => `${n} ${f}: ${l}`),
            );
        }
    }
    return found;
}

/** curl from this machine's own network namespace (where a person's browser runs), never from inside the lab. */
async function curlHere(args: string[]): Promise<string> {
    const r = await run("curl", ["-s", "-m", "20", ...args], { timeoutMs: 40_000 });
    return r.stdout;
}

describe("lab: the site in a browser (Chromium through the load balancer; up's URL on this machine)", function () {
    this.timeout(300_000);
    let secrets: StackSecrets;
    let b: LabBrowser | undefined;
    let forward: ForwardRecord;
    let marks: Record<string, string>;
    const png = solidPng(64, 48, [crypto.randomInt(256), crypto.randomInt(256), crypto.randomInt(256)]);
    const pngName = `lab-browser-${Date.now()}.png`;
    let post: { id: number; imagePath: string } | undefined;

    before(async function () {
        this.timeout(900_000);
        requireRoot();
        // Screenshots of an earlier run would pass for this run's.
        fs.rmSync(ARTIFACTS, { recursive: true, force: true });
        await destroyLab();
        const up = await stackUp();
        assertPlanOk(up.report, "the stack plan");
        secrets = up.secrets;
        forward = await ensureForwarder();
        marks = await logSizes();
        b = await launchLabBrowser();
    });

    afterEach(async function () {
        if (this.currentTest?.state === "failed" && b) {
            const file = await screenshot(b.page, `failed-${this.currentTest.fullTitle()}`).catch(e => `(none: ${e})`);
            console.log(`      browser: screenshot of the failed test's page: ${file}`);
        }
    });

    after(async function () {
        this.timeout(120_000);
        if (b) {
            const file = await screenshot(b.page, "last-page").catch(e => `(none: ${e})`);
            console.log(`      browser: the last page's screenshot: ${file}`);
            await b.close();
        }
        const fp = footprint();
        await destroyLab();
        assert.deepStrictEqual(await leftovers(fp), []);
    });

    /** The browser's failed requests to the lab's own addresses since the last clearLog. */
    function failedInLab(): string[] {
        return b!.bad.filter(r => inLab(r.url)).map(r => `${r.problem} ${r.url}`);
    }

    it("logs in to wp-admin; the dashboard loads without PHP warnings and without failed requests", async () => {
        const page = b!.page;
        b!.clearLog();
        await page.goto(`${SITE_URL}/wp-login.php`);
        // wp-login.php moves the focus to the user field 200 ms after it loads: a fill of the password before
        // that typed it into the user field (seen in a clean-clone run). Wait for that focus, then check both.
        await page
            .waitForFunction("document.activeElement?.id === 'user_login'", undefined, { timeout: 5_000 })
            .catch(() => undefined);
        await page.fill("#user_login", LAB_SITE.adminUser);
        await page.fill("#user_pass", secrets.adminPassword);
        assert.strictEqual(await page.inputValue("#user_login"), LAB_SITE.adminUser, "the user field");
        assert.ok((await page.inputValue("#user_pass")) === secrets.adminPassword, "the password field");
        // The first dashboard after a login runs WordPress's update checks, which wait out api.wordpress.org in a
        // lab without internet: the click's navigation may take longer than playwright's 30 s default.
        await Promise.all([
            page.waitForURL(/\/wp-admin\/$/, { timeout: 120_000 }),
            page.click("#wp-submit", { timeout: 120_000 }),
        ]);
        await page.waitForLoadState("networkidle", { timeout: 60_000 }).catch(() => undefined);
        assert.match(await page.title(), /Dashboard/);
        const html = await page.content();
        assert.doesNotMatch(html, PHP_PROBLEM, "PHP problem printed in the dashboard");
        assert.deepStrictEqual(failedInLab(), [], "failed requests while loading the dashboard");
        const outside = b!.bad.filter(r => !inLab(r.url));
        if (outside.length)
            console.log(
                `      browser: outside the lab (no internet there): ${outside.map(r => `${r.problem} ${r.url}`).join(", ")}`,
            );
        assert.ok(
            b!.responses.some(r => /\/wp-admin\/$/.test(r.url) && r.status === 200),
            "the dashboard itself answered 200",
        );
        assert.deepStrictEqual(await newPhpProblems(marks), [], "PHP problems in the nodes' logs");
    });

    it("uploads an image in the media library", async () => {
        const page = b!.page;
        b!.clearLog();
        // The media library's own form (media-new.php's browser uploader: a file input and a submit button).
        await page.goto(`${SITE_URL}/wp-admin/media-new.php?browser-uploader`);
        await page.setInputFiles("#async-upload", { name: pngName, mimeType: "image/png", buffer: png });
        await Promise.all([
            page.waitForURL(/\/wp-admin\/upload\.php/, { timeout: 60_000 }),
            page.click("#html-upload"),
        ]);
        assert.deepStrictEqual(failedInLab(), [], "failed requests while uploading");
        const media = await page.evaluate(async (name: string) => {
            const r = await fetch(`/?rest_route=/wp/v2/media&search=${encodeURIComponent(name.replace(/\.png$/, ""))}`);
            return { status: r.status, body: (await r.json()) as { id: number; source_url: string }[] };
        }, pngName);
        assert.strictEqual(media.status, 200);
        assert.strictEqual(media.body.length, 1, `one attachment named ${pngName}: ${JSON.stringify(media.body)}`);
        post = { id: media.body[0].id, imagePath: new URL(media.body[0].source_url).pathname };
        assert.match(post.imagePath, /^\/wp-content\/uploads\/.*\.png$/);
    });

    it("publishes a post with the image", async () => {
        assert.ok(post, "the upload test ran");
        const page = b!.page;
        b!.clearLog();
        await page.goto(`${SITE_URL}/wp-admin/post-new.php`);
        await page.waitForFunction(
            () => {
                const w = globalThis as unknown as {
                    wp?: { data?: { select(s: string): { getCurrentPostId(): number } } };
                };
                return !!w.wp?.data?.select("core/editor")?.getCurrentPostId();
            },
            undefined,
            { timeout: 120_000 },
        );
        // The block editor's own store and save (its REST request with the session's nonce), as its Publish button does.
        const saved = await page.evaluate(
            async ({ id, url }) => {
                type Editor = {
                    getCurrentPost(): { id: number; status: string; link: string };
                    isSavingPost(): boolean;
                };
                const wp = (
                    globalThis as unknown as {
                        wp: {
                            data: {
                                select(s: string): Editor;
                                dispatch(s: string): {
                                    editPost(e: object): void;
                                    savePost(): Promise<void>;
                                };
                            };
                        };
                    }
                ).wp;
                const content =
                    `<!-- wp:paragraph --><p>Posted by the lab's browser test.</p><!-- /wp:paragraph -->\n` +
                    `<!-- wp:image {"id":${id}} --><figure class="wp-block-image"><img src="${url}" alt="lab test image" ` +
                    `class="wp-image-${id}"/></figure><!-- /wp:image -->`;
                wp.data
                    .dispatch("core/editor")
                    .editPost({ title: "A post from the browser test", content, status: "publish" });
                await wp.data.dispatch("core/editor").savePost();
                return wp.data.select("core/editor").getCurrentPost();
            },
            { id: post!.id, url: `${SITE_URL}${post!.imagePath}` },
        );
        assert.strictEqual(saved.status, "publish", JSON.stringify(saved));
        post = { ...post!, id: saved.id };
        assert.deepStrictEqual(failedInLab(), [], "failed requests in the editor");
    });

    for (const [i, base] of [...NODE_URLS, SITE_URL].entries()) {
        const where = i < NODE_URLS.length ? `node-gfs${i + 1} directly (${base})` : `the load balancer (${base})`;
        it(`the post and its image load from ${where}`, async () => {
            assert.ok(post, "the publish test ran");
            const page = b!.page;
            b!.clearLog();
            const r = await page.goto(`${base}/?p=${post!.id}`);
            assert.strictEqual(r?.status(), 200);
            await page.waitForLoadState("networkidle", { timeout: 60_000 }).catch(() => undefined);
            assert.match(await page.content(), /A post from the browser test/);
            await page.locator("figure.wp-block-image img").first().waitFor({ timeout: 30_000 });
            assert.ok(
                await page.evaluate(() => {
                    type Img = { complete: boolean; naturalWidth: number };
                    const d = (globalThis as unknown as { document: { images: ArrayLike<Img> } }).document;
                    return Array.from(d.images).some(i => i.complete && i.naturalWidth === 64);
                }),
                "the 64 px image rendered",
            );
            const stem = post!.imagePath.replace(/\.png$/, "");
            const imageAnswers = b!.responses.filter(x => new URL(x.url).pathname.startsWith(stem));
            assert.ok(imageAnswers.length > 0, "the page requested the image");
            assert.deepStrictEqual(
                imageAnswers.filter(x => x.status !== 200),
                [],
                "image requests that did not answer 200",
            );
            assert.deepStrictEqual(failedInLab(), [], "failed requests on the post's page");
            // The post's image as this very address serves it (the page's src is the address it was uploaded through).
            const direct = await page.goto(`${base}${post!.imagePath}`);
            assert.strictEqual(direct?.status(), 200);
            assert.strictEqual(direct?.headers()["content-type"], "image/png");
            assert.ok((await direct!.body()).equals(png), `${base}${post!.imagePath} is the uploaded file`);
            await page.goto(`${base}/?p=${post!.id}`);
        });
    }

    it("up's URL opens from this machine through a loopback forward, links and redirects stay on it", async () => {
        const url = forwardUrl(forward);
        assert.match(url, /^http:\/\/127\.\d+\.\d+\.\d+\/$/);
        // Started once: `up` again finds the same process.
        assert.strictEqual((await ensureForwarder()).process.pid, forward.process.pid);
        const listen = (await run("ss", ["-Hltn", `sport = :${forward.port}`])).stdout.trim().split("\n");
        assert.deepStrictEqual(
            listen.map(l => l.split(/\s+/)[3]),
            [`${forward.address}:${forward.port}`],
            "bound to loopback only",
        );
        const home = await curlHere(["-w", "\n%{http_code}", url]);
        assert.match(home, /\n200$/);
        assert.match(home, /<title>HA WordPress \(lab\)/);
        assert.ok(home.includes(`href="${url}`), "WordPress's links use the forwarded URL");
        const login = await curlHere([
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
            "-b",
            "wordpress_test_cookie=WP%20Cookie%20check",
            "--data-urlencode",
            `log=${LAB_SITE.adminUser}`,
            "--data-urlencode",
            `pwd=${secrets.adminPassword}`,
            "-d",
            "testcookie=1",
            `${url}wp-login.php`,
        ]);
        assert.strictEqual(login, `302 ${url}wp-admin/`);
    });

    it("up's URL keeps working with a node powered off (the forward goes through the balancer)", async () => {
        const url = forwardUrl(forward);
        const victim = getHost(NODE_NAMES[0]);
        assert.ok(victim);
        // A clean shutdown: this is about the forward following the balancer, not about GlusterFS's ping-timeout
        // after a power cut (the surviving nodes' first file access can stall then; boot-ha.test.ts covers that).
        await powerOff(victim);
        const lb = getHost(LB_HOST.name)!;
        await waitFor(
            "the balancer to take the powered-off node out",
            async () => !(await healthyBackends(lb)).includes(GLUSTER_HOSTS[0].ip),
            60_000,
            500,
        );
        const status = (u: string) => curlHere(["-o", "/dev/null", "-w", "%{http_code}", u]);
        await waitFor(
            `${url} to answer 200 with ${NODE_NAMES[0]} off`,
            async () => (await status(url)) === "200",
            120_000,
            1_000,
        );
        const codes: string[] = [];
        for (let i = 0; i < 12; i++) codes.push(await status(`${url}?n=${i}`));
        assert.deepStrictEqual(codes, Array(12).fill("200"));
        assert.strictEqual(await status(`${url}wp-login.php`), "200");
        // Inside the lab the balancer's own address still answers too.
        const inside = await control([
            "curl",
            "-s",
            "-m",
            "10",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            `${SITE_URL}/`,
        ]);
        assert.strictEqual(inside.stdout, "200");
    });

    it("`down`'s first step stops the forward by its recorded pid and frees the port", async () => {
        const rec = stopForwarder();
        assert.strictEqual(rec?.process.pid, forward.process.pid);
        await waitFor(
            "the forward's port to close",
            async () => !(await portAnswers(forward.address, forward.port)),
            10_000,
            100,
        );
        assert.strictEqual(readForwardRecord(), undefined);
    });
});
