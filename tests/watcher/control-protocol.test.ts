import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { sendCommand } from "../../watcher/src/control/client";
import { formatBanned, formatJailStatus, formatStatus } from "../../watcher/src/control/format";
import { decodeRequest, parseCommand, UsageError } from "../../watcher/src/control/protocol";
import { ControlServer } from "../../watcher/src/control/server";

describe("control: command parsing", () => {
    it("parses every command", () => {
        assert.deepStrictEqual(parseCommand(["ping"]), { cmd: "ping" });
        assert.deepStrictEqual(parseCommand(["ping", "2"]), { cmd: "ping" });
        assert.deepStrictEqual(parseCommand(["version"]), { cmd: "version" });
        assert.deepStrictEqual(parseCommand(["status"]), { cmd: "status" });
        assert.deepStrictEqual(parseCommand(["status", "sshd"]), { cmd: "status", jail: "sshd" });
        assert.deepStrictEqual(parseCommand(["status", "sshd", "--all"]), {
            cmd: "status",
            jail: "sshd",
            flavor: "--all",
        });
        assert.deepStrictEqual(parseCommand(["banned"]), { cmd: "banned", ips: [] });
        assert.deepStrictEqual(parseCommand(["banned", "1.2.3.4"]), { cmd: "banned", ips: ["1.2.3.4"] });
        assert.deepStrictEqual(parseCommand(["set", "sshd", "banip", "1.2.3.4", "::1"]), {
            cmd: "banip",
            jail: "sshd",
            ips: ["1.2.3.4", "::1"],
        });
        assert.deepStrictEqual(parseCommand(["set", "sshd", "unbanip", "1.2.3.4"]), {
            cmd: "unbanip",
            jail: "sshd",
            ips: ["1.2.3.4"],
            reportAbsent: false,
        });
        assert.deepStrictEqual(parseCommand(["set", "sshd", "unbanip", "--report-absent", "1.2.3.4"]), {
            cmd: "unbanip",
            jail: "sshd",
            ips: ["1.2.3.4"],
            reportAbsent: true,
        });
        assert.deepStrictEqual(parseCommand(["set", "sshd", "maxretry", "3"]), {
            cmd: "set",
            jail: "sshd",
            key: "maxretry",
            args: ["3"],
        });
        assert.deepStrictEqual(parseCommand(["get", "sshd", "banip", "--with-time"]), {
            cmd: "get",
            jail: "sshd",
            key: "banip",
            args: ["--with-time"],
        });
        assert.deepStrictEqual(parseCommand(["get", "loglevel"]), { cmd: "get", key: "loglevel", args: [] });
        assert.deepStrictEqual(parseCommand(["unban", "--all"]), { cmd: "unban", all: true });
        assert.deepStrictEqual(parseCommand(["unban", "1.2.3.4"]), { cmd: "unban", all: false, ips: ["1.2.3.4"] });
        assert.deepStrictEqual(parseCommand(["reload"]), {
            cmd: "reload",
            unban: false,
            restart: false,
            ifExists: false,
            jail: undefined,
        });
        assert.deepStrictEqual(parseCommand(["reload", "--unban", "sshd"]), {
            cmd: "reload",
            unban: true,
            restart: false,
            ifExists: false,
            jail: "sshd",
        });
        assert.deepStrictEqual(parseCommand(["stop"]), { cmd: "stop", unban: false });
        assert.deepStrictEqual(parseCommand(["stop", "--unban"]), { cmd: "stop", unban: true });
    });

    it("rejects malformed commands with fail2ban-client's message", () => {
        const bad: Array<[string[], RegExp]> = [
            [[], /no command/],
            [["ping", "x"], /could not convert string to float: 'x'/],
            [["set", "sshd", "banip"], /^Sorry but the command is invalid$/],
            [["get", "sshd"], /^Sorry but the command is invalid$/],
            [["unban"], /^Invalid command$/],
            [["reload", "a", "b"], /Unexpected argument\(s\) for reload: \['a', 'b'\]/],
            [["frobnicate"], /^Invalid command$/],
            [["restart"], /restart is not supported by jailwatch/],
        ];
        for (const [argv, re] of bad)
            assert.throws(
                () => parseCommand(argv),
                (e: Error) => e instanceof UsageError && re.test(e.message),
                argv.join(" "),
            );
    });

    it("accepts only {argv: [strings]} on the wire", () => {
        assert.deepStrictEqual(decodeRequest('{"argv":["status"]}'), { argv: ["status"] });
        assert.throws(() => decodeRequest('{"argv":"status"}'), UsageError);
        assert.throws(() => decodeRequest("status"), /not JSON/);
    });
});

describe("control: fail2ban-client output format", () => {
    it("formats the overall status like fail2ban-client (tab after each label)", () => {
        assert.strictEqual(
            formatStatus(["nginx-wp-xmlrpc"]),
            "Status\n|- Number of jail:\t1\n`- Jail list:\tnginx-wp-xmlrpc",
        );
        assert.strictEqual(formatStatus(["a", "b"]), "Status\n|- Number of jail:\t2\n`- Jail list:\ta, b");
    });

    it("formats a jail's status like fail2ban-client", () => {
        const text = formatJailStatus({
            name: "nginx-wp-xmlrpc",
            currentlyFailed: 1,
            totalFailed: 4,
            fileList: ["/var/log/nginx/access.log"],
            currentlyBanned: 2,
            totalBanned: 3,
            bannedList: ["192.0.2.5", "198.51.100.2"],
        });
        // Captured from fail2ban-client 1.0.2 with the same numbers.
        assert.strictEqual(
            text,
            [
                "Status for the jail: nginx-wp-xmlrpc",
                "|- Filter",
                "|  |- Currently failed:\t1",
                "|  |- Total failed:\t4",
                "|  `- File list:\t/var/log/nginx/access.log",
                "`- Actions",
                "   |- Currently banned:\t2",
                "   |- Total banned:\t3",
                "   `- Banned IP list:\t192.0.2.5 198.51.100.2",
            ].join("\n"),
        );
    });

    it("formats `banned` as fail2ban-client does", () => {
        assert.strictEqual(
            formatBanned([
                ["nginx-wp-xmlrpc", ["192.0.2.5"]],
                ["sshd", []],
            ]),
            "[{'nginx-wp-xmlrpc': ['192.0.2.5']}, {'sshd': []}]",
        );
    });
});

describe("control: the socket", () => {
    let dir: string;
    let server: ControlServer | undefined;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-ctl-"))));
    afterEach(async () => {
        await server?.close();
        server = undefined;
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("is root-only: socket 0600 in a directory created 0700", async () => {
        const sock = path.join(dir, "run", "jailwatch.sock");
        server = new ControlServer(sock, async argv => ({ ok: true, text: argv.join("|") }));
        await server.listen();
        assert.strictEqual(fs.statSync(sock).mode & 0o777, 0o600);
        assert.strictEqual(fs.statSync(path.dirname(sock)).mode & 0o777, 0o700);
        assert.deepStrictEqual(await sendCommand(sock, ["status", "x"]), { ok: true, text: "status|x" });
    });

    it("replaces a stale socket file but refuses to start beside a live server", async () => {
        const sock = path.join(dir, "s.sock");
        server = new ControlServer(sock, async () => ({ ok: true, text: "one" }));
        await server.listen();
        await assert.rejects(
            new ControlServer(sock, async () => ({ ok: true, text: "two" })).listen(),
            /another jailwatch server/,
        );
        await server.close();
        fs.writeFileSync(sock, "");
        server = new ControlServer(sock, async () => ({ ok: true, text: "three" }));
        await server.listen();
        assert.deepStrictEqual(await sendCommand(sock, ["ping"]), { ok: true, text: "three" });
    });

    it("answers a handler error as an error, not a crash", async () => {
        const sock = path.join(dir, "s.sock");
        server = new ControlServer(sock, async () => {
            throw new Error("boom");
        });
        await server.listen();
        assert.deepStrictEqual(await sendCommand(sock, ["ping"]), { ok: false, error: "boom" });
    });

    it("tells the user when no server runs", async () => {
        await assert.rejects(sendCommand(path.join(dir, "none.sock"), ["ping"]), /is the jailwatch server running/);
    });
});
