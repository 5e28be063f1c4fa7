// jailwatch's Prometheus endpoint and shared failure counting on the booted stack: the endpoint is turned on by the
// jail's configuration step (metricsListen), scraped on every node during an xmlrpc.php flood sent from one client
// through the load balancer, and the client is banned on every node after about 20 requests to the site (not the
// ~60 per-node counting needs), because the nodes count each other's failures.
import * as assert from "assert";
import { destroyLab, exec, getHost } from "../../lab/hosts";
import {
    CLIENT_HOSTS,
    NODE_NAMES,
    SITE_URL,
    StackSecrets,
    labStackPlan,
    publishBinary,
    stackUp,
} from "../../lab/stack";
import { runPlan } from "../../lab/runner";
import { GLUSTER_HOSTS } from "../../lab/glusterLab";
import { SEED_XMLRPC_JAIL } from "../../components/fail2banPlan";
import { assertPlanOk, footprint, leftovers, onHost, requireRoot, waitFor } from "./helpers/lab";

const JAIL = "nginx-wp-xmlrpc";
const METRICS = "127.0.0.1:9539";
const C1 = CLIENT_HOSTS[0].name;
const C1_IP = CLIENT_HOSTS[0].ip;
/** The flood is bounded: far fewer than the ~60 requests per-node counting would let through. */
const MAX_REQUESTS = 40;

/** One scrape of a node's endpoint (from the node itself: the endpoint is on loopback), as name{labels} -> value. */
async function scrape(node: string): Promise<Map<string, number>> {
    const text = await onHost(node, `curl -s -m 5 http://${METRICS}/metrics`);
    const out = new Map<string, number>();
    for (const line of text.split("\n")) {
        if (line === "" || line.startsWith("#")) continue;
        const m = /^(\S+?) (\S+)$/.exec(line);
        assert.ok(m, `${node}: not a sample line: ${line}`);
        out.set(m[1], Number(m[2]));
    }
    assert.ok(out.size > 0, `${node}: empty scrape`);
    return out;
}
const metric = (m: Map<string, number>, name: string, labels = `jail="${JAIL}"`) =>
    m.get(labels ? `${name}{${labels}}` : name) ?? NaN;

async function banned(node: string): Promise<string[]> {
    const out = await onHost(node, `jailwatch client status ${JAIL}`);
    const line = out.split("\n").find(l => l.includes("Banned IP list")) ?? "";
    return line.split(":").slice(1).join(":").trim().split(/\s+/).filter(Boolean);
}

/** xmlrpc.php POSTs from the client that reached Nginx on a node (its access log, where the jail reads them). */
async function reached(node: string): Promise<number> {
    const out = await onHost(
        node,
        `grep -c 'POST /xmlrpc.php.*"${C1_IP.replace(/\./g, "\\.")}"$' /var/log/nginx/access.log || true`,
    );
    return Number(out.trim() || "0");
}

describe("lab: jailwatch metrics and cluster-wide failure counting during an xmlrpc.php flood", function () {
    this.timeout(300_000);
    let secrets: StackSecrets;

    before(async function () {
        this.timeout(900_000);
        requireRoot();
        await destroyLab();
        const up = await stackUp();
        assertPlanOk(up.report, "the stack");
        secrets = up.secrets;
        // The jail's configuration step turns the endpoint on (and restarts the daemon with it).
        const hosts = Object.fromEntries(NODE_NAMES.map(n => [n, getHost(n)!]));
        const plan = labStackPlan(secrets, await publishBinary(), undefined, { metricsListen: METRICS });
        const report = await runPlan(plan, hosts, { select: s => s.id.startsWith("jailwatch-") });
        assertPlanOk(report, "jailwatch with metricsListen");
    });

    after(async function () {
        this.timeout(120_000);
        const fp = footprint();
        await destroyLab();
        assert.deepStrictEqual(await leftovers(fp), []);
    });

    it("the endpoint listens on loopback only, on every node, with shared failures on", async () => {
        for (const n of NODE_NAMES) {
            assert.match(
                await onHost(n, "cat /etc/jailwatch/jailwatch.local"),
                /^metricslisten = 127\.0\.0\.1:9539$/m,
                n,
            );
            await waitFor(
                `${n}: metrics endpoint`,
                async () =>
                    (
                        await exec(getHost(n)!, [
                            "curl",
                            "-s",
                            "-m",
                            "2",
                            "-o",
                            "/dev/null",
                            "-w",
                            "%{http_code}",
                            `http://${METRICS}/metrics`,
                        ])
                    ).stdout === "200",
                30_000,
                200,
            );
            const listening = await onHost(n, "ss -ltnH 'sport = :9539'");
            assert.match(listening, /127\.0\.0\.1:9539/, n);
            assert.doesNotMatch(listening, /0\.0\.0\.0:9539|\*:9539/, `${n}: bound beyond loopback`);
        }
        // From another node (the nodes' own network): refused.
        const ip2 = GLUSTER_HOSTS.find(h => h.name === NODE_NAMES[1])!.ip;
        const r = await exec(getHost(NODE_NAMES[0])!, [
            "curl",
            "-s",
            "-m",
            "3",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            `http://${ip2}:9539/metrics`,
        ]);
        assert.strictEqual(r.stdout.trim() || "000", "000");
    });

    it("a flood from one client through the load balancer: counters move on every node, banned everywhere after ~20 requests", async () => {
        const before = await Promise.all(NODE_NAMES.map(scrape));
        const reachedBefore = await Promise.all(NODE_NAMES.map(reached));
        let sent = 0;
        let midway: Map<string, number>[] = [];
        const codes: string[] = [];
        for (; sent < MAX_REQUESTS; sent++) {
            const r = await exec(
                getHost(C1)!,
                [
                    "curl",
                    "-s",
                    "-m",
                    "5",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                    "-X",
                    "POST",
                    "-d",
                    "<methodCall/>",
                    `${SITE_URL}/xmlrpc.php`,
                ],
                { timeoutMs: 30_000 },
            );
            codes.push(`${new Date().toISOString().slice(11, 23)} ${r.stdout.trim() || "000"}`);
            if (sent === 9) midway = await Promise.all(NODE_NAMES.map(scrape)); // during the attack
            if ((r.stdout.trim() || "000") === "000" && (await banned(NODE_NAMES[0])).includes(C1_IP)) break;
        }
        for (const n of NODE_NAMES)
            await waitFor(`${C1_IP} banned on ${n}`, async () => (await banned(n)).includes(C1_IP), 30_000, 200);
        const after = await Promise.all(NODE_NAMES.map(scrape));
        const reachedNow = await Promise.all(NODE_NAMES.map(reached));
        const perNode = reachedNow.map((x, i) => x - reachedBefore[i]);
        const total = perNode.reduce((a, b) => a + b, 0);
        const report = `requests sent ${sent + 1}, reached Nginx ${total} (${perNode.join("/")} per node)`;
        console.log(`      ${report}\n      answers: ${codes.join(", ")}`);
        // What each node counted and when it banned (shown before the verdicts, so a failure says why).
        for (const [i, n] of NODE_NAMES.entries()) {
            const d = (name: string, labels?: string) =>
                metric(after[i], name, labels) - metric(before[i], name, labels);
            console.log(
                `      ${n}: failures ${d("jailwatch_failures_total")}, peer failures ${d("jailwatch_peer_failures_total")}, ` +
                    `failure frames sent ${d("jailwatch_peer_messages_sent_total", 'type="failures"')} received ${d("jailwatch_peer_messages_received_total", 'type="failures"')}, ` +
                    `bans decided ${d("jailwatch_bans_total")}`,
            );
            console.log(
                (
                    await onHost(
                        n,
                        `journalctl -u jailwatch -o short-precise --no-pager | grep -F '${C1_IP}' | tail -n 3 || true`,
                    )
                ).replace(/^/gm, "        "),
            );
        }
        // The balancer spread them, and the cluster-wide count banned at the 20th request to the site (a few more
        // may slip in while the ban travels); per-node counting would have needed about 60.
        assert.ok(perNode.filter(x => x > 0).length >= 2, `spread over the nodes: ${report}`);
        assert.ok(total >= SEED_XMLRPC_JAIL.maxretry, `not banned before the 20th: ${report}`);
        assert.ok(total <= SEED_XMLRPC_JAIL.maxretry + 5, `banned after at most ~25 requests to the site: ${report}`);
        assert.ok(
            Math.max(...perNode) < SEED_XMLRPC_JAIL.maxretry,
            `no single node saw 20: the shared count decided: ${report}`,
        );

        // Scraped during the attack (after the 10th request): the counters were already moving.
        const sum = (ms: Map<string, number>[], name: string) => ms.reduce((x, m) => x + metric(m, name), 0);
        assert.ok(
            sum(midway, "jailwatch_lines_matched_total") > sum(before, "jailwatch_lines_matched_total"),
            "lines matched moved during the attack",
        );
        assert.ok(
            sum(midway, "jailwatch_failures_total") > sum(before, "jailwatch_failures_total"),
            "failures moved during the attack",
        );
        let failures = 0,
            peerFailures = 0,
            decided = 0;
        NODE_NAMES.forEach((n, i) => {
            const [b, a] = [before[i], after[i]];
            // The balancer decides which nodes see the flood; those that did read and matched its lines.
            if (perNode[i] > 0) {
                assert.ok(
                    metric(a, "jailwatch_lines_read_total") > metric(b, "jailwatch_lines_read_total"),
                    `${n}: lines read moved`,
                );
                assert.ok(
                    metric(a, "jailwatch_lines_matched_total") >=
                        metric(b, "jailwatch_lines_matched_total") + perNode[i],
                    `${n}: lines matched moved`,
                );
            }
            assert.ok(
                metric(a, "jailwatch_peer_failures_total") > metric(b, "jailwatch_peer_failures_total"),
                `${n}: counted the peers' failures`,
            );
            assert.ok(metric(a, "jailwatch_bans") >= 1, `${n}: ban in force`);
            assert.ok(
                metric(a, "jailwatch_peer_messages_received_total", 'type="failures"') >
                    metric(b, "jailwatch_peer_messages_received_total", 'type="failures"'),
                `${n}: failure frames received`,
            );
            assert.strictEqual(metric(a, "jailwatch_firewall_errors_total", ""), 0, `${n}: firewall errors`);
            assert.strictEqual(
                metric(a, "jailwatch_peer_messages_rejected_total", 'reason="bad_mac"'),
                0,
                `${n}: no refused frames between the nodes`,
            );
            failures += metric(a, "jailwatch_failures_total") - metric(b, "jailwatch_failures_total");
            peerFailures += metric(a, "jailwatch_peer_failures_total") - metric(b, "jailwatch_peer_failures_total");
            decided += metric(a, "jailwatch_bans_total") - metric(b, "jailwatch_bans_total");
        });
        assert.ok(failures >= SEED_XMLRPC_JAIL.maxretry, `failures counted across the nodes: ${failures} (${report})`);
        assert.ok(peerFailures > 0);
        assert.ok(decided >= 1, "a node decided the ban");
        console.log(`      failures ${failures}, peer failures counted ${peerFailures}, bans decided ${decided}`);
    });
});
