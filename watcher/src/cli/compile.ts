// Compiles each jail's filter so regex errors surface at check time, named by the filter setting's origin.

import { compileFilter } from "../filter/filter";
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
