// Where `npm run lab -- up`'s browser URL listens: loopback only, port 80, one address per lab.
import * as assert from "assert";
import { forwardAddresses, forwardUrl } from "../../lab/forward";

describe("lab forward: the browser URL's address", () => {
    it("the default lab takes 127.0.0.1, then 127.77.0.1", () => {
        assert.deepStrictEqual(forwardAddresses({}, "halab"), ["127.0.0.1", "127.77.0.1"]);
    });

    it("a second lab (HA_LAB_DIR) gets loopback addresses of its own, the same every time, never the default lab's", () => {
        const a = forwardAddresses({ HA_LAB_DIR: "/tmp/a" }, "halab111111");
        assert.deepStrictEqual(forwardAddresses({ HA_LAB_DIR: "/tmp/a" }, "halab111111"), a);
        assert.notDeepStrictEqual(forwardAddresses({ HA_LAB_DIR: "/tmp/b" }, "halab222222"), a);
        for (const ip of a) {
            assert.match(ip, /^127\.77\.\d+\.\d+$/);
            const [, , c, d] = ip.split(".").map(Number);
            assert.ok(c >= 1 && c <= 254 && d >= 1 && d <= 254, ip);
        }
    });

    it("HA_LAB_HTTP_ADDR chooses one, and only a loopback one", () => {
        assert.deepStrictEqual(forwardAddresses({ HA_LAB_HTTP_ADDR: "127.5.6.7" }), ["127.5.6.7"]);
        assert.throws(() => forwardAddresses({ HA_LAB_HTTP_ADDR: "0.0.0.0" }), /must be a loopback address/);
        assert.throws(() => forwardAddresses({ HA_LAB_HTTP_ADDR: "10.0.0.1" }), /must be a loopback address/);
    });

    it("the URL leaves out port 80", () => {
        const rec = { process: { pid: 1, startTime: "1" }, target: "10.77.1.100:80" };
        assert.strictEqual(forwardUrl({ ...rec, address: "127.0.0.1", port: 80 }), "http://127.0.0.1/");
        assert.strictEqual(forwardUrl({ ...rec, address: "127.0.0.1", port: 8081 }), "http://127.0.0.1:8081/");
    });
});
