// A real browser for the lab tests: Debian's Chromium (never a downloaded one), headless, driven over the Chrome
// DevTools Protocol by playwright-core, running inside the lab's control namespace as an unprivileged user (see
// chromium.sh), with every response and failed request of its pages kept for the test to judge.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BrowserContext, Page, Request, chromium } from "playwright-core";
import { readControlRecord } from "../../lab/state";

export const CHROMIUM = "/usr/bin/chromium";
const WRAPPER = path.join(__dirname, "chromium.sh");
/** Where screenshots go (gitignored): the last page always, and one per failed test. */
export const ARTIFACTS = path.join(__dirname, "..", "..", "test-artifacts", "browser");
/** The unprivileged user Chromium runs as, so its sandbox stays on. */
const BROWSER_USER = "nobody";

/** One request the page made that did not end in a 2xx/3xx answer. */
export interface BadRequest {
    url: string;
    /** HTTP status, or the network error (e.g. net::ERR_CONNECTION_REFUSED). */
    problem: string;
}

export interface LabBrowser {
    context: BrowserContext;
    page: Page;
    /** Every response seen: URL and status. */
    responses: { url: string; status: number }[];
    /** 4xx/5xx answers and failed requests of the requests made since the last `clearLog`. */
    bad: BadRequest[];
    clearLog(): void;
    close(): Promise<void>;
}

/** Starts Chromium in the control namespace of the current lab (HA_LAB_DIR) and opens one page. */
export async function launchLabBrowser(): Promise<LabBrowser> {
    if (!fs.existsSync(CHROMIUM))
        throw new Error(`${CHROMIUM} not found: install Debian's chromium (scripts/install/packages.txt)`);
    const ctl = readControlRecord();
    if (!ctl) throw new Error("the lab's control namespace is not running");
    // A home and profile the unprivileged user owns; removed on close.
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "halab-browser-"));
    const profile = path.join(home, "profile");
    fs.mkdirSync(profile);
    const { uid, gid } = userIds(BROWSER_USER);
    for (const d of [home, profile]) fs.chownSync(d, uid, gid);
    const context = await chromium.launchPersistentContext(profile, {
        executablePath: WRAPPER,
        headless: true,
        chromiumSandbox: true,
        env: { ...process.env, LAB_CONTROL_PID: String(ctl.init.pid), BROWSER_HOME: home, BROWSER_USER },
        viewport: { width: 1280, height: 900 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    // Each request belongs to the log generation it started in: a request of the page before (aborted when the
    // test navigates away) is not a failure of the page after.
    let generation = 0;
    const born = new WeakMap<Request, number>();
    const current = (r: Request) => born.get(r) === generation;
    const b: LabBrowser = {
        context,
        page,
        responses: [],
        bad: [],
        clearLog() {
            generation++;
            b.bad.length = 0;
            b.responses.length = 0;
        },
        async close() {
            await context.close();
            fs.rmSync(home, { recursive: true, force: true });
        },
    };
    context.on("request", r => born.set(r, generation));
    context.on("response", r => {
        if (!current(r.request())) return;
        b.responses.push({ url: r.url(), status: r.status() });
        if (r.status() >= 400) b.bad.push({ url: r.url(), problem: `HTTP ${r.status()}` });
    });
    context.on("requestfailed", r => {
        if (current(r)) b.bad.push({ url: r.url(), problem: r.failure()?.errorText ?? "failed" });
    });
    return b;
}

function userIds(name: string): { uid: number; gid: number } {
    const line = fs
        .readFileSync("/etc/passwd", "utf8")
        .split("\n")
        .find(l => l.startsWith(`${name}:`));
    if (!line) throw new Error(`no user ${name} in /etc/passwd for the browser to run as`);
    const f = line.split(":");
    return { uid: Number(f[2]), gid: Number(f[3]) };
}

/** Saves a full-page screenshot under ARTIFACTS and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, `${name.replace(/[^A-Za-z0-9._-]+/g, "-").slice(0, 120)}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
}

/** PHP's own words for a problem, as display_errors prints them into a page ("Warning: ..." / "<b>Warning</b>:"). */
export const PHP_PROBLEM = /\b(?:PHP )?(?:Warning|Notice|Deprecated|Fatal error|Parse error)(?:<\/b>)?:/;
