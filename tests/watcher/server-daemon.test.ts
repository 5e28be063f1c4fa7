// The server in-process with the dummy backend: log -> ban -> state, restart, corrupt state, control commands, reload.

import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DummyAction } from "../../watcher/src/actions/dummy";
import { JailwatchServer } from "../../watcher/src/server/daemon";
import { silentLogger } from "../../watcher/src/server/log";
import { ServerOptions } from "../../watcher/src/server/options";

const JAIL = "nginx-wp-xmlrpc";

function line(ip: string, forged?: string): string {
    const d = new Date();
    const m = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][d.getUTCMonth()];
    const p = (n: number) => String(n).padStart(2, "0");
    const xff = forged ? `${forged}, ${ip}` : ip;
    return `127.0.0.1 - - [${p(d.getUTCDate())}/${m}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000] "POST /xmlrpc.php HTTP/1.1" 200 370 "-" "UA" "${xff}"\n`;
}

async function until(what: string, fn: () => boolean): Promise<void> {
    for (let i = 0; i < 500; i++) {
        if (fn()) return;
        await new Promise(r => setTimeout(r, 10));
    }
    throw new Error(`timed out waiting for ${what}`);
}

describe("server: in-process with the dummy backend", () => {
    let dir: string;
    let log: string;
    let conf: string;
    let server: JailwatchServer | undefined;
    let action: DummyAction;

    const writeJail = (maxretry: number) =>
        fs.writeFileSync(
            path.join(conf, "jail.local"),
            `[${JAIL}]\nlogpath = ${log}\nmaxretry = ${maxretry}\nbanaction = dummy\nignoreself = false\nignoreip = 127.0.0.1/8 192.0.2.250\n`,
        );

    async function start(): Promise<JailwatchServer> {
        const opts: ServerOptions = {
            configDir: conf,
            socket: path.join(dir, "jw.sock"),
            stateDir: path.join(dir, "state"),
            foreground: true,
            loglevel: "error",
            polling: false,
            peers: { peers: [], port: 0, listen: "127.0.0.1" },
        };
        action = new DummyAction(silentLogger);
        server = new JailwatchServer(opts, silentLogger, { createAction: () => action });
        await server.start();
        return server;
    }
    const text = async (...argv: string[]) => {
        const r = await server!.handle(argv);
        return r.ok ? r.text : `ERROR ${r.error}`;
    };
    const inSet = () => [...(action.sets.get(JAIL)?.keys() ?? [])].sort();

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-server-"));
        log = path.join(dir, "access.log");
        conf = path.join(dir, "conf");
        // The shipped configuration, with the log and backend pointed at this test.
        fs.cpSync(path.resolve(__dirname, "../../watcher/config"), conf, { recursive: true });
        fs.writeFileSync(log, "");
        writeJail(20);
    });
    afterEach(async () => {
        await server?.stop();
        server = undefined;
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("bans at maxretry by the rightmost X-Forwarded-For address and persists the ban", async () => {
        await start();
        fs.appendFileSync(log, line("203.0.113.5", "10.9.9.9").repeat(19));
        await until("19 failures counted", () => server!.jails.get(JAIL)!.jail.status().totalFailed === 19);
        assert.deepStrictEqual(inSet(), []);
        fs.appendFileSync(log, line("203.0.113.5", "10.9.9.9"));
        await until("ban", () => inSet().includes("203.0.113.5"));
        assert.deepStrictEqual(inSet(), ["203.0.113.5"], "the forged address is never banned");
        await until(
            "state written",
            () =>
                fs.existsSync(path.join(dir, "state/bans.json")) &&
                fs.readFileSync(path.join(dir, "state/bans.json"), "utf8").includes("203.0.113.5"),
        );
    });

    it("after a restart the ban is restored, old lines are not re-counted and new ones are not missed", async () => {
        await start();
        fs.appendFileSync(log, line("203.0.113.5").repeat(20) + line("198.51.100.9").repeat(5));
        await until("ban", () => inSet().includes("203.0.113.5"));
        await until("all read", () => server!.jails.get(JAIL)!.jail.status().totalFailed === 25);
        await server!.stop();
        fs.appendFileSync(log, line("198.51.100.9").repeat(3)); // written while stopped
        await start();
        assert.deepStrictEqual(inSet(), ["203.0.113.5"], "restored into the firewall at start");
        await until("lines written while stopped", () => server!.jails.get(JAIL)!.jail.status().totalFailed === 3);
        assert.match(await text("status", JAIL), /Currently banned:\t1\n[\s\S]*Banned IP list:\t203\.0\.113\.5$/);
    });

    it("starts despite a corrupt state file, keeps it aside and says so in status", async () => {
        fs.mkdirSync(path.join(dir, "state"));
        fs.writeFileSync(path.join(dir, "state/bans.json"), "{ this is not json");
        await start();
        const kept = fs.readdirSync(path.join(dir, "state")).filter(f => f.startsWith("bans.json.corrupt-"));
        assert.strictEqual(kept.length, 1);
        assert.match(
            await text("status"),
            /! state file unreadable: .*bans\.json: not valid JSON.*kept as .*bans\.json\.corrupt-/,
        );
        fs.appendFileSync(log, line("203.0.113.5").repeat(20));
        await until("ban still works", () => inSet().includes("203.0.113.5"));
    });

    it("control: banip, unbanip, banned, unban --all; ignoreip is never banned", async () => {
        await start();
        assert.strictEqual(await text("set", JAIL, "banip", "198.51.100.1", "2001:db8::1"), "2");
        assert.strictEqual(
            await text("set", JAIL, "banip", "192.0.2.250"),
            "ERROR 192.0.2.250 is in ignoreip of nginx-wp-xmlrpc; not banned",
        );
        assert.strictEqual(await text("set", JAIL, "banip", "not-an-ip"), "ERROR not an IP address: not-an-ip");
        assert.deepStrictEqual(inSet(), ["198.51.100.1", "2001:db8::1"]);
        assert.strictEqual(
            await text("banned"),
            "[{'nginx-wp-xmlrpc': ['198.51.100.1', '2001:db8::1']}, {'nginx-wp-login': []}]",
        );
        assert.strictEqual(await text("set", JAIL, "unbanip", "198.51.100.1", "198.51.100.77"), "1");
        assert.deepStrictEqual(inSet(), ["2001:db8::1"]);
        assert.strictEqual(await text("unban", "--all"), "1");
        assert.deepStrictEqual(inSet(), []);
        assert.strictEqual(await text("status", "nosuch"), "ERROR Sorry but the jail 'nosuch' does not exist");
        assert.strictEqual(await text("ping"), "Server replied: pong");
    });

    it("reload applies a changed maxretry and keeps the bans in force", async () => {
        await start();
        await text("set", JAIL, "banip", "198.51.100.1");
        writeJail(2);
        assert.strictEqual(await text("reload"), "OK");
        assert.deepStrictEqual(inSet(), ["198.51.100.1"]);
        fs.appendFileSync(log, line("203.0.113.8").repeat(2));
        await until("ban at the new maxretry", () => inSet().includes("203.0.113.8"));
    });

    it("reports firewall failures in status and retries the ban", async () => {
        await start();
        let fail = true;
        const realBan = action.ban.bind(action);
        action.ban = async entries => {
            if (fail) throw new Error("nft: Could not process rule: Operation not permitted");
            return realBan(entries);
        };
        assert.strictEqual(await text("set", JAIL, "banip", "198.51.100.3"), "1");
        assert.match(await text("status"), /! 1 firewall command\(s\) failed; failed bans are retried/);
        assert.deepStrictEqual(inSet(), []);
        fail = false;
        (server as unknown as { lastRetry: number }).lastRetry = 0;
        (server as unknown as { tick(): void }).tick();
        await server!.settle();
        assert.deepStrictEqual(inSet(), ["198.51.100.3"]);
    });

    it("a failing reload keeps the running configuration", async () => {
        await start();
        fs.writeFileSync(path.join(conf, "jail.local"), `[${JAIL}]\nlogpath = ${log}\nmaxretry = twenty\n`);
        assert.match(await text("reload"), /^ERROR .*jail\.local:3: maxretry: invalid value "twenty"/);
        assert.match(await text("status"), /Jail list:\tnginx-wp-xmlrpc/);
    });
});
