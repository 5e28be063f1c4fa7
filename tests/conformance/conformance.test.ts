// Regression guard for the conformance run: every expectation recorded as passing in baseline.json must still
// pass. New passes are reported (refresh the baseline with `npm run conformance -- --write-baseline`), not failed.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { FilterReport, runAll } from "./corpus";

const BASELINE = path.join(__dirname, "baseline.json");

describe("conformance with fail2ban's sample logs", function () {
    this.timeout(120000);
    let reports: FilterReport[];
    let passed: Set<string>;
    let all: Set<string>;

    before(() => {
        reports = runAll();
        passed = new Set(reports.flatMap(r => r.outcomes.filter(o => o.ok).map(o => o.id)));
        all = new Set(reports.flatMap(r => r.outcomes.map(o => o.id)));
    });

    it("loads and compiles every filter", () => {
        const broken = reports.filter(r => r.error).map(r => `${r.filter}: ${r.error}`);
        assert.deepStrictEqual(broken, []);
    });

    it("keeps every expectation of the baseline", () => {
        const baseline: string[] = JSON.parse(fs.readFileSync(BASELINE, "utf8"));
        assert.ok(baseline.length > 0, "baseline is empty");
        const lost = baseline.filter(id => !passed.has(id));
        const reasons = lost.map(id => {
            const o = reports.flatMap(r => r.outcomes).find(x => x.id === id);
            return `${id}: ${o ? o.reason : "expectation no longer exists"}`;
        });
        assert.deepStrictEqual(reasons, []);
        const gained = [...passed].filter(id => !baseline.includes(id));
        if (gained.length)
            console.log(
                `      ${gained.length} expectations pass that are not in the baseline yet (npm run conformance -- --write-baseline)`,
            );
    });

    it("meets every expectation of the nginx, apache, sshd and WordPress filters", () => {
        const family = /^(nginx-|apache-|sshd$)/;
        const failing = reports
            .filter(r => family.test(r.filter))
            .flatMap(r => r.outcomes.filter(o => !o.ok).map(o => `${o.id}: ${o.reason}`));
        assert.deepStrictEqual(failing, []);
        assert.ok(
            reports.some(r => r.filter === "nginx-wp-xmlrpc" && r.outcomes.length > 0),
            "WordPress samples missing",
        );
    });

    it("meets at least 90% of all expectations", () => {
        assert.ok(all.size > 0);
        assert.ok(passed.size / all.size >= 0.9, `${passed.size}/${all.size}`);
    });

    it("reports no match on lines the corpus leaves unannotated", () => {
        const stray = reports.filter(r => r.strayMatches.length).map(r => `${r.filter}: ${r.strayMatches.join(", ")}`);
        assert.deepStrictEqual(stray, []);
    });
});
