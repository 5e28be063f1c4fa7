// `npm run conformance`: every stock filter against fail2ban's sample logs; prints a per-filter table, the
// failing expectations with reasons, and ends with `conformance: P/T expectations met`.
// `--write-baseline` records the ids that pass in baseline.json (the regression guard of conformance.test.ts).

import * as fs from "fs";
import * as path from "path";
import { runAll } from "./corpus";

export const BASELINE = path.join(__dirname, "baseline.json");

function main(): void {
    const verbose = process.argv.includes("-v") || process.argv.includes("--verbose");
    const reports = runAll();
    let pass = 0,
        total = 0;
    const rows: string[] = [];
    const failures: string[] = [];
    for (const r of reports) {
        const ok = r.outcomes.filter(o => o.ok).length;
        pass += ok;
        total += r.outcomes.length;
        const status = r.error
            ? `ERROR ${r.error}`
            : ok === r.outcomes.length
              ? "ok"
              : `${r.outcomes.length - ok} failed`;
        rows.push(
            `${r.filter.padEnd(24)} ${String(ok).padStart(4)}/${String(r.outcomes.length).padEnd(4)} ${status}${r.strayMatches.length ? `  (unannotated lines matched: ${r.strayMatches.length})` : ""}`,
        );
        for (const o of r.outcomes) {
            if (!o.ok) failures.push(`  ${o.id}: ${o.reason}${verbose ? `\n      ${o.text}` : ""}`);
        }
    }
    console.log(`${"filter".padEnd(24)} passed/total`);
    for (const row of rows) console.log(row);
    if (failures.length) {
        console.log(`\nfailed expectations (${failures.length}):`);
        for (const f of failures) console.log(f);
    }
    if (process.argv.includes("--write-baseline")) {
        const ids = reports.flatMap(r => r.outcomes.filter(o => o.ok).map(o => o.id)).sort();
        fs.writeFileSync(BASELINE, JSON.stringify(ids, null, 1) + "\n");
        console.log(`\nbaseline written: ${ids.length} ids -> ${path.relative(process.cwd(), BASELINE)}`);
    }
    console.log(`conformance: ${pass}/${total} expectations met`);
}

main();
