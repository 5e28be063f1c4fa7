// Expands fail2ban-style logpath globs (`*`, `?`, `[...]` in any path component) against the file system.
// A path without wildcards is returned as is even when it does not exist yet: it will be followed once created.

import * as fs from "fs";
import * as path from "path";

const WILD = /[*?[]/;

function componentRegex(pattern: string): RegExp {
    let re = "";
    for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i];
        if (c === "*") re += "[^/]*";
        else if (c === "?") re += "[^/]";
        else if (c === "[") {
            const end = pattern.indexOf("]", i + 1);
            if (end < 0) re += "\\[";
            else {
                let cls = pattern.slice(i + 1, end);
                if (cls.startsWith("!")) cls = "^" + cls.slice(1);
                re += `[${cls.replace(/\\/g, "\\\\")}]`;
                i = end;
            }
        } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
    }
    return new RegExp(`^${re}$`);
}

export function hasGlob(p: string): boolean {
    return WILD.test(p);
}

/** Files matching `pattern`, sorted; `[pattern]` itself when it holds no wildcard. */
export function expandGlob(pattern: string): string[] {
    if (!hasGlob(pattern)) return [pattern];
    const abs = path.resolve(pattern);
    const parts = abs.split("/").filter(p => p.length > 0);
    let bases = ["/"];
    for (let i = 0; i < parts.length; i++) {
        const part = parts[i];
        const last = i === parts.length - 1;
        const next: string[] = [];
        for (const b of bases) {
            if (!hasGlob(part)) {
                next.push(path.join(b, part));
                continue;
            }
            let names: string[];
            try {
                names = fs.readdirSync(b);
            } catch {
                continue;
            }
            const re = componentRegex(part);
            for (const n of names) if (re.test(n)) next.push(path.join(b, n));
        }
        bases = next;
        if (last)
            bases = bases.filter(p => {
                try {
                    return fs.statSync(p).isFile();
                } catch {
                    return false;
                }
            });
    }
    return bases.sort();
}
