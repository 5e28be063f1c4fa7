// `npx ts-node --transpile-only bench/regex-compat.ts [FILTER...]`: every stock filter in /etc/fail2ban/filter.d
// that has a sample log in fail2ban's test corpus, run through fail2ban-regex and `jailwatch regex` (the built
// dist/jailwatch.js); prints which outputs are byte-identical (but the run time) and the first differing line of
// the others. A fidelity report, not a speed bench; run `npm run build` first.

import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const FILTERS = "/etc/fail2ban/filter.d";
const LOGS = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs";
const JAILWATCH = path.resolve(__dirname, "../dist/jailwatch.js");

function run(cmd: string, args: string[]): string {
    const r = spawnSync(cmd, args, {
        encoding: "utf8",
        maxBuffer: 1 << 26,
        env: { ...process.env, LANG: "C.UTF-8", LC_ALL: "C.UTF-8" },
    });
    return (r.stdout + r.stderr).replace(/^\[processed in \d+\.\d\d sec\]$/m, "");
}

const wanted = process.argv.slice(2);
const names = fs
    .readdirSync(FILTERS)
    .filter(f => f.endsWith(".conf"))
    .map(f => f.slice(0, -5))
    .filter(n => fs.existsSync(path.join(LOGS, n)) && (wanted.length === 0 || wanted.includes(n)));
let same = 0;
for (const name of names) {
    const log = path.join(LOGS, name);
    const a = run("fail2ban-regex", [log, name]).split("\n");
    const b = run(process.execPath, [JAILWATCH, "regex", "-j", "1", log, name]).split("\n");
    const i = a.findIndex((l, k) => l !== b[k]);
    if (i < 0 && a.length === b.length) {
        same++;
        console.log(`same  ${name}`);
    } else {
        const k = i < 0 ? Math.min(a.length, b.length) : i;
        console.log(
            `DIFF  ${name}\n      fail2ban : ${(a[k] ?? "").slice(0, 110)}\n      jailwatch: ${(b[k] ?? "").slice(0, 110)}`,
        );
    }
}
console.log(`\nregex-compat: ${same}/${names.length} stock filters give byte-identical fail2ban-regex output`);
