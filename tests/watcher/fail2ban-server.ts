// The real fail2ban-server (Debian's 1.0.2) on a test configuration directory, for side-by-side comparisons:
// its own socket, pid file, log and an in-memory database, and the dummy action (nothing touches a firewall).

import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

/** Starts fail2ban on `conf` (a jailwatch test config: jail.conf + filter.d), runs `fn`, stops it. */
export async function withFail2ban<T>(
    conf: string,
    work: string,
    fn: (client: (...a: string[]) => { status: number | null; stdout: string; stderr: string }) => Promise<T>,
): Promise<T> {
    fs.writeFileSync(
        path.join(conf, "fail2ban.conf"),
        `[Definition]\nloglevel = INFO\nlogtarget = ${work}/f2b.log\nsocket = ${work}/f2b.sock\npidfile = ${work}/f2b.pid\ndbfile = :memory:\n`,
    );
    fs.mkdirSync(path.join(conf, "action.d"), { recursive: true });
    fs.copyFileSync("/etc/fail2ban/action.d/dummy.conf", path.join(conf, "action.d/dummy.conf"));
    fs.writeFileSync(path.join(conf, "action.d/dummy.local"), `[Init]\ninit = x\ntarget = ${work}/dummy\n`);
    const client = (...a: string[]) => {
        const r = spawnSync("fail2ban-client", ["-c", conf, "-s", `${work}/f2b.sock`, ...a], {
            encoding: "utf8",
            timeout: 30_000,
        });
        return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
    };
    const started = client("start");
    if (started.status !== 0) throw new Error(`fail2ban did not start: ${started.stderr}${started.stdout}`);
    try {
        return await fn(client);
    } finally {
        client("stop");
        fs.rmSync(path.join(conf, "fail2ban.conf"), { force: true });
    }
}

/** The jail's banned list as fail2ban-client status prints it, once it holds `expect` entries (or after ~10 s). */
export async function fail2banBanned(
    client: (...a: string[]) => { stdout: string },
    jail: string,
    expect: number,
): Promise<string[]> {
    let list: string[] = [];
    for (let i = 0; i < 100; i++) {
        const m = /Banned IP list:[ \t]*(.*)$/m.exec(client("status", jail).stdout);
        list = m
            ? m[1]
                  .trim()
                  .split(/\s+/)
                  .filter(x => x)
            : [];
        if (list.length >= expect) break;
        await new Promise(r => setTimeout(r, 100));
    }
    return list.sort();
}
