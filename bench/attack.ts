// `npm run bench -- --only=attack [--no-up] [--attack-seconds=45] [--attack-rate=2] [--sharefailures=auto|on|off]
// [--modes=none,fail2ban,jailwatch]`:
// the seed's attack end to end in the lab. 200 attacker addresses (10.77.1.30-230 but the balancer's .100, added to client2's public
// interface) flood xmlrpc.php with XML-RPC login guesses through the load balancer, open loop (each address starts a
// request every 1/rate s on a fresh connection, at most 4 of its own pending), while a visitor (client1) browses the
// site: a cached front page and an uncached search page, one request every 250 ms. Three runs, same flood:
//   none      no protection (jailwatch stopped, no ban set);
//   fail2ban  Debian's fail2ban 1.0.2 on every node with the seed's filter and jail, each node on its own;
//   jailwatch our watcher as deployed (shared bans), with failure sharing as --sharefailures says (auto: on when the
//             installed jailwatch knows `sharefailures`).
// Measured per run: the share of the visitor's requests that succeeded (200 within 5 s) and its p99 latency, the time
// from each attacker's 20th request to the moment it is banned on all three nodes (each node's kernel ban set read
// every 200 ms), and the attack requests that still reached PHP (Nginx log lines of xmlrpc.php POSTs: every one was
// handed to PHP-FPM; those with status 200 PHP answered). Target: jailwatch keeps >= 99% of the visitor's requests
// and bans every attacker everywhere within 2 s of its 20th request. At the end the lab is as before: attacker
// addresses removed, every ban lifted, jailwatch running as deployed.
import type { BenchContext, Check } from "./run";
import { LabHost, exec, sh } from "../lab/hosts";
import { CLIENT_HOSTS, NODE_NAMES } from "../lab/stack";
import { GLUSTER_HOSTS } from "../lab/glusterLab";
import { LB_PUBLIC_IP } from "../lab/balancer";
import { PUBLIC_SUBNET_PREFIX } from "../lab/state";
import { Sample } from "./labLoadGen";
import { fmtMs, labStack, load, machineNote, percentile, table } from "./labBench";

const JAIL = "nginx-wp-xmlrpc";
/**
 * 200 addresses on the public side that no lab host uses: .30-.230 without the balancer's .100 (an attacker holding
 * the site's own address talks to itself, never to the balancer). Clients are .21-.22, the control namespace .254.
 */
const ATTACKERS = Array.from({ length: 201 }, (_, i) => 30 + i)
    .filter(n => `${PUBLIC_SUBNET_PREFIX}${n}` !== LB_PUBLIC_IP)
    .map(n => `${PUBLIC_SUBNET_PREFIX}${n}`);
const MAXRETRY = 20;
const TARGET_SUCCESS = 0.99;
const TARGET_BAN_MS = 2000;
const LOG = "/var/log/nginx/access.log";
const OVERRIDE = "/etc/jailwatch/jail.d/99-bench-sharefailures.local";

// The seed's filter and jail, as its blog post has them (the post's HTML ate `<HOST>`; fail2ban-regex's output in
// the same post shows the regex it ran). The jail's `bantime` line keeps its `#` comment, as the seed had it.
const SEED_FILTER = `# the seed's filter (bench/attack.ts)
[Definition]
failregex = POST /xmlrpc.php HTTP/.*"<HOST>"$
ignoreregex =
`;
const SEED_JAIL = `[nginx-wp-xmlrpc]

enabled = true
logpath = /var/log/nginx/access.log
maxretry = 20
findtime = 120
bantime = 43200 # In secs. Or negative for permanent.
port = http,https
`;
// What this host needs beside the seed's files: nftables (no iptables in Debian 12's cloud image), the log polled or
// watched (Debian's default backend is the journal), the nodes never banned, Debian's sshd jail off (no sshd log).
const BENCH_LOCAL = `[DEFAULT]
banaction = nftables-multiport
backend = auto
ignoreip = 127.0.0.1/8 ::1 ${GLUSTER_HOSTS.map(h => h.ip).join(" ")}

[sshd]
enabled = false
`;

const XMLRPC_BODY =
    `<?xml version="1.0"?><methodCall><methodName>wp.getUsersBlogs</methodName><params>` +
    `<param><value><string>admin</string></value></param><param><value><string>letmein123</string></value></param></params></methodCall>`;

type Mode = "none" | "fail2ban" | "jailwatch";

interface RunResult {
    mode: Mode;
    legitOk: number;
    legitTotal: number;
    legitP99: number;
    attackSent: number;
    reachedPhp: number;
    answeredByPhp: number;
    /** Per attacker: ms from its 20th request to banned on every node (Infinity: not everywhere by the end). */
    banDelays: number[];
    notBanned: number;
    note: string;
}

function numArg(ctx: BenchContext, name: string, dflt: number): number {
    const a = ctx.args.find(x => x.startsWith(`--${name}=`));
    const v = a ? Number(a.slice(name.length + 3)) : dflt;
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
    return v;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

/** Every node without any ban or watcher: both stopped, their kernel tables, saved bans and the log they read gone. */
async function reset(nodes: LabHost[]): Promise<void> {
    await Promise.all(
        nodes.map(n =>
            sh(
                n,
                `systemctl stop jailwatch fail2ban 2>/dev/null || true
nft add table inet jailwatch && nft delete table inet jailwatch
nft add table inet f2b-table && nft delete table inet f2b-table
rm -rf /var/lib/jailwatch/* /var/lib/fail2ban/fail2ban.sqlite3 ${OVERRIDE}
# Rotated as logrotate does: both watchers read the lines within findtime at a first start, so the last run's flood
# would have every attacker banned before this run sends anything.
if [ -s ${LOG} ]; then mv ${LOG} ${LOG}.bench-previous && systemctl kill -s USR1 nginx; fi`,
                { timeoutMs: 60_000 },
            ),
        ),
    );
}

async function startFail2ban(nodes: LabHost[]): Promise<string> {
    await Promise.all(
        nodes.map(n =>
            sh(
                n,
                `set -e
echo ${b64(SEED_FILTER)} | base64 -d >/etc/fail2ban/filter.d/nginx-wp-xmlrpc.conf
echo ${b64(SEED_JAIL)} | base64 -d >/etc/fail2ban/jail.d/01-nginx-wp-xmlrpc.conf
echo ${b64(BENCH_LOCAL)} | base64 -d >/etc/fail2ban/jail.d/zz-ha-bench.local
systemctl start fail2ban
for i in $(seq 100); do fail2ban-client status ${JAIL} >/dev/null 2>&1 && exit 0; sleep 0.2; done
journalctl -u fail2ban -n 20 --no-pager >&2; exit 1`,
                { timeoutMs: 90_000 },
            ),
        ),
    );
    return (await sh(nodes[0], "fail2ban-client version")).trim();
}

/** Starts jailwatch as deployed, with failure sharing as asked; says whether it was on. */
async function startJailwatch(nodes: LabHost[], want: string): Promise<string> {
    const knows =
        (await exec(nodes[0], ["grep", "-c", "sharefailures", "/usr/local/bin/jailwatch"])).stdout.trim() !== "0";
    const deployedOn = async () =>
        (
            await exec(nodes[0], [
                "bash",
                "-c",
                `grep -rhiE '^\\s*sharefailures\\s*=\\s*(true|yes|on|1)\\b' /etc/jailwatch | grep -v '^#' | head -n1`,
            ])
        ).stdout.trim() !== "";
    let note: string;
    if (want === "on" || (want === "auto" && knows)) {
        if (!knows)
            note =
                "failure sharing asked for, but this jailwatch does not know `sharefailures`: OFF (shared bans only)";
        else {
            await Promise.all(
                nodes.map(n =>
                    sh(
                        n,
                        `printf '[${JAIL}]\\nsharefailures = true\\n' >${OVERRIDE} && jailwatch -t -c /etc/jailwatch >/dev/null`,
                    ),
                ),
            );
            note = "failure sharing ON (sharefailures = true)";
        }
    } else {
        note = (await deployedOn())
            ? "failure sharing ON (as deployed)"
            : `failure sharing OFF${knows ? "" : " (this jailwatch has no sharefailures)"}: shared bans only`;
    }
    await Promise.all(nodes.map(n => sh(n, "systemctl start jailwatch", { timeoutMs: 120_000 })));
    return note;
}

/** Reads each node's ban set every 200 ms for `seconds`; first time each address was seen, per node. */
async function watchBans(node: LabHost, mode: Mode, seconds: number): Promise<Map<string, number>> {
    const list =
        mode === "fail2ban" ? `nft list set inet f2b-table addr-set-${JAIL}` : `nft list set inet jailwatch ${JAIL}.v4`;
    const out = await sh(
        node,
        `end=$(( $(date +%s) + ${Math.ceil(seconds)} ))
while [ "$(date +%s)" -lt "$end" ]; do echo "T $(date +%s%3N)"; ${list} 2>/dev/null | grep -oE '10\\.77\\.1\\.[0-9]+' || true; sleep 0.2; done`,
        { timeoutMs: (seconds + 60) * 1000 },
    );
    const first = new Map<string, number>();
    let t = 0;
    for (const line of out.split("\n")) {
        if (line.startsWith("T ")) t = Number(line.slice(2));
        else if (line && !first.has(line)) first.set(line, t);
    }
    return first;
}

async function logOffsets(nodes: LabHost[]): Promise<number[]> {
    return Promise.all(nodes.map(async n => Number((await sh(n, `stat -c %s ${LOG} 2>/dev/null || echo 0`)).trim())));
}

async function phpCounts(nodes: LabHost[], offsets: number[]): Promise<{ reached: number; answered: number }> {
    const att = `"10\\.77\\.1\\.([3-9][0-9]|1[0-9][0-9]|2[0-3][0-9])"$`;
    const counts = await Promise.all(
        nodes.map((n, i) =>
            sh(
                n,
                `tail -c +${offsets[i] + 1} ${LOG} | grep -E 'POST /xmlrpc\\.php.*${att}' | awk '{ n++; if ($9 == 200) ok++ } END { print n+0, ok+0 }'`,
            ),
        ),
    );
    return counts.reduce(
        (acc, c) => {
            const [r, a] = c.trim().split(/\s+/).map(Number);
            return { reached: acc.reached + r, answered: acc.answered + a };
        },
        { reached: 0, answered: 0 },
    );
}

async function oneRun(
    mode: Mode,
    hosts: Record<string, LabHost>,
    nodes: LabHost[],
    opts: { seconds: number; rate: number; share: string },
): Promise<RunResult> {
    const visitor = hosts[CLIENT_HOSTS[0].name],
        botnet = hosts[CLIENT_HOSTS[1].name];
    await reset(nodes);
    let note = "no ban at all";
    if (mode === "fail2ban") note = `Debian's ${await startFail2ban(nodes)}, seed's filter and jail, one per node`;
    if (mode === "jailwatch") note = await startJailwatch(nodes, opts.share);
    console.log(
        `attack: run "${mode}": ${note}; ${ATTACKERS.length} addresses, ${opts.rate} req/s each for ${opts.seconds} s`,
    );
    const offsets = await logOffsets(nodes);
    const watchSeconds = opts.seconds + 12;
    const bans =
        mode === "none"
            ? Promise.resolve(nodes.map(() => new Map<string, number>()))
            : Promise.all(nodes.map(n => watchBans(n, mode, watchSeconds)));
    const legit = load<{ samples: Sample[] }>(visitor, {
        kind: "sequence",
        host: LB_PUBLIC_IP,
        rounds: 100_000,
        timeoutMs: 5000,
        deadlineMs: (opts.seconds + 4) * 1000,
        pauseMs: 250,
        reqs: [
            { path: "/", tag: "cached" },
            { path: `/?s=visitor-${mode}-@@N@@`, tag: "search" },
        ],
    });
    await new Promise(r => setTimeout(r, 2000));
    const flood = await load<{ perSource: Record<string, Array<[number, number, number]>> }>(botnet, {
        kind: "flood",
        host: LB_PUBLIC_IP,
        sources: ATTACKERS,
        perSource: Math.ceil(opts.seconds * opts.rate) + 1,
        intervalMs: Math.round(1000 / opts.rate),
        maxInFlight: 4,
        timeoutMs: 5000,
        deadlineMs: opts.seconds * 1000,
        req: { path: "/xmlrpc.php", method: "POST", body: XMLRPC_BODY, headers: { "Content-Type": "text/xml" } },
    });
    const visits = (await legit).samples;
    const seen = await bans;
    await new Promise(r => setTimeout(r, 3000)); // Nginx logs a request when it ends
    const php = await phpCounts(nodes, offsets);
    const banDelays: number[] = [];
    let notBanned = 0,
        attackSent = 0;
    for (const ip of ATTACKERS) {
        const reqs = flood.perSource[ip] ?? [];
        attackSent += reqs.length;
        if (mode === "none") continue;
        const everywhere = seen.every(m => m.has(ip)) ? Math.max(...seen.map(m => m.get(ip)!)) : Infinity;
        if (!Number.isFinite(everywhere)) notBanned++;
        const t20 = reqs[MAXRETRY - 1]?.[0];
        banDelays.push(
            t20 === undefined ? (Number.isFinite(everywhere) ? 0 : Infinity) : Math.max(0, everywhere - t20),
        );
    }
    const ok = visits.filter(s => s.status === 200);
    return {
        mode,
        legitOk: ok.length,
        legitTotal: visits.length,
        legitP99: percentile(
            visits.map(s => (s.status === 200 ? s.ms : 5000)),
            99,
        ),
        attackSent,
        reachedPhp: php.reached,
        answeredByPhp: php.answered,
        banDelays,
        notBanned,
        note,
    };
}

export async function run(ctx: BenchContext): Promise<Check[]> {
    const hosts = await labStack(ctx.args);
    const nodes = NODE_NAMES.map(n => hosts[n]);
    const botnet = hosts[CLIENT_HOSTS[1].name];
    const seconds = numArg(ctx, "attack-seconds", ctx.quick ? 20 : 45);
    const rate = numArg(ctx, "attack-rate", 2);
    const share = ctx.args.find(a => a.startsWith("--sharefailures="))?.slice(16) ?? "auto";
    if (!["auto", "on", "off"].includes(share)) throw new Error("--sharefailures must be auto, on or off");
    const modes = (ctx.args.find(a => a.startsWith("--modes="))?.slice(8) ?? "none,fail2ban,jailwatch").split(
        ",",
    ) as Mode[];
    for (const m of modes)
        if (!["none", "fail2ban", "jailwatch"].includes(m))
            throw new Error(`--modes: '${m}' is not one of none, fail2ban, jailwatch`);
    const note = await machineNote();
    console.log(`attack: lab on this machine: ${note}`);
    const dev = (
        await sh(
            botnet,
            `ip -o -4 addr show | awk '$4 ~ /^${CLIENT_HOSTS[1].ip.replace(/\./g, "\\.")}\\// { print $2 }'`,
        )
    ).trim();
    if (!dev) throw new Error(`no interface with ${CLIENT_HOSTS[1].ip} on ${botnet.name}`);
    await sh(botnet, ATTACKERS.map(ip => `ip addr replace ${ip}/24 dev ${dev}`).join("\n"));
    const results: RunResult[] = [];
    try {
        // Preflight: an added address must get answers through the balancer, or every figure below is meaningless.
        const probe = (
            await exec(
                botnet,
                [
                    "curl",
                    "-s",
                    "-m",
                    "10",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                    "--interface",
                    ATTACKERS[0],
                    `http://${LB_PUBLIC_IP}/`,
                ],
                { timeoutMs: 30_000 },
            )
        ).stdout.trim();
        if (probe !== "200") {
            throw new Error(
                `attack: a request from the added address ${ATTACKERS[0]} on ${botnet.name} got no answer through ${LB_PUBLIC_IP} ` +
                    `(HTTP ${probe || "none"}): the lab does not route the extra client addresses; no run made`,
            );
        }
        for (const mode of modes) results.push(await oneRun(mode, hosts, nodes, { seconds, rate, share }));
    } finally {
        await sh(botnet, ATTACKERS.map(ip => `ip addr del ${ip}/24 dev ${dev} 2>/dev/null || true`).join("\n"));
        await reset(nodes);
        await Promise.all(nodes.map(n => sh(n, "systemctl start jailwatch", { timeoutMs: 120_000 })));
    }
    const rows = results.map(r => {
        const finite = r.banDelays.filter(Number.isFinite);
        const ban =
            r.mode === "none"
                ? "-"
                : r.notBanned
                  ? `${r.notBanned} of ${ATTACKERS.length} never banned everywhere`
                  : `p50 ${fmtMs(percentile(finite, 50))}, worst ${fmtMs(Math.max(...finite))}`;
        return [
            r.mode,
            `${((100 * r.legitOk) / Math.max(1, r.legitTotal)).toFixed(1)}% (${r.legitOk}/${r.legitTotal})`,
            fmtMs(r.legitP99),
            ban,
            `${r.reachedPhp} (${r.answeredByPhp} answered) of ${r.attackSent} sent`,
        ];
    });
    console.log(
        `\nattack: ${ATTACKERS.length} addresses x ${rate} req/s for ${seconds} s through ${LB_PUBLIC_IP}; visitor 4 req/s (cached + uncached)`,
    );
    for (const r of results) console.log(`  ${r.mode}: ${r.note}`);
    console.log(
        table(
            [
                "run",
                "visitor requests ok",
                "visitor p99",
                `banned on all 3 nodes, after its ${MAXRETRY}th request`,
                "attack requests that reached PHP",
            ],
            rows,
        ),
    );
    const jw = results.find(r => r.mode === "jailwatch");
    const f2b = results.find(r => r.mode === "fail2ban");
    const none = results.find(r => r.mode === "none");
    if (!jw || !f2b)
        return [
            { name: "attack: verdicts need the fail2ban and jailwatch runs", pass: undefined, detail: modes.join(",") },
        ];
    const worst = (r: RunResult) => (r.notBanned ? Infinity : Math.max(...r.banDelays));
    const share100 = (r: RunResult) => r.legitOk / Math.max(1, r.legitTotal);
    return [
        {
            name: "attack: jailwatch keeps >= 99% of the visitor's requests",
            pass: share100(jw) >= TARGET_SUCCESS,
            detail: `${(100 * share100(jw)).toFixed(1)}% (fail2ban ${(100 * share100(f2b)).toFixed(1)}%, none ${none ? `${(100 * share100(none)).toFixed(1)}%` : "not run"}); ${jw.note}`,
        },
        {
            name: "attack: jailwatch bans every attacker on every node within 2 s of its 20th request",
            pass: worst(jw) <= TARGET_BAN_MS,
            detail: `worst ${Number.isFinite(worst(jw)) ? fmtMs(worst(jw)) : `${jw.notBanned} never banned everywhere`} (fail2ban: ${Number.isFinite(worst(f2b)) ? fmtMs(worst(f2b)) : `${f2b.notBanned} never banned everywhere`}); ${jw.note}`,
        },
        {
            name: "attack: attack requests that reached PHP",
            pass: undefined,
            detail: results.map(r => `${r.mode} ${r.reachedPhp}/${r.attackSent}`).join(", "),
        },
        { name: "attack: machine", pass: undefined, detail: note },
    ];
}
