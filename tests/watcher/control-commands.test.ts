// server/commands.ts against a small stand-in for the server (its ControlTarget), not a running daemon.

import * as assert from "assert";
import { handleControl } from "../../watcher/src/server/commands";
import type { BanOutcome, ControlTarget, RuntimeJail } from "../../watcher/src/server/interfaces";

class StandIn implements ControlTarget {
    jails = new Map<string, RuntimeJail>();
    opts = { loglevel: "info" as const };
    problems: string[] = [];
    stateProblem: string | undefined;
    firewallErrors = 0;
    readonly calls: string[] = [];
    banAddress(jail: string, ip: string): BanOutcome {
        this.calls.push(`ban ${jail} ${ip}`);
        return { ok: true };
    }
    unbanAddress(jail: string, ip: string): boolean {
        this.calls.push(`unban ${jail} ${ip}`);
        return false;
    }
    async unbanAll(): Promise<number> {
        this.calls.push("unbanAll");
        return 3;
    }
    async reload(only?: string): Promise<void> {
        this.calls.push(`reload ${only ?? "*"}`);
    }
    async settle(): Promise<void> {
        this.calls.push("settle");
    }
    requestStop(unban: boolean): void {
        this.calls.push(`stop unban=${unban}`);
    }
}

describe("control: commands against the server's narrow interface", () => {
    it("`stop --unban` answers, then asks the server to stop; no signal is raised inside the handler", async () => {
        const s = new StandIn();
        const signals: string[] = [];
        const onTerm = () => signals.push("SIGTERM");
        process.on("SIGTERM", onTerm);
        try {
            const r = await handleControl(s, ["stop", "--unban"]);
            assert.deepStrictEqual(r, { ok: true, text: "Shutdown successful" });
            await new Promise(r => setImmediate(r));
            await new Promise(r => setImmediate(r));
        } finally {
            process.off("SIGTERM", onTerm);
        }
        assert.deepStrictEqual(s.calls, ["stop unban=true"]);
        assert.deepStrictEqual(signals, []);
    });

    it("`status` shows the server's problems in fail2ban-client's layout", async () => {
        const s = new StandIn();
        s.problems.push("state file unreadable: x");
        s.stateProblem = "/var/lib/jailwatch/bans.json: EROFS";
        s.firewallErrors = 2;
        const r = await handleControl(s, ["status"]);
        assert.strictEqual(r.ok, true);
        assert.deepStrictEqual(r.text!.split("\n"), [
            "Status",
            "|- Number of jail:\t0",
            "`- Jail list:\t",
            "! state file unreadable: x",
            "! cannot save state: /var/lib/jailwatch/bans.json: EROFS; bans and log positions are not durable until it can",
            "! 2 firewall command(s) failed; failed bans are retried every 10 s (see the log)",
        ]);
    });

    it("`unban --all` and `reload` reach the server", async () => {
        const s = new StandIn();
        assert.deepStrictEqual(await handleControl(s, ["unban", "--all"]), { ok: true, text: "3" });
        assert.deepStrictEqual(await handleControl(s, ["reload"]), { ok: true, text: "OK" });
        assert.deepStrictEqual(s.calls, ["unbanAll", "reload *"]);
    });
});
