import * as assert from "assert";
import { DebouncedSave } from "../../watcher/src/state/debounce";
import { bansSnapshot, historyRecords, toBan } from "../../watcher/src/state/snapshot";

function saver(delayMs: number, opts: { ok?: boolean; active?: boolean } = {}) {
    const state = { writes: 0, ok: opts.ok ?? true, active: opts.active ?? true };
    const s = new DebouncedSave(
        {
            write: () => {
                state.writes++;
                return state.ok;
            },
            active: () => state.active,
        },
        delayMs,
    );
    return { s, state };
}

const until = async (cond: () => boolean) => {
    for (let i = 0; i < 500 && !cond(); i++) await new Promise(r => setTimeout(r, 10));
};

describe("state: debounced save of the bans file", () => {
    it("writes a burst of changes once", async () => {
        const { s, state } = saver(5);
        for (let i = 0; i < 1000; i++) s.mark();
        assert.strictEqual(s.dirty, true);
        await until(() => state.writes > 0);
        await new Promise(r => setTimeout(r, 50));
        assert.strictEqual(state.writes, 1);
        assert.strictEqual(s.dirty, false);
    });

    it("flush() writes now and cancels the pending timer", async () => {
        const { s, state } = saver(5);
        s.mark();
        s.flush();
        assert.strictEqual(state.writes, 1);
        assert.strictEqual(s.dirty, false);
        await new Promise(r => setTimeout(r, 50));
        assert.strictEqual(state.writes, 1, "the cancelled timer wrote again");
    });

    it("stays dirty when the write fails, so a log position is not saved past the lost bans", () => {
        const { s, state } = saver(60_000, { ok: false });
        s.mark();
        s.flush();
        assert.strictEqual(s.dirty, true);
        state.ok = true;
        s.flush();
        assert.strictEqual(s.dirty, false);
    });

    it("schedules nothing while inactive (a stopped server saves on its way out)", async () => {
        const { s, state } = saver(5, { active: false });
        s.mark();
        await new Promise(r => setTimeout(r, 50));
        assert.strictEqual(state.writes, 0);
        assert.strictEqual(s.dirty, true);
        s.flush();
        assert.strictEqual(state.writes, 1);
    });
});

describe("state: snapshot of the bans file", () => {
    it("writes permanent ends as null, lifted bans with no ban count, and reads them back", () => {
        const active = [
            { jail: "sshd", ip: "192.0.2.1", start: 10, end: 610, banCount: 1 },
            { jail: "sshd", ip: "2001:db8::/64", start: 11, end: Infinity, banCount: 0 },
        ];
        const history = [{ jail: "sshd", ip: "192.0.2.1", count: 2, lastStart: 10, lastEnd: Infinity }];
        const lifted = [{ jail: "sshd", ip: "192.0.2.5", start: 1, end: 900, banCount: 3 }];
        const s = bansSnapshot(active, history, lifted);
        assert.deepStrictEqual(s, {
            bans: [
                { jail: "sshd", ip: "192.0.2.1", start: 10, end: 610, banCount: 1 },
                { jail: "sshd", ip: "2001:db8::/64", start: 11, end: null, banCount: 0 },
            ],
            history: { sshd: { "192.0.2.1": { count: 2, lastStart: 10, lastEnd: null } } },
            lifted: [{ jail: "sshd", ip: "192.0.2.5", start: 1, end: 900, banCount: 0 }],
        });
        assert.deepStrictEqual(s.bans.map(toBan), active);
        assert.deepStrictEqual(historyRecords(s), history);
    });
});
