// Issue 14, points 1 and 3: `action =` is honoured as fail2ban defines it, and -t refuses what the server would.
// Stock /etc/fail2ban copies with one jail changed; each case passed -t (and was ignored or failed later) before.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runCheck } from "../../watcher/src/cli/check";
import { loadJails } from "../../watcher/src/cli/common";

const STOCK = "/etc/fail2ban";

describe("actions: `action =` and banaction as fail2ban defines them", function () {
    this.timeout(30_000);
    const dirs: string[] = [];
    after(() => dirs.forEach(d => fs.rmSync(d, { recursive: true, force: true })));
    function copy(local: string): { dir: string; file: string } {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-act-"));
        dirs.push(dir);
        fs.cpSync(STOCK, dir, { recursive: true });
        const file = path.join(dir, "jail.d/zz-test.local");
        fs.writeFileSync(file, local);
        return { dir, file };
    }
    function check(dir: string): { code: number; err: string } {
        const err: string[] = [];
        const code = runCheck(
            dir,
            () => undefined,
            s => err.push(s),
        );
        return { code, err: err.join("\n") };
    }

    it("`action = dummy` bans nowhere: the jail runs the dummy backend", () => {
        const { dir } = copy("[sshd]\nenabled = true\naction = dummy\n");
        assert.equal(check(dir).code, 0);
        assert.equal(loadJails(dir).jails.find(j => j.name === "sshd")!.banaction, "dummy");
    });

    it("a stock ban action with its own arguments is run natively with the action's port and protocol", () => {
        const { dir } = copy(
            '[sshd]\nenabled = true\naction = nftables-multiport[port="2222,ssh", protocol=tcp][name=x]\n',
        );
        const sshd = loadJails(dir).jails.find(j => j.name === "sshd")!;
        assert.deepEqual([sshd.banaction, sshd.port, sshd.protocol], ["nftables-multiport", "2222,ssh", "tcp"]);
    });

    it("`action = %(action_mwl)s` passes -t: the ban runs natively and the mail action through its commands", () => {
        const { dir } = copy("[sshd]\nenabled = true\n\naction = %(action_mwl)s\n");
        const r = check(dir);
        assert.equal(r.code, 0, r.err);
        const sshd = loadJails(dir).jails.find(j => j.name === "sshd")!;
        assert.deepEqual(
            [sshd.banaction, sshd.actions.map(a => a.name)],
            ["iptables-multiport", ["sendmail-whois-lines"]],
        );
    });

    it("an unknown action is an error at -t", () => {
        const { dir, file } = copy("[sshd]\nenabled = true\naction = no-such-action[port=ssh]\n");
        const r = check(dir);
        assert.equal(r.code, 1);
        assert.ok(
            r.err.includes(`${file}:3: action: unknown action "no-such-action": no action.d/no-such-action.conf`),
            r.err,
        );
    });

    it("`banaction = ufw` passes -t and runs as action.d commands (fail2ban accepts it too)", () => {
        const { dir } = copy("[sshd]\nenabled = true\nbanaction = ufw\n");
        assert.equal(check(dir).code, 0);
        const sshd = loadJails(dir).jails.find(j => j.name === "sshd")!;
        assert.deepEqual([sshd.nativeAction, sshd.actions.map(a => a.name)], [false, ["ufw"]]);
    });
});
