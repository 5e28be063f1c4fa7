// Compiles each jail's filter so regex errors surface at check time, named by the filter setting's origin.

import { catastrophicPatterns } from "../filter/backtracking";
import { compileFilter } from "../filter/filter";
import { LINE_BUDGET_MS } from "../filter/guard";
import { ResolvedJail } from "../jail/settings";
import { ConfigError } from "../types";

export function compileFilters(jails: ResolvedJail[]): ConfigError[] {
    const errors: ConfigError[] = [];
    for (const j of jails) {
        try {
            compileFilter(j.filter);
        } catch (e) {
            const msg = e instanceof Error ? e.message : String(e);
            errors.push(new ConfigError(j.origins.filter ?? { key: "filter" }, `jail [${j.name}]: ${msg}`));
        }
    }
    return errors;
}

/** Warnings for patterns whose matching cost can explode (see filter/backtracking.ts), named by their origin. */
export function backtrackingWarnings(jails: ResolvedJail[]): string[] {
    const out: string[] = [];
    const seen = new Set<string>();
    for (const j of jails) {
        for (const key of ["failregex", "ignoreregex"] as const) {
            const list = j.filter[key];
            for (const i of catastrophicPatterns(list)) {
                const origin = j.filter.origins?.[key] ?? { key };
                const msg = new ConfigError(
                    origin,
                    `jail [${j.name}]: ${JSON.stringify(list[i])} has a nested quantifier (a repeated group that repeats inside): it can take exponential time on some lines (the server abandons a line after ${LINE_BUDGET_MS} ms of matching and counts it); write it without the nesting`,
                ).message;
                if (!seen.has(msg)) out.push(msg);
                seen.add(msg);
            }
        }
    }
    return out;
}
