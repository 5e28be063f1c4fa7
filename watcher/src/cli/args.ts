// A small argv parser shared by jailwatch's commands: options may stand before or after positional arguments
// (as with fail2ban-regex), `--name=value` and `--name value` both work, `--` ends options. Short options may be
// run together as Python's optparse allows: `-vv` is `-v -v`, and `-L5` (an option that takes a value) is `-L 5`.

export interface OptionSpec {
    /** Every spelling, e.g. ["-c", "--config"]. The first long one (or the first) names the option. */
    names: string[];
    /** Takes a value (`-c DIR`), else a flag. */
    value?: boolean;
}

export interface ParsedArgs {
    options: Map<string, string | true>;
    positional: string[];
    /** How often each option was given (a counting flag like fail2ban-regex's -v). */
    counts: Map<string, number>;
    /** Where each option was last given, by argument position (a later one wins over another that sets the same). */
    lastAt: Map<string, number>;
}

export class UsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UsageError";
    }
}

function keyOf(spec: OptionSpec): string {
    return (spec.names.find(n => n.startsWith("--")) ?? spec.names[0]).replace(/^-+/, "");
}

export function parseArgs(argv: string[], specs: OptionSpec[]): ParsedArgs {
    const byName = new Map<string, OptionSpec>();
    for (const s of specs) for (const n of s.names) byName.set(n, s);
    const options = new Map<string, string | true>();
    const positional: string[] = [];
    const counts = new Map<string, number>();
    const lastAt = new Map<string, number>();
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--") {
            positional.push(...argv.slice(i + 1));
            break;
        }
        if (a.length < 2 || a[0] !== "-") {
            positional.push(a);
            continue;
        }
        if (a[1] !== "-" && a.length > 2 && !byName.has(a)) {
            i = shortCluster(argv, i, byName, { options, counts, lastAt });
            continue;
        }
        const eq = a.startsWith("--") ? a.indexOf("=") : -1;
        const name = eq > 0 ? a.slice(0, eq) : a;
        const spec = byName.get(name);
        if (!spec) throw new UsageError(`unknown option ${name}`);
        counts.set(keyOf(spec), (counts.get(keyOf(spec)) ?? 0) + 1);
        lastAt.set(keyOf(spec), i);
        if (spec.value) {
            let v: string | undefined;
            if (eq > 0) v = a.slice(eq + 1);
            else v = argv[++i];
            if (v === undefined) throw new UsageError(`option ${name} needs a value`);
            options.set(keyOf(spec), v);
        } else {
            if (eq > 0) throw new UsageError(`option ${name} takes no value`);
            options.set(keyOf(spec), true);
        }
    }
    return { options, positional, counts, lastAt };
}

/** `-abc` as `-a -b -c`; an option that takes a value takes the rest of the word, or the next argument. */
function shortCluster(
    argv: string[],
    i: number,
    byName: Map<string, OptionSpec>,
    into: Pick<ParsedArgs, "options" | "counts" | "lastAt">,
): number {
    const a = argv[i];
    for (let k = 1; k < a.length; k++) {
        const name = `-${a[k]}`;
        const spec = byName.get(name);
        if (!spec) throw new UsageError(`unknown option ${name}${k > 1 ? ` (in ${a})` : ""}`);
        const key = keyOf(spec);
        into.counts.set(key, (into.counts.get(key) ?? 0) + 1);
        into.lastAt.set(key, i);
        if (!spec.value) {
            into.options.set(key, true);
            continue;
        }
        const v = k + 1 < a.length ? a.slice(k + 1) : argv[++i];
        if (v === undefined) throw new UsageError(`option ${name} needs a value`);
        into.options.set(key, v);
        break;
    }
    return i;
}

export function optString(p: ParsedArgs, key: string): string | undefined {
    const v = p.options.get(key);
    return typeof v === "string" ? v : undefined;
}
