// fail2banPlan's metricsListen: off by default (no parameter, same deploy id as before), passed to the config step
// when set, part of the deploy id (a change restarts the daemon), and refused when it is not PORT or HOST:PORT.
import * as assert from "assert";
import { fail2banPlan, Fail2BanPlanArgs } from "../../components/fail2banPlan";

const base: Fail2BanPlanArgs<string> = {
    nodes: ["a", "b"],
    addresses: { a: "10.0.0.1", b: "10.0.0.2" },
    peers: { a: "10.0.0.2", b: "10.0.0.1" },
    peerSecret: "s3cret-s3cret-s3cret",
    binaryUrl: "file:///opt/jailwatch",
    binarySha256: "0".repeat(64),
    ignoreIp: "10.0.0.0/24",
};
const step = (steps: ReturnType<typeof fail2banPlan<string>>, id: string) => steps.find(s => s.id === id)!;

describe("fail2banPlan: metricsListen", () => {
    it("is off by default: no METRICS_LISTEN parameter", () => {
        const s = fail2banPlan(base);
        assert.ok(!("METRICS_LISTEN" in step(s, "jailwatch-config-a").params));
    });
    it("passes the address to every node's config step and changes the deploy id", () => {
        const off = fail2banPlan(base);
        const on = fail2banPlan({ ...base, metricsListen: "127.0.0.1:9539" });
        for (const n of ["a", "b"])
            assert.strictEqual(step(on, `jailwatch-config-${n}`).params.METRICS_LISTEN, "127.0.0.1:9539");
        assert.notStrictEqual(
            step(on, "jailwatch-service-a").params.DEPLOY_ID,
            step(off, "jailwatch-service-a").params.DEPLOY_ID,
        );
        assert.strictEqual(
            step(fail2banPlan({ ...base, metricsListen: "" }), "jailwatch-service-a").params.DEPLOY_ID,
            step(off, "jailwatch-service-a").params.DEPLOY_ID,
        );
        assert.strictEqual(
            step(fail2banPlan({ ...base, metricsListen: "9539" }), "jailwatch-config-a").params.METRICS_LISTEN,
            "9539",
        );
    });
    it("refuses anything else (it is written into jailwatch.local)", () => {
        for (const bad of ["127.0.0.1:9539\nperrs = x", "a b:1", "host:", "$(reboot)"]) {
            assert.throws(() => fail2banPlan({ ...base, metricsListen: bad }), /metricsListen/, bad);
        }
    });
});
