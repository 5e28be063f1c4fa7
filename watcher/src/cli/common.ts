// Bits shared by the configuration commands.

import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { actionExists, loadFilter, readJailConfig } from "../config/reader";
import { loadAction } from "../config/action-reader";
import { checkJails, ResolvedJail } from "../jail/settings";
import { ConfigError } from "../types";

/** `regex -c` default: fail2ban-regex's, so its output (`basedir: /etc/fail2ban`) is the same. */
export const DEFAULT_CONFIG_DIR = "/etc/fail2ban";

/** The daemon's configuration directory (jailwatch server's default). */
export const JAILWATCH_CONFIG_DIR = "/etc/jailwatch";

/** `-t`/`-d` default: what the daemon would read (/etc/jailwatch) when it exists, else /etc/fail2ban as it is. */
export function defaultConfigDir(): string {
    try {
        if (fs.statSync(JAILWATCH_CONFIG_DIR).isDirectory()) return JAILWATCH_CONFIG_DIR;
    } catch {
        // absent: fall through
    }
    return DEFAULT_CONFIG_DIR;
}

/** Reads a configuration directory and resolves its enabled jails, collecting every error. */
export function loadJails(
    dir: string,
    opts: { includeDisabled?: boolean } = {},
): { jails: ResolvedJail[]; errors: ConfigError[] } {
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
            actionExists: name => actionExists(dir, name),
            loadAction: (name, args, jail, origin) => loadAction(dir, name, args, jail, origin),
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
