// Bounding the cost of a regex on one line. JavaScript's regex engine backtracks: a pattern like `(a+)+b` tries
// 2^n ways on n characters, and a 30-character line blocked every jail for 16 s. Three defences:
// - at run time, V8 switches a regex to its linear-time engine once it backtracks too much, but only for patterns
//   that engine accepts: no backreferences or lookarounds, and no large replication of bounded repeats, which rules
//   out every failregex holding <HOST> (its IPv6 part); it helps the date templates and plain patterns;
// - the server bounds the time of each line whatever the pattern (guard.ts): that is the defence that holds;
// - at -t, patterns with a quantified group that itself holds an unbounded quantifier are named with a warning.

import * as v8 from "v8";

let enabled = false;

/** Turns on V8's fallback to its non-backtracking engine (idempotent; must run before filters are compiled). */
export function boundRegexBacktracking(): void {
    if (enabled) return;
    enabled = true;
    try {
        v8.setFlagsFromString("--enable-experimental-regexp-engine-on-excessive-backtracks");
    } catch {
        // An engine without the flag: the -t warning still names the risky patterns.
    }
}

boundRegexBacktracking();

/** Whether `pattern` has a group quantified by + * or {n,} that contains an unbounded quantifier itself. */
export function hasNestedQuantifier(pattern: string): boolean {
    // One frame per open group: whether something inside it repeats without bound.
    const stack: boolean[] = [];
    let inClass = false;
    for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i];
        if (c === "\\") {
            i++;
            const next = pattern[i + 1];
            if (!inClass && (next === "+" || next === "*" || (next === "{" && /^\{\d+,\}/.test(pattern.slice(i + 1)))))
                markUnbounded(stack);
            continue;
        }
        if (inClass) {
            if (c === "]") {
                inClass = false;
                if (quantifierAt(pattern, i + 1) === "unbounded") markUnbounded(stack);
            }
            continue;
        } else if (c === "[") {
            inClass = true;
            if (pattern[i + 1] === "]" || (pattern[i + 1] === "^" && pattern[i + 2] === "]"))
                i += pattern[i + 1] === "^" ? 2 : 1;
            continue;
        } else if (c === "(") {
            stack.push(false);
            continue;
        } else if (c === ")") {
            const inner = stack.pop() ?? false;
            const q = quantifierAt(pattern, i + 1);
            if (q === "unbounded" && inner) return true;
            if (inner || q === "unbounded") markUnbounded(stack);
            continue;
        }
        // An atom other than a group: quantified without bound?
        if (quantifierAt(pattern, i + 1) === "unbounded") markUnbounded(stack);
    }
    return false;
}

function markUnbounded(stack: boolean[]): void {
    if (stack.length) stack[stack.length - 1] = true;
}

function quantifierAt(p: string, i: number): "unbounded" | "bounded" | undefined {
    const c = p[i];
    if (c === "+" || c === "*") return "unbounded";
    if (c === "?") return "bounded";
    if (c === "{") {
        const m = /^\{(\d*)(,?)(\d*)\}/.exec(p.slice(i));
        if (!m) return undefined;
        return m[2] === "," && m[3] === "" ? "unbounded" : "bounded";
    }
    return undefined;
}

/** Indexes of the patterns that can backtrack catastrophically. */
export function catastrophicPatterns(patterns: string[]): number[] {
    const out: number[] = [];
    patterns.forEach((p, i) => {
        if (hasNestedQuantifier(p)) out.push(i);
    });
    return out;
}
