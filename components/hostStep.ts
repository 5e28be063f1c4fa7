// Host steps: the single source of truth for everything we run on a host.
//
// A step is one idempotent bash script under scripts/, plus named parameter values. `renderStep` turns it into
// the exact command text that runs on the host. GlusterCluster/WordPressTier/Fail2BanJail feed it Pulumi outputs
// (through `pulumi.all(...).apply(renderStep)`) and hand the text to a `remote.Command`; the lab feeds it plain
// values and sends the very same text over SSH. Nothing here imports Pulumi, so the lab and watcher can use it.
import * as fs from "fs";
import * as path from "path";

/** Root folder of the host scripts. */
export const SCRIPTS_DIR = path.join(__dirname, "..", "scripts");

/** Shared shell helpers prepended to every step (error trap naming host and step, wait loops). */
export const COMMON_LIB = "lib/common.sh";

/**
 * One host step of a plan. `V` is the value type: `pulumi.Input<string>` in a component, `string` in the lab.
 */
export interface HostStep<V = string> {
    /** Unique id in its plan, e.g. `brick-node-gfs1`. */
    id: string;
    /** Name of the node the step runs on, e.g. `node-gfs1`. */
    host: string;
    /** Script path relative to scripts/, e.g. `gluster/brick.sh`. */
    script: string;
    /** Parameters, upper-case names; passed to the script as shell-quoted variable assignments. */
    params: Record<string, V>;
    /** Ids of steps that must have succeeded before this one runs. */
    dependsOn: string[];
}

/** Quotes a string for a POSIX shell, so it reaches the script byte for byte. */
export function shellQuote(value: string): string {
    if (value !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
    return "'" + value.replace(/'/g, `'\\''`) + "'";
}

const scriptCache = new Map<string, string>();

/** Reads a script under scripts/ (cached: scripts do not change while a program runs). */
export function readScript(script: string): string {
    let text = scriptCache.get(script);
    if (text === undefined) {
        const file = path.join(SCRIPTS_DIR, script);
        if (!fs.existsSync(file)) throw new Error(`host step script not found: scripts/${script}`);
        text = fs.readFileSync(file, "utf8");
        scriptCache.set(script, text);
    }
    return text;
}

/**
 * The command text for a step: parameters as quoted assignments, then `bash -c` over the common library and the
 * script. `bash -c` (not `bash -s`) keeps the script off stdin, so commands inside it may read stdin safely.
 */
export function renderStep(script: string, params: Record<string, string>): string {
    const names = Object.keys(params).sort();
    for (const name of names) {
        if (!/^[A-Z][A-Z0-9_]*$/.test(name) || name.startsWith("HA_")) throw new Error(`step ${script}: parameter name '${name}' must be UPPER_CASE and not start with HA_`);
        if (typeof params[name] !== "string") throw new Error(`step ${script}: parameter ${name} must be a string`);
    }
    // HA_PARAMS names the parameters so common.sh can carry them across its sudo re-exec (non-root SSH users).
    const assignments = [
        `HA_STEP=${shellQuote(script)}`,
        `HA_PARAMS=${shellQuote(names.join(" "))}`,
        ...names.map(n => `${n}=${shellQuote(params[n])}`),
    ];
    const body = readScript(COMMON_LIB) + "\n" + readScript(script);
    return `${assignments.join(" ")} bash -c ${shellQuote(body)} ${shellQuote(script)}`;
}

/** Orders a plan so every step comes after the steps it depends on; throws on unknown ids and cycles. */
export function topoOrder<V>(steps: HostStep<V>[]): HostStep<V>[] {
    const byId = new Map(steps.map(s => [s.id, s]));
    if (byId.size !== steps.length) throw new Error("host step ids must be unique");
    const done = new Set<string>(), visiting = new Set<string>(), out: HostStep<V>[] = [];
    const visit = (s: HostStep<V>) => {
        if (done.has(s.id)) return;
        if (visiting.has(s.id)) throw new Error(`host step cycle at ${s.id}`);
        visiting.add(s.id);
        for (const d of s.dependsOn) {
            const dep = byId.get(d);
            if (!dep) throw new Error(`host step ${s.id} depends on unknown step ${d}`);
            visit(dep);
        }
        visiting.delete(s.id);
        done.add(s.id);
        out.push(s);
    };
    steps.forEach(visit);
    return out;
}
