// Host steps: the single source of truth for everything we run on a host.
//
// A step is one idempotent bash script under scripts/, plus named parameter values. `renderStep` turns it into
// the exact command text that runs on the host, and its secret parameters into the command's stdin. The components
// feed it Pulumi outputs (components/hostCommands.ts) and hand text and stdin to a `remote.Command`; the lab feeds it
// plain values (renderHostStep) and sends the very same text and stdin over SSH. Nothing here imports Pulumi.
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
    /**
     * Secret parameters, upper-case names; sent on the command's stdin, never in its text (pulumi-command prints a
     * failed command's text, and the text is kept in state). The script sees them as ordinary variables.
     * Default: none.
     */
    secrets?: Record<string, V>;
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

/** Checks parameter names and values: UPPER_CASE, not HA_*, strings. */
function checkParams(script: string, params: Record<string, string>, what: string): string[] {
    const names = Object.keys(params).sort();
    for (const name of names) {
        if (!/^[A-Z][A-Z0-9_]*$/.test(name) || name.startsWith("HA_"))
            throw new Error(`step ${script}: ${what} name '${name}' must be UPPER_CASE and not start with HA_`);
        if (typeof params[name] !== "string") throw new Error(`step ${script}: ${what} ${name} must be a string`);
    }
    return names;
}

/**
 * The command text for a step: parameters as quoted assignments, then `bash -c` over the common library and the
 * script. `bash -c` (not `bash -s`) keeps the script off stdin, which carries the secret parameters (`secretNames`,
 * their values come from `renderSecrets`); common.sh reads exactly those lines, so commands inside the script
 * may read stdin safely.
 */
export function renderStep(script: string, params: Record<string, string>, secretNames: string[] = []): string {
    const names = checkParams(script, params, "parameter");
    const secrets = [...secretNames].sort();
    for (const name of secrets) {
        if (!/^[A-Z][A-Z0-9_]*$/.test(name) || name.startsWith("HA_"))
            throw new Error(
                `step ${script}: secret parameter name '${name}' must be UPPER_CASE and not start with HA_`,
            );
        if (names.includes(name)) throw new Error(`step ${script}: ${name} is both a parameter and a secret parameter`);
    }
    // HA_PARAMS names the parameters so common.sh can carry them across its sudo re-exec (non-root SSH users);
    // HA_SECRETS names the secret ones it reads from stdin first.
    const assignments = [
        `HA_STEP=${shellQuote(script)}`,
        `HA_PARAMS=${shellQuote([...names, ...secrets].sort().join(" "))}`,
        ...(secrets.length > 0 ? [`HA_SECRETS=${shellQuote(secrets.join(" "))}`] : []),
        ...names.map(n => `${n}=${shellQuote(params[n])}`),
    ];
    const body = readScript(COMMON_LIB) + "\n" + readScript(script);
    return `${assignments.join(" ")} bash -c ${shellQuote(body)} ${shellQuote(script)}`;
}

/** The stdin of a step with secret parameters: one `NAME BASE64` line per parameter, in name order. */
export function renderSecrets(secrets: Record<string, string>): string {
    return checkParams("(secrets)", secrets, "secret parameter")
        .map(n => `${n} ${Buffer.from(secrets[n], "utf8").toString("base64")}\n`)
        .join("");
}

/** What runs for a step with plain values: the command text and its stdin ("" when it has no secrets). */
export function renderHostStep(step: HostStep<string>): { command: string; stdin: string } {
    const secrets = step.secrets ?? {};
    return { command: renderStep(step.script, step.params, Object.keys(secrets)), stdin: renderSecrets(secrets) };
}

/** Orders a plan so every step comes after the steps it depends on; throws on unknown ids and cycles. */
export function topoOrder<V>(steps: HostStep<V>[]): HostStep<V>[] {
    const byId = new Map(steps.map(s => [s.id, s]));
    if (byId.size !== steps.length) throw new Error("host step ids must be unique");
    const done = new Set<string>(),
        visiting = new Set<string>(),
        out: HostStep<V>[] = [];
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
