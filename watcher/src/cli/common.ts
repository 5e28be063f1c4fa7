// Bits shared by the configuration commands.

import * as os from "os";
import * as path from "path";
import { loadFilter, readJailConfig } from "../config/reader";
import { checkJails, ResolvedJail } from "../jail/settings";
import { ConfigError } from "../types";

/** `-c` default: like fail2ban, so jailwatch reads an existing fail2ban setup as it is. */
export const DEFAULT_CONFIG_DIR = "/etc/fail2ban";

/** Reads a configuration directory and resolves its enabled jails, collecting every error. */
export function loadJails(dir: string, opts: { includeDisabled?: boolean } = {}): { jails: ResolvedJail[]; errors: ConfigError[] } {
    let config;
    try {
        config = readJailConfig(dir);
    } catch (e) {
        return { jails: [], errors: [toConfigError(e, dir)] };
    }
    try {
        return checkJails(config, {
            includeDisabled: opts.includeDisabled,
            loadFilter: (spec, values) => loadFilter(dir, spec, values),
        });
    } catch (e) {
        return { jails: [], errors: [toConfigError(e, dir)] };
    }
}

export function toConfigError(e: unknown, file?: string): ConfigError {
    if (e instanceof ConfigError) return e;
    return new ConfigError({ file }, e instanceof Error ? e.message : String(e));
}

/** This host's own addresses (for ignoreself): loopback and every interface address. */
export function selfAddresses(): string[] {
    const out = ["127.0.0.1/8", "::1"];
    for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) out.push(a.address);
    return out;
}

/** A path shown relative to the configuration directory when inside it. */
export function shortPath(file: string, dir: string): string {
    const rel = path.relative(dir, file);
    return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : file;
}
