// A real fail2ban-server (1.0.2, private configuration, no actions: it touches no firewall) and a jailwatch server
// (dummy ban action) on the same jail configuration, for comparing client answers byte for byte.

import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { jailwatchBundle } from "./regex-cli-helpers";

export interface Answer {
    code: number;
    stdout: string;
    stderr: string;
}

export const JAIL_CONF = (dir: string) => `[DEFAULT]
backend = polling
action =

[sshd]
enabled = true
filter = sshd
logpath = ${dir}/auth.log
maxretry = 3
findtime = 600
bantime = 3600
ignoreip = 127.0.0.1/8 192.0.2.7

[web]
enabled = true
filter = nginx-http-auth
logpath = ${dir}/web.log
`;

async function waitFor(what: string, ok: () => boolean, ms = 30000): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
        if (ok()) return;
        await new Promise(r => setTimeout(r, 200));
    }
    throw new Error(`timed out waiting for ${what}`);
}

export class SideBySide {
    readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-client-compat-"));
    readonly conf = path.join(this.dir, "conf");
    readonly f2bSock = path.join(this.dir, "f2b.sock");
    readonly f2bPid = path.join(this.dir, "f2b.pid");
    readonly jwSock = path.join(this.dir, "jw.sock");
    private jw: ChildProcess | undefined;
    private f2bServerPid: number | undefined;

    async start(): Promise<void> {
        fs.mkdirSync(path.join(this.conf, "filter.d"), { recursive: true });
        for (const f of ["common.conf", "sshd.conf", "nginx-http-auth.conf"])
            fs.copyFileSync(`/etc/fail2ban/filter.d/${f}`, path.join(this.conf, "filter.d", f));
        fs.copyFileSync("/etc/fail2ban/fail2ban.conf", path.join(this.conf, "fail2ban.conf"));
        fs.writeFileSync(
            path.join(this.conf, "fail2ban.local"),
            `[Definition]\nlogtarget = ${this.dir}/f2b.log\ndbfile = :memory:\n`,
        );
        fs.writeFileSync(path.join(this.conf, "jail.conf"), JAIL_CONF(this.dir));
        fs.writeFileSync(path.join(this.dir, "auth.log"), "");
        fs.writeFileSync(path.join(this.dir, "web.log"), "");
        const r = spawnSync("fail2ban-client", ["-c", this.conf, "-s", this.f2bSock, "-p", this.f2bPid, "start"], {
            encoding: "utf8",
        });
        if (r.status !== 0) throw new Error(`fail2ban-server did not start: ${r.stdout}${r.stderr}`);
        this.f2bServerPid = Number(fs.readFileSync(this.f2bPid, "utf8").trim());
        this.jw = spawn(
            process.execPath,
            [
                jailwatchBundle(),
                "server",
                "-f",
                "-c",
                this.conf,
                "-s",
                this.jwSock,
                "--state",
                path.join(this.dir, "state"),
                "--banaction",
                "dummy",
                "--polling",
            ],
            { stdio: ["ignore", "ignore", "pipe"] },
        );
        this.jw.stderr!.on("data", () => undefined);
        await waitFor(
            "both servers answering",
            () => this.f2b(["ping"]).code === 0 && this.jailwatch(["ping"]).code === 0,
        );
    }

    f2b(words: string[]): Answer {
        const r = spawnSync("fail2ban-client", ["-c", this.conf, "-s", this.f2bSock, ...words], {
            encoding: "utf8",
            env: { ...process.env, LANG: "C.UTF-8" },
        });
        return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    }

    jailwatch(words: string[], opts: string[] = ["-s", this.jwSock]): Answer {
        const r = spawnSync(process.execPath, [jailwatchBundle(), "client", ...opts, ...words], { encoding: "utf8" });
        return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    }

    /** The same words to both servers at once (the machine may be slow: half the waiting). */
    async both(words: string[]): Promise<{ f2b: Answer; jw: Answer }> {
        const [f2b, jw] = await Promise.all([
            run("fail2ban-client", ["-c", this.conf, "-s", this.f2bSock, ...words], {
                ...process.env,
                LANG: "C.UTF-8",
            }),
            run(process.execPath, [jailwatchBundle(), "client", "-s", this.jwSock, ...words], process.env),
        ]);
        return { f2b, jw };
    }

    /** Appends lines to a followed log and waits until both servers counted `expectFailed` total failures. */
    async feed(file: "auth.log" | "web.log", jail: string, lines: string[], expectFailed: number): Promise<void> {
        fs.appendFileSync(path.join(this.dir, file), lines.map(l => l + "\n").join(""));
        const re = new RegExp(`Total failed:\\t${expectFailed}\\n`);
        await waitFor(
            `${expectFailed} failures in ${jail}`,
            () => re.test(this.f2b(["status", jail]).stdout) && re.test(this.jailwatch(["status", jail]).stdout),
        );
    }

    /** Waits until both servers' `status JAIL` match `re` (fail2ban applies a ban a moment after counting it). */
    async settled(jail: string, re: RegExp): Promise<void> {
        await waitFor(
            `status ${jail} matching ${re}`,
            () => re.test(this.f2b(["status", jail]).stdout) && re.test(this.jailwatch(["status", jail]).stdout),
        );
    }

    async stop(): Promise<void> {
        this.f2b(["stop"]);
        const pid = this.f2bServerPid;
        if (pid) {
            await waitFor("fail2ban-server to exit", () => !alive(pid), 15000).catch(() =>
                process.kill(pid, "SIGKILL"),
            );
        }
        if (this.jw && this.jw.exitCode === null) {
            const jw = this.jw;
            const gone = new Promise(r => jw.once("exit", r));
            jw.kill("SIGTERM");
            await gone;
        }
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Answer> {
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
        child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
        child.on("error", reject);
        child.on("close", code => resolve({ code: code ?? -1, stdout, stderr }));
    });
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

/** A syslog line for sshd stamped now (local time, as the log would have it). */
export function sshdLine(msg: string, t = new Date()): string {
    const mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][t.getMonth()];
    const p = (n: number) => String(n).padStart(2, "0");
    return `${mon} ${String(t.getDate()).padStart(2)} ${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())} host sshd[4242]: ${msg}`;
}
