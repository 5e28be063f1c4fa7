// "Prefregex: N total": the compiled filter says whether each line got past the prefregex, and `jailwatch regex`
// counts those lines exactly as fail2ban-regex does. The expected count comes from the real fail2ban-regex.

import { strict as assert } from "assert";
import { compileFilter } from "../../watcher/src/filter/filter";
import type { FilterDefinition } from "../../watcher/src/types";
import { jailwatchBundle, runFail2banRegex, runJailwatch } from "./regex-cli-helpers";

const SSHD_LOG = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs/sshd";
const NOW = Date.UTC(2016, 4, 16, 0, 0, 0) / 1000;
const def = (d: Partial<FilterDefinition>): FilterDefinition => ({
    name: "t",
    failregex: [],
    ignoreregex: [],
    options: {},
    ...d,
});

function prefTotal(out: string): number {
    const m = /^Prefregex: (\d+) total$/m.exec(out);
    assert.ok(m, `no "Prefregex: N total" line in:\n${out.slice(0, 2000)}`);
    return Number(m[1]);
}

describe("filter: prefregex hits", function () {
    this.timeout(60000);

    it("tells which lines passed the prefregex, and says nothing for filters without one", () => {
        const f = compileFilter(def({ prefregex: "svc: (?P<content>.+)$", failregex: ["^bad login from <HOST>$"] }), {
            logTimeZone: "UTC",
        });
        const hit = f.processLine("2016-05-15 10:00:00 svc: bad login from 192.0.2.7", NOW);
        assert.equal(hit.kind, "matched");
        assert.equal(hit.host, "192.0.2.7");
        assert.equal(hit.prefMatched, true);
        const passed = f.processLine("2016-05-15 10:00:01 svc: good login from 192.0.2.7", NOW);
        assert.equal(passed.kind, "missed");
        assert.equal(passed.prefMatched, true, "past the prefregex but no failregex");
        const stopped = f.processLine("2016-05-15 10:00:02 other: bad login from 192.0.2.7", NOW);
        assert.equal(stopped.kind, "missed");
        assert.equal(stopped.prefMatched, false);

        const plain = compileFilter(def({ failregex: ["bad login from <HOST>$"] }), { logTimeZone: "UTC" });
        const r = plain.processLine("2016-05-15 10:00:00 svc: bad login from 192.0.2.7", NOW);
        assert.equal(r.kind, "matched");
        assert.ok(!("prefMatched" in r));
    });

    it("counts the same Prefregex total as fail2ban-regex on the sshd corpus", () => {
        jailwatchBundle();
        const ours = runJailwatch(["regex", "-j", "1", SSHD_LOG, "sshd"]);
        const theirs = runFail2banRegex([SSHD_LOG, "sshd"]);
        assert.equal(ours.code, 0, ours.stderr);
        assert.equal(theirs.code, 0, theirs.stderr);
        const expected = prefTotal(theirs.stdout);
        const got = prefTotal(ours.stdout);
        // Some corpus lines pass sshd's prefregex without any failregex hit: the count is more than the matches.
        const matched = Number(/^Lines: \d+ lines, \d+ ignored, (\d+) matched/m.exec(theirs.stdout)?.[1]);
        assert.ok(expected > matched, `fail2ban-regex: ${expected} prefregex hits, ${matched} matched`);
        assert.equal(got, expected);
    });
});
