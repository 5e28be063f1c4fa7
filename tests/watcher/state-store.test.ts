import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { decodeBans, decodePositions, encodeBans, StateError, StateStore } from "../../watcher/src/state/store";

describe("state: persistence", () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-state-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const sample = {
        bans: [
            { jail: "nginx-wp-xmlrpc", ip: "203.0.113.9", start: 1000, end: 44200, banCount: 0 },
            { jail: "nginx-wp-xmlrpc", ip: "2001:db8::/64", start: 1001, end: null, banCount: 2 },
            { jail: "sshd", ip: "198.51.100.1", start: 5, end: 605, banCount: 1 },
        ],
        history: { sshd: { "198.51.100.1": { count: 2, lastStart: 5, lastEnd: 605 } } },
    };

    it("round-trips bans (permanent ones too) and offender history", () => {
        const s = new StateStore(dir);
        s.saveBans(sample);
        const back = s.loadBans();
        assert.strictEqual(back.error, undefined);
        assert.deepStrictEqual(back.value, sample);
    });

    it("round-trips log positions", () => {
        const s = new StateStore(dir);
        const positions = {
            "/var/log/nginx/access.log": { dev: 2049, ino: 77, offset: 123456, head: "ab", headLen: 256 },
        };
        s.savePositions({ positions });
        assert.deepStrictEqual(s.loadPositions().value.positions, positions);
    });

    it("writes atomically: no temporary file is left and the file is private", () => {
        const s = new StateStore(dir);
        s.saveBans(sample);
        s.saveBans({ bans: [], history: {} });
        assert.deepStrictEqual(fs.readdirSync(dir), ["bans.json"]);
        assert.strictEqual(fs.statSync(s.bansFile).mode & 0o777, 0o600);
    });

    it("starts empty when there is no state yet", () => {
        const r = new StateStore(dir).loadBans();
        assert.deepStrictEqual(r, { value: { bans: [], history: {} } });
    });

    it("keeps a corrupt file aside with a clear error and returns empty state", () => {
        const s = new StateStore(dir);
        fs.writeFileSync(s.bansFile, '{"version":1,"bans":{"sshd":[["1.2.3.4",1,');
        const r = s.loadBans();
        assert.deepStrictEqual(r.value, { bans: [], history: {} });
        assert.match(r.error!, /bans\.json: not valid JSON/);
        assert.ok(r.keptAs && fs.existsSync(r.keptAs), "corrupt file kept");
        assert.ok(!fs.existsSync(s.bansFile), "corrupt file moved away");
        assert.strictEqual(fs.readFileSync(r.keptAs!, "utf8"), '{"version":1,"bans":{"sshd":[["1.2.3.4",1,');
    });

    it("names what is malformed", () => {
        assert.throws(
            () => decodeBans('{"version":1,"bans":{"sshd":[["1.2.3.4","x",null,0]]},"history":{}}'),
            (e: Error) => e instanceof StateError && /ban #1 of jail sshd is malformed/.test(e.message),
        );
        assert.throws(() => decodeBans('{"version":9,"bans":{},"history":{}}'), /unsupported state version 9/);
        assert.throws(
            () => decodePositions('{"version":1,"positions":{"/l":{"dev":1,"ino":2,"offset":-5}}}'),
            /position of \/l is malformed/,
        );
    });

    it("stores 100,000 bans in about 40 bytes each", () => {
        const bans = Array.from({ length: 100_000 }, (_, i) => ({
            jail: "j",
            ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
            start: 1e9,
            end: 1e9 + 43200,
            banCount: 0,
        }));
        const text = encodeBans({ bans, history: {} });
        assert.ok(text.length <= 100_000 * 41, `encoded size ${text.length}`);
        assert.strictEqual(decodeBans(text).bans.length, 100_000);
    });
});
