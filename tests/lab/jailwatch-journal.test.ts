// jailwatch's systemd backend on a booted lab host (real systemd and journald): jailwatch installed by the jail
// steps (the same scripts a deployment runs), a jail with `backend = systemd` and a journalmatch on the syslog
// identifier, failures written to the journal with logger(1) and systemd-cat(1). The jail bans into nftables, and
// a restart of the service resumes after the saved cursor: entries written while it was down are read, none twice.
// The unit is the real one (ProtectKernelTunables and all): in this container it gave journalctl the host kernel's
// boot ID, and without --merge its --follow then never showed a new entry (journal-spec.ts).
import * as assert from "assert";
import { createHost, destroyLab, LabHost } from "../../lab/hosts";
import { runPlan } from "../../lab/runner";
import { publishBinary } from "../../lab/stack";
import { LAB_SUBNET_PREFIX } from "../../lab/state";
import { fail2banPlan } from "../../components/fail2banPlan";
import { assertPlanOk, footprint, leftovers, onHost, requireRoot, waitFor } from "./helpers/lab";

const NODE = "jw-journal1";
const JAIL = "labapp";

async function status(): Promise<{ failed: number; banned: string[] }> {
    const out = await onHost(NODE, `jailwatch client status ${JAIL}`);
    const total = /Total failed:\s*(\d+)/.exec(out);
    const list = out.split("\n").find(l => l.includes("Banned IP list")) ?? "";
    return {
        failed: total ? Number(total[1]) : NaN,
        banned: list.split(":").slice(1).join(":").trim().split(/\s+/).filter(Boolean),
    };
}

// n - 1 entries through syslog (logger), the last on a journald stdout stream (systemd-cat): both transports.
const fail = (ip: string, n: number) =>
    onHost(
        NODE,
        `for i in $(seq ${n - 1}); do logger -t ${JAIL} "auth failure from ${ip}"; done; echo "auth failure from ${ip}" | systemd-cat -t ${JAIL}`,
    );

describe("lab: backend = systemd reads the host's journal", function () {
    this.timeout(300_000);
    let host: LabHost;
    let fp: ReturnType<typeof footprint>;

    before(async function () {
        this.timeout(900_000);
        requireRoot();
        fp = footprint();
        host = await createHost({ name: NODE, ip: `${LAB_SUBNET_PREFIX}200` });
        const bin = await publishBinary();
        const plan = fail2banPlan({
            nodes: [NODE],
            addresses: { [NODE]: host.ip },
            peers: { [NODE]: "" },
            peerSecret: "lab-journal-secret-0123456789",
            binaryUrl: bin.url,
            binarySha256: bin.sha256,
            ignoreIp: host.ip,
        });
        assertPlanOk(await runPlan(plan, [host]), "jailwatch on the host");
        // An operator's jail next to the shipped ones (config.sh leaves such files alone).
        await onHost(
            NODE,
            [
                "mkdir -p /etc/jailwatch/filter.d /etc/jailwatch/jail.d",
                `printf '%s\\n' '[Definition]' 'failregex = ^\\S+ ${JAIL}(?:\\[\\d+\\])?: auth failure from <HOST>$' '[Init]' 'journalmatch = SYSLOG_IDENTIFIER=${JAIL}' > /etc/jailwatch/filter.d/${JAIL}.conf`,
                `printf '%s\\n' '[${JAIL}]' 'enabled = true' 'filter = ${JAIL}' 'backend = systemd' 'port = 8080' 'maxretry = 3' 'findtime = 600' 'bantime = 600' > /etc/jailwatch/jail.d/${JAIL}.local`,
                "jailwatch -t -c /etc/jailwatch",
                "systemctl restart jailwatch",
            ].join(" && "),
        );
        await waitFor("the journal jail", async () => (await status()).failed === 0, 60_000, 500);
    });

    after(async function () {
        this.timeout(120_000);
        await destroyLab();
        assert.deepStrictEqual(await leftovers(fp), []);
    });

    it("bans from journal entries selected by journalmatch, into the kernel set", async () => {
        // Same text under another identifier: outside the journalmatch.
        await onHost(NODE, `for i in 1 2 3; do logger -t other "auth failure from 192.0.2.8"; done`);
        await fail("192.0.2.7", 3);
        await waitFor("the ban", async () => (await status()).banned.includes("192.0.2.7"), 60_000, 500);
        assert.ok(!(await status()).banned.includes("192.0.2.8"));
        assert.strictEqual((await status()).failed, 3);
        assert.match(await onHost(NODE, "nft list ruleset"), /192\.0\.2\.7/);
    });

    it("a restart resumes after the saved cursor: entries written while stopped are read, none twice", async () => {
        await onHost(NODE, "systemctl stop jailwatch");
        assert.match(await onHost(NODE, "cat /var/lib/jailwatch/positions.json"), /"cursor":"s=/);
        await fail("192.0.2.9", 3);
        await onHost(NODE, "systemctl start jailwatch");
        await waitFor(
            "the ban from entries written while stopped",
            async () => (await status()).banned.includes("192.0.2.9"),
            60_000,
            500,
        );
        // Only the three new entries were counted after the restart (the earlier ones were not read again).
        assert.strictEqual((await status()).failed, 3);
        assert.ok((await status()).banned.includes("192.0.2.7"), "the earlier ban was kept");
    });
});
