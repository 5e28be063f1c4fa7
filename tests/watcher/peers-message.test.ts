import * as assert from "assert";
import { decodeFrame, encodeFrame, parsePeer, PeerAuthError, ReplayGuard } from "../../watcher/src/peers/message";

const secret = Buffer.from("0123456789abcdef0123456789abcdef");
const ban = (ts: number, nonce = "n1") => ({
    type: "ban" as const,
    node: "a",
    ts,
    nonce,
    bans: [{ jail: "j", ip: "192.0.2.1", end: ts + 60 }],
});

describe("peers: authenticated messages", () => {
    it("round-trips a ban message", () => {
        const frame = encodeFrame(ban(1000), secret);
        assert.deepStrictEqual(decodeFrame(frame.trim(), secret, 1001, new ReplayGuard()), ban(1000));
    });

    it("refuses a wrong secret and an altered payload", () => {
        const frame = encodeFrame(ban(1000), secret).trim();
        assert.throws(
            () => decodeFrame(frame, Buffer.from("another-secret-of-32-bytes......"), 1000, new ReplayGuard()),
            /bad MAC/,
        );
        const altered = frame.replace("192.0.2.1", "192.0.2.9");
        assert.throws(
            () => decodeFrame(altered, secret, 1000, new ReplayGuard()),
            (e: Error) => e instanceof PeerAuthError && /bad MAC/.test(e.message),
        );
    });

    it("refuses a replayed frame and a stale one", () => {
        const guard = new ReplayGuard();
        const frame = encodeFrame(ban(1000), secret).trim();
        decodeFrame(frame, secret, 1000, guard);
        assert.throws(() => decodeFrame(frame, secret, 1001, guard), /replayed/);
        assert.throws(
            () => decodeFrame(encodeFrame(ban(1000, "n2"), secret).trim(), secret, 1000 + 3600, guard),
            /stale/,
        );
    });

    it("parses peer addresses", () => {
        assert.deepStrictEqual(parsePeer("10.0.1.5", 7478), { host: "10.0.1.5", port: 7478 });
        assert.deepStrictEqual(parsePeer("10.0.1.5:9000", 7478), { host: "10.0.1.5", port: 9000 });
        assert.deepStrictEqual(parsePeer("[2001:db8::1]:9000", 7478), { host: "2001:db8::1", port: 9000 });
        assert.deepStrictEqual(parsePeer("2001:db8::1", 7478), { host: "2001:db8::1", port: 7478 });
    });
});
