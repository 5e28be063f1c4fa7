// `jailwatch -t -c DIR`: reads the whole configuration, resolves every enabled jail, loads and compiles its
// filter, and reports every error found (file, line, key) instead of stopping at the first.

import { backtrackingWarnings, compileFilters } from "./compile";
import { loadJails } from "./common";

export function runCheck(dir: string, out: (s: string) => void, err: (s: string) => void): number {
    const { jails, errors } = loadJails(dir);
    errors.push(...compileFilters(jails));
    if (errors.length > 0) {
        for (const e of errors) err(`ERROR: ${e.message}`);
        err(`ERROR: configuration test failed: ${errors.length} error(s) in ${dir}`);
        return 1;
    }
    for (const w of backtrackingWarnings(jails)) err(`WARNING: ${w}`);
    out(
        `OK: configuration test is successful (${jails.length} enabled jail(s): ${jails.map(j => j.name).join(", ") || "none"})`,
    );
    return 0;
}
