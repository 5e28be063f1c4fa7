// `<name>` substitution in filter definitions (fail2ban's second interpolation layer, after `%(name)s`).
//
// A tag whose name resolves is replaced by its value, and scanning resumes at the same place so tags inside the
// inserted text (and composed names such as `<lt_<logtype>/__prefix_line>`) resolve too. Tags that do not
// resolve (`<HOST>`, `<F-USER>`, ...) stay for the regex layer.

import { ConfigError, ConfigOrigin } from "../types";

const TAG_RE = /<([^ <>]+)>/g;
const MAX_REPLACEMENTS = 50;

export function substituteTags(
    value: string,
    lookup: (name: string) => string | undefined,
    origin: ConfigOrigin,
): string {
    const counts = new Map<string, number>();
    let pos = 0;
    for (;;) {
        TAG_RE.lastIndex = pos;
        const m = TAG_RE.exec(value);
        if (!m) return value;
        const name = m[1];
        const rep = lookup(name);
        if (rep === undefined) {
            pos = m.index + 1;
            continue;
        }
        const n = (counts.get(name) ?? 0) + 1;
        if (n > MAX_REPLACEMENTS) {
            throw new ConfigError(origin, `tag <${name}> refers to itself (recursive definition cannot be resolved)`);
        }
        counts.set(name, n);
        value = value.slice(0, m.index) + rep + value.slice(m.index + m[0].length);
        pos = lastOpenBefore(value, m.index);
    }
}

/** Where to resume after a replacement: an enclosing `<` (for composed names) or the replacement itself. */
function lastOpenBefore(value: string, at: number): number {
    // An unclosed `<` right before the replacement point belongs to a composed name like `<lt_<logtype>/x>`.
    for (let i = at - 1; i >= 0; i--) {
        const c = value[i];
        if (c === ">" || c === " ") return at;
        if (c === "<") return i;
    }
    return at;
}
