import * as assert from "assert";
import { FirewallQueue, FirewallQueueHooks, RETRY_MS } from "../../watcher/src/actions/queue";
import type { BackendName } from "../../watcher/src/actions/backend";
import type { ActionEntry, BanAction } from "../../watcher/src/actions/types";

/** A backend that records every batch and can be told to fail, or to hold a batch until released. */
class RecordingAction implements BanAction {
    readonly calls: Array<{ kind: "ban" | "unban"; ips: string[]; timeouts: Array<number | undefined> }> = [];
    failNext = 0;
    hold: Promise<void> | undefined;
    constructor(readonly name: string) {}
    async start(): Promise<void> {}
    async ban(entries: ActionEntry[]): Promise<void> {
        await this.record("ban", entries);
    }
    async unban(entries: ActionEntry[]): Promise<void> {
        await this.record("unban", entries);
    }
    async unbanAll(): Promise<void> {}
    async remove(): Promise<void> {}
    private async record(kind: "ban" | "unban", entries: ActionEntry[]): Promise<void> {
        if (this.hold) await this.hold;
        this.calls.push({ kind, ips: entries.map(e => e.ip), timeouts: entries.map(e => e.timeout) });
        if (this.failNext > 0) {
            this.failNext--;
            throw new Error("nft: boom");
        }
    }
}

function setup(generic = new Set<string>()) {
    const actions = new Map<BackendName, RecordingAction>([
        ["nftables", new RecordingAction("nftables")],
        ["generic", new RecordingAction("generic")],
    ]);
    const errors: string[] = [];
    let errorCount = 0;
    const ended = new Set<string>();
    const hooks: FirewallQueueHooks = {
        action: b => actions.get(b),
        alsoGeneric: jail => generic.has(jail),
        onError: () => errorCount++,
        refresh: (e, now) => (ended.has(e.ip) ? undefined : { ...e, timeout: 1000 - now }),
        debug: () => undefined,
        error: m => errors.push(m),
    };
    return { q: new FirewallQueue(hooks), actions, errors, errorCount: () => errorCount, ended };
}

describe("actions: firewall queue", () => {
    it("batches what is queued in one turn: one call per backend and kind, bans first", async () => {
        const { q, actions } = setup();
        q.add("unban", "nftables", { jail: "sshd", ip: "192.0.2.9" });
        q.add("ban", "nftables", { jail: "sshd", ip: "192.0.2.1", timeout: 600 });
        q.add("ban", "nftables", { jail: "sshd", ip: "192.0.2.2", timeout: 600 });
        assert.strictEqual(actions.get("nftables")!.calls.length, 0, "nothing runs before the turn ends");
        await new Promise(r => setImmediate(r));
        await q.idle();
        assert.deepStrictEqual(
            actions.get("nftables")!.calls.map(c => [c.kind, c.ips]),
            [
                ["ban", ["192.0.2.1", "192.0.2.2"]],
                ["unban", ["192.0.2.9"]],
            ],
        );
    });

    it("runs one backend's batches in order: a later unban never overtakes its ban", async () => {
        const { q, actions } = setup();
        const nft = actions.get("nftables")!;
        let release!: () => void;
        nft.hold = new Promise<void>(r => (release = r));
        q.add("ban", "nftables", { jail: "sshd", ip: "192.0.2.1", timeout: 600 });
        q.flush();
        q.add("unban", "nftables", { jail: "sshd", ip: "192.0.2.1" });
        q.flush();
        nft.hold = undefined; // the second batch must still wait for the first, held one
        release();
        await q.idle();
        assert.deepStrictEqual(
            nft.calls.map(c => c.kind),
            ["ban", "unban"],
        );
    });

    it("hands a jail with action.d commands to the generic backend as well", async () => {
        const { q, actions } = setup(new Set(["mailed"]));
        q.add("ban", "nftables", { jail: "mailed", ip: "192.0.2.1", timeout: 60 });
        q.add("ban", "nftables", { jail: "plain", ip: "192.0.2.2", timeout: 60 });
        await q.settle();
        assert.deepStrictEqual(actions.get("nftables")!.calls[0].ips, ["192.0.2.1", "192.0.2.2"]);
        assert.deepStrictEqual(actions.get("generic")!.calls[0].ips, ["192.0.2.1"]);
    });

    it("drops entries for a backend that is not set up", async () => {
        const { q, actions } = setup();
        q.add("ban", "dummy", { jail: "sshd", ip: "192.0.2.1" });
        await q.settle();
        assert.strictEqual(actions.get("nftables")!.calls.length, 0);
    });

    it("drop() forgets queued work that was not handed over yet", async () => {
        const { q, actions } = setup();
        q.add("ban", "nftables", { jail: "sshd", ip: "192.0.2.1" });
        q.drop();
        await q.settle();
        assert.strictEqual(actions.get("nftables")!.calls.length, 0);
    });

    it("keeps a failed batch and retries it after RETRY_MS, with fresh timeouts and without ended bans", async () => {
        const { q, actions, errors, errorCount, ended } = setup();
        const nft = actions.get("nftables")!;
        nft.failNext = 1;
        q.add("ban", "nftables", { jail: "sshd", ip: "192.0.2.1", timeout: 600 });
        q.add("ban", "nftables", { jail: "sshd", ip: "192.0.2.2", timeout: 600 });
        await q.settle();
        assert.strictEqual(errorCount(), 1);
        assert.match(errors[0], /^nftables ban of 2 address\(es\) failed, will retry: nft: boom$/);
        ended.add("192.0.2.2");
        q.retry(100, RETRY_MS - 1); // too early: not retried
        await q.idle();
        assert.strictEqual(nft.calls.length, 1);
        q.retry(100, RETRY_MS);
        await q.idle();
        assert.deepStrictEqual(nft.calls[1], { kind: "ban", ips: ["192.0.2.1"], timeouts: [900] });
        q.retry(100, 3 * RETRY_MS); // nothing left to retry
        await q.idle();
        assert.strictEqual(nft.calls.length, 2);
    });

    it("retries a batch that failed elsewhere (a start-up restore) with the others", async () => {
        const { q, actions } = setup();
        q.addFailed("nftables", "unban", [{ jail: "sshd", ip: "192.0.2.7" }]);
        q.retry(0, RETRY_MS);
        await q.idle();
        assert.deepStrictEqual(
            actions.get("nftables")!.calls.map(c => [c.kind, c.ips]),
            [["unban", ["192.0.2.7"]]],
        );
    });
});
