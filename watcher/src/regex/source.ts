// Which filter `jailwatch regex LOG FILTER` means, decided as fail2ban-regex decides it: a value that looks like
// a name or path (`sshd`, `sshd[mode=aggressive]`, `/etc/fail2ban/filter.d/sshd.conf`, `./my.conf`) is looked for
// as a file: bare names in DIR/filter.d (trying NAME, NAME.conf, NAME.local), paths as given. Found inside a
// filter.d folder (or by name), it is loaded the standard way with .local overrides; elsewhere the file alone is
// read. Anything else, and any IGNOREREGEX, is a raw regex. So `my.conf` without a slash is looked up in
// filter.d, exactly as fail2ban-regex does (write `./my.conf` for a file in the current directory).

import * as fs from "fs";
import * as path from "path";
import { filterRealOptions, loadFilter, loadFilterFile, parseFilterSpec } from "../config/reader";
import type { FilterDefinition } from "../types";
import { pyDictOfStr } from "./pyrepr";
import { useFile, useFilterFile, useFilterOptions, useLine } from "./report";

export interface FilterSource {
    definition: FilterDefinition;
    /** The "Use ..." header lines fail2ban-regex prints for this argument. */
    header: string[];
    /** For a filter file: the line --verbosity=2 and more add after the header. */
    realOptionsLine?: string;
}

const LOOKS_LIKE_FILE = /^\/{0,3}[\w/\-.]+(?:\[[\s\S]*\])?$/;

function isFile(p: string): boolean {
    try {
        return fs.statSync(p).isFile();
    } catch {
        return false;
    }
}

/** Resolves the FILTER|REGEX argument; `configDir` is `-c` (default /etc/fail2ban). */
export function resolveFailFilter(value: string, configDir: string): FilterSource {
    let basedir = configDir;
    let fltFile: string | undefined;
    let name = value;
    let args: Record<string, string> = {};
    if (LOOKS_LIKE_FILE.test(value)) {
        ({ name, args } = parseFilterSpec(value));
        const tail = name.slice(-6);
        const tries = tail.includes(".") ? [name] : [name, `${name}.conf`, `${name}.local`];
        for (const t of tries) {
            let candidate = t;
            if (!t.includes("/"))
                candidate =
                    path.basename(basedir) === "filter.d" ? path.join(basedir, t) : path.join(basedir, "filter.d", t);
            else basedir = path.dirname(t);
            if (isFile(candidate)) {
                fltFile = candidate;
                break;
            }
        }
    }
    if (fltFile === undefined) {
        return {
            definition: { name: "", failregex: [value], ignoreregex: [], options: {} },
            header: [useLine("failregex", value)],
        };
    }
    const header: string[] = [];
    let definition: FilterDefinition;
    const opts = Object.keys(args).length > 0 ? [useFilterOptions(args)] : [];
    if (
        basedir === configDir ||
        path.basename(basedir) === "filter.d" ||
        (!name.slice(-6).includes(".") && !name.includes("/"))
    ) {
        if (path.basename(basedir) === "filter.d") basedir = path.dirname(basedir);
        const shortName = path.basename(name).replace(/\.[^.]*$/, "");
        header.push(useFilterFile("failregex", shortName, basedir), ...opts);
        const spec = Object.keys(args).length > 0 ? value.slice(value.indexOf("[")) : "";
        definition = loadFilter(basedir, shortName + spec);
    } else {
        header.push(useFile("failregex", name), ...opts);
        definition = loadFilterFile(path.resolve(name), args);
    }
    const real = filterRealOptions(definition);
    return { definition, header, realOptionsLine: real && `Real  filter options : ${pyDictOfStr(real)}` };
}

/** IGNOREREGEX is always a raw regex (fail2ban-regex looks up files for FILTER only). */
export function ignoreLine(value: string): string {
    return useLine("ignoreregex", value);
}
