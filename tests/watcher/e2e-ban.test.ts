// End to end on real parts: a server host (own network and mount namespace) runs Varnish -> Nginx -> PHP-FPM from
// scripts/web/, sshd, and jailwatch (the built binary, shipped config, nftables action); clients in their own
// namespaces attack and browse over a bridge. Subnet 10.78.0.0/24, work dir /tmp/jw-e2e.

import * as assert from "assert";
import { ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { connect, createNamespace, Namespace, run, stopAll, stopProcess, tryRun, waitFor } from "./e2e/netns";
import { jailwatchCommand, prepareServerFiles, Services, startJailwatch, startWebStack } from "./e2e/stack";

const WORK = "/tmp/jw-e2e";
const SERVER = "10.78.0.1";
const ATTACKER = "10.78.0.11";
const BYSTANDER = "10.78.0.12";
const FORGER = "10.78.0.13";
const FORGED = "10.78.0.200";
const JAIL = "nginx-wp-xmlrpc";

describe("e2e: xmlrpc flood banned in nftables through Varnish -> Nginx -> PHP-FPM", function () {
    this.timeout(180_000);
    let srv: Namespace;
    let attacker: Namespace;
    let bystander: Namespace;
    let forger: Namespace;
    let services: Services;
    let jailwatch: ChildProcess;

    const client = (args: string[]) => [...jailwatchCommand(), "client", "-s", path.join(WORK, "jw.sock"), ...args];
    const jwClient = (...args: string[]) => run(srv, client(args));
    const banned = () =>
        jwClient("status", JAIL)
            .match(/Banned IP list:\t(.*)$/m)![1]
            .split(" ")
            .filter(x => x);
    const nftSet = () => run(srv, ["nft", "list", "set", "inet", "jailwatch", `${JAIL}.v4`]);

    /** POSTs to xmlrpc.php `n` times from `ns`; returns the status codes. */
    const flood = (ns: Namespace, n: number, headers: string[] = []) => {
        const r = tryRun(ns, [
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}\\n",
            "--connect-timeout",
            "3",
            "-X",
            "POST",
            "-d",
            "<methodCall/>",
            ...headers.flatMap(h => ["-H", h]),
            `http://${SERVER}/xmlrpc.php?n=[1-${n}]`,
        ]);
        return r.stdout.trim().split("\n");
    };
    /** One GET: the status code, or "timeout" when the connection gets no answer. */
    const get = (ns: Namespace) => {
        const r = tryRun(ns, [
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--connect-timeout",
            "2",
            "--max-time",
            "5",
            `http://${SERVER}/`,
        ]);
        if (r.status === 28) return "timeout";
        return r.status === 0 ? r.stdout : `curl exit ${r.status}`;
    };
    const ssh = (ns: Namespace) =>
        tryRun(ns, [
            "ssh",
            "-F",
            "/dev/null",
            "-i",
            path.join(WORK, "client_key"),
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=5",
            "-o",
            "LogLevel=ERROR",
            `root@${SERVER}`,
            "echo",
            "ssh-ok",
        ]).stdout.trim();
    const waitBanned = (ip: string) => waitFor(`${ip} banned`, () => banned().includes(ip));
    const startJw = async () => {
        jailwatch = startJailwatch(srv, WORK);
        await waitFor("jailwatch control socket", () => tryRun(srv, client(["ping"])).stdout.includes("pong"));
    };

    before(async function () {
        assert.strictEqual(process.getuid?.(), 0, "the end-to-end test needs root (namespaces, nftables)");
        fs.rmSync(WORK, { recursive: true, force: true });
        fs.mkdirSync(WORK, { recursive: true, mode: 0o700 });
        srv = createNamespace(true);
        attacker = createNamespace(false);
        bystander = createNamespace(false);
        forger = createNamespace(false);
        run(srv, ["ip", "link", "add", "br0", "type", "bridge"]);
        run(srv, ["ip", "addr", "add", `${SERVER}/24`, "dev", "br0"]);
        run(srv, ["ip", "link", "set", "br0", "up"]);
        connect(srv, attacker, "vatt", `${ATTACKER}/24`);
        connect(srv, bystander, "vbys", `${BYSTANDER}/24`);
        connect(srv, forger, "vfor", `${FORGER}/24`);
        prepareServerFiles(srv, WORK);
        services = startWebStack(srv, WORK, SERVER);
        await startJw();
        // varnishd compiles the VCL with cc first: slow on a busy machine.
        let last = "";
        await waitFor("the site through Varnish", () => (last = get(bystander)) === "200", 90_000).catch(e => {
            const tail = (f: string) =>
                fs.existsSync(path.join(WORK, f))
                    ? fs.readFileSync(path.join(WORK, f), "utf8").split("\n").slice(-15).join("\n")
                    : "";
            throw new Error(
                `${(e as Error).message} (last answer: ${last})\n--- varnish\n${tail("varnish.out")}\n--- nginx\n${tail("nginx.out")}${tail("nginx-error.log")}\n--- php-fpm\n${tail("php-fpm.log")}`,
            );
        });
    });

    afterEach(function () {
        if (this.currentTest?.state === "failed") {
            const out = path.join(WORK, "jailwatch.out");
            if (fs.existsSync(out))
                process.stderr.write(
                    `--- jailwatch log (tail)\n${fs.readFileSync(out, "utf8").split("\n").slice(-40).join("\n")}\n`,
                );
        }
    });

    after(async () => {
        await stopAll();
        fs.rmSync(WORK, { recursive: true, force: true });
    });

    it("serves every client and answers SSH before any attack", () => {
        assert.strictEqual(get(attacker), "200");
        assert.strictEqual(ssh(attacker), "ssh-ok");
        assert.deepStrictEqual(banned(), []);
    });

    it("bans after 20 POSTs to xmlrpc.php: port 80 goes silent for the attacker only, SSH still works", async () => {
        assert.deepStrictEqual(flood(attacker, 19), Array(19).fill("200"));
        await new Promise(r => setTimeout(r, 300));
        assert.deepStrictEqual(banned(), [], "19 POSTs are not enough");
        flood(attacker, 1);
        await waitBanned(ATTACKER);
        // The ban runs from the 20th line's time (whole seconds), so a slow machine may show a second or two less.
        assert.match(
            nftSet(),
            new RegExp(`elements = \\{ ${ATTACKER.replace(/\./g, "\\.")} timeout (12h|11h59m5\\ds)`),
        );
        assert.strictEqual(get(attacker), "timeout");
        assert.strictEqual(ssh(attacker), "ssh-ok");
        assert.strictEqual(get(bystander), "200");
        assert.match(jwClient("status", JAIL), /Currently banned:\t1\n/);
    });

    it("keeps the ban across a jailwatch restart", async () => {
        await stopProcess(jailwatch);
        assert.match(nftSet(), new RegExp(ATTACKER.replace(/\./g, "\\.")), "stopping does not unban");
        assert.strictEqual(get(attacker), "timeout");
        await startJw();
        assert.deepStrictEqual(banned(), [ATTACKER]);
        assert.strictEqual(get(attacker), "timeout");
    });

    it("unbanip restores access", async () => {
        assert.strictEqual(jwClient("set", JAIL, "unbanip", ATTACKER).trim(), "1");
        assert.ok(!nftSet().includes(ATTACKER));
        assert.strictEqual(get(attacker), "200");
    });

    it("loses no count when the access log is rotated in the middle of an attack", async () => {
        assert.deepStrictEqual(flood(attacker, 10), Array(10).fill("200"));
        run(srv, ["mv", "/var/log/nginx/access.log", "/var/log/nginx/access.log.1"]);
        flood(attacker, 5); // Nginx still writes to the renamed file until it reopens its logs
        process.kill(services.nginx.pid!, "SIGUSR1");
        await waitFor(
            "Nginx to reopen its log",
            () => tryRun(srv, ["test", "-e", "/var/log/nginx/access.log"]).status === 0,
        );
        assert.deepStrictEqual(banned(), []);
        flood(attacker, 5);
        await waitBanned(ATTACKER);
        assert.strictEqual(get(attacker), "timeout");
        // The new file holds only the last 5 POSTs: the ban needed the 15 counted before and across the rotation.
        assert.strictEqual(run(srv, ["grep", "-c", "xmlrpc", "/var/log/nginx/access.log"]).trim(), "5");
    });

    it("bans a client forging X-Forwarded-For by its real address, never the forged one", async () => {
        assert.deepStrictEqual(flood(forger, 20, [`X-Forwarded-For: ${FORGED}`]), Array(20).fill("200"));
        await waitBanned(FORGER);
        assert.ok(!banned().includes(FORGED));
        assert.ok(!nftSet().includes(FORGED));
        assert.match(
            run(srv, ["tail", "-n", "1", "/var/log/nginx/access.log"]).trim(),
            new RegExp(`"${FORGED}, ${FORGER}"$`),
        );
        assert.strictEqual(get(forger), "timeout");
        assert.strictEqual(get(bystander), "200");
    });

    it("`stop --unban` removes our table and lifts every ban; plain stops never do", async () => {
        const exited = new Promise(r => jailwatch.once("exit", r));
        assert.strictEqual(jwClient("stop", "--unban").trim(), "Shutdown successful");
        await exited;
        assert.doesNotMatch(run(srv, ["nft", "list", "tables"]), /jailwatch/);
        assert.strictEqual(get(forger), "200");
        assert.strictEqual(get(attacker), "200");
    });
});
