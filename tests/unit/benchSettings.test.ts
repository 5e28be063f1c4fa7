// The site bench's per-setting runs revert only settings the host steps actually deploy, and put back the values
// they deploy: a setting renamed or dropped in the tuning must fail here, not measure nothing in the lab.
import * as assert from "assert";
import { PHP_VOLUME_TUNING } from "../../components/glusterPlan";
import { readScript } from "../../components/hostStep";
import { ALL_REVERTED, REVERTED, deployedValue, glusterCommands } from "../../bench/siteSettings";

const iniKeys = (text: string) =>
    new Map(
        text
            .split("\n")
            .map(l => /^\s*([a-z_.]+)\s*=\s*(\S+)/.exec(l))
            .filter((m): m is RegExpExecArray => m !== null)
            .map(m => [m[1], m[2]]),
    );

describe("site bench: the settings it takes back to their defaults", () => {
    it("every gluster option it reverts is deployed (PHP_VOLUME_TUNING), and its revert differs from the deployed value", () => {
        for (const r of REVERTED)
            for (const [o, v] of r.gluster ?? []) {
                assert.ok(
                    PHP_VOLUME_TUNING.some(([d]) => d === o),
                    `${r.name}: ${o} is not deployed`,
                );
                assert.notStrictEqual(v, deployedValue(o), `${r.name}: ${o} reverted to the deployed value`);
            }
    });

    it("every PHP setting it reverts is one scripts/web/php-tuning.ini raises, to a different value", () => {
        const deployed = iniKeys(readScript("web/php-tuning.ini"));
        for (const r of REVERTED.filter(x => x.php)) {
            const lines = iniKeys(r.php!);
            assert.ok(lines.size > 0, r.name);
            for (const [k, v] of lines) {
                assert.ok(deployed.has(k), `${r.name}: ${k} is not in php-tuning.ini`);
                assert.notStrictEqual(deployed.get(k), v, `${r.name}: ${k} reverted to the deployed value`);
            }
        }
    });

    it("'all of the above' reverts the union, each option once; the commands put back the deployed values", () => {
        const union = new Set(REVERTED.flatMap(r => (r.gluster ?? []).map(([o]) => o)));
        const all = (ALL_REVERTED.gluster ?? []).map(([o]) => o);
        assert.deepStrictEqual([...all].sort(), [...union].sort());
        for (const r of REVERTED.filter(x => x.php)) assert.ok(ALL_REVERTED.php!.includes(r.php!));
        const back = glusterCommands("wp", [["performance.nl-cache", deployedValue("performance.nl-cache")]]);
        assert.strictEqual(back, "gluster --mode=script volume set wp performance.nl-cache on >/dev/null");
        assert.match(
            glusterCommands("wp", [["performance.nl-cache", "reset"]]),
            /volume reset wp performance\.nl-cache /,
        );
    });
});
