// jailwatch's configuration reader: fail2ban's layout (jail.conf, jail.d/*.conf, jail.local, jail.d/*.local,
// filter.d/<name>.conf + .local, [INCLUDES]) and value syntax, read into plain data for the later stages.

import * as fs from "fs";
import * as path from "path";
import { ConfigError, ConfigOrigin, ConfigValue, FilterDefinition } from "../types";
import { ConfigStore, DEFAULT } from "./store";
import { substituteTags } from "./tags";

export interface JailConfig {
    readonly dir: string;
    /** Jail sections in order of first appearance (no DEFAULT/INCLUDES). */
    jailNames(): string[];
    /** Jail value, else [DEFAULT]; interpolated, comments stripped. */
    get(jail: string, key: string): ConfigValue | undefined;
    keys(jail: string): string[];
    /** Files read, in order (for `-d`). */
    readonly files: string[];
}

/** Keys whose values are regular expressions (or date patterns): `#` in them is data, never a comment. */
export function isRegexKey(key: string): boolean {
    return /regex$/.test(key) || key === "datepattern" || key.startsWith("_");
}

function jailFiles(dir: string, base: string): string[] {
    const files = [path.join(dir, `${base}.conf`)];
    const d = path.join(dir, `${base}.d`);
    const list = (ext: string) =>
        fs.existsSync(d)
            ? fs
                  .readdirSync(d)
                  .filter(f => f.endsWith(ext))
                  .sort()
                  .map(f => path.join(d, f))
            : [];
    files.push(...list(".conf"), path.join(dir, `${base}.local`), ...list(".local"));
    return files;
}

/** Reads jail.conf, jail.d/*.conf, jail.local, jail.d/*.local (and their includes) from `dir`. */
export function readJailConfig(dir: string): JailConfig {
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
        throw new ConfigError({ file: dir }, "configuration directory does not exist");
    }
    const store = new ConfigStore({ hashComments: (_s, key) => !isRegexKey(key) });
    store.readFiles(jailFiles(dir, "jail"));
    if (store.files.length === 0) {
        throw new ConfigError({ file: path.join(dir, "jail.conf") }, "no jail.conf, jail.local or jail.d/*.conf found");
    }
    // A jail's failregex may say `%(known/failregex)s` meaning the filter's: resolved later by loadFilter.
    const keep = { keepUnresolved: (name: string) => name.startsWith("known/") };
    return {
        dir,
        files: store.files,
        jailNames: () => store.sectionOrder.filter(s => s !== DEFAULT),
        keys: jail => store.keys(jail),
        get: (jail, key) => {
            if (!store.sections.has(jail)) return undefined;
            const v = store.get(jail, key, undefined, keep);
            return v && { value: v.value, origin: v.origin };
        },
    };
}

/** Splits `name[key=value, key2="v, 2"]` into name and arguments. */
export function parseFilterSpec(
    spec: string,
    origin: Partial<ConfigOrigin> = {},
): { name: string; args: Record<string, string> } {
    const s = spec.trim();
    const open = s.indexOf("[");
    if (open < 0) return { name: s, args: {} };
    if (!s.endsWith("]"))
        throw new ConfigError(origin, `bad filter specification ${JSON.stringify(spec)}: missing "]"`);
    const name = s.slice(0, open).trim();
    const body = s.slice(open + 1, -1);
    const args: Record<string, string> = {};
    let i = 0;
    while (i < body.length) {
        while (i < body.length && /[\s,]/.test(body[i])) i++;
        if (i >= body.length) break;
        const eq = body.indexOf("=", i);
        if (eq < 0) throw new ConfigError(origin, `bad filter argument in ${JSON.stringify(spec)}: expected key=value`);
        const key = body.slice(i, eq).trim().toLowerCase();
        i = eq + 1;
        while (body[i] === " ") i++;
        let value = "";
        const q = body[i];
        if (q === '"' || q === "'") {
            const end = body.indexOf(q, i + 1);
            if (end < 0) throw new ConfigError(origin, `unterminated quote in filter argument ${key}`);
            value = body.slice(i + 1, end);
            i = end + 1;
        } else {
            let depth = 0;
            const st = i;
            while (i < body.length && !(depth === 0 && body[i] === ",")) {
                if (body[i] === "[") depth++;
                else if (body[i] === "]") depth--;
                i++;
            }
            value = body.slice(st, i).trim();
        }
        args[key] = value;
    }
    return { name, args };
}

const REGEX_KEYS = ["failregex", "ignoreregex", "prefregex", "datepattern", "maxlines", "usedns", "journalmatch"];

function filterFiles(file: string): string[] {
    // x.conf, x.d/*.conf, x.local, x.d/*.local (the .local of x.conf is added by the store's include expansion).
    const base = file.replace(/\.(conf|local)$/, "");
    const d = `${base}.d`;
    const list = (ext: string) =>
        fs.existsSync(d)
            ? fs
                  .readdirSync(d)
                  .filter(f => f.endsWith(ext))
                  .sort()
                  .map(f => path.join(d, f))
            : [];
    return [file, ...list(".conf"), `${base}.local`, ...list(".local")];
}

function buildFilter(
    name: string,
    files: string[],
    args: Record<string, string>,
    jailValues: Record<string, string> = {},
): FilterDefinition {
    const store = new ConfigStore();
    store.readFiles(files);
    if (store.files.length === 0) throw new ConfigError({ file: files[0] }, `filter ${JSON.stringify(name)} not found`);
    const main = store.files[0];
    const def = "Definition";
    const lower = (o: Record<string, string>) =>
        Object.fromEntries(Object.entries(o).map(([k, v]) => [k.toLowerCase(), v]));
    // Interpolation variables: the jail's values, overridden by the `name[key=value]` arguments (fail2ban's pOpts).
    const vars: Record<string, string> = { ...lower(jailValues), ...lower(args) };
    // [Init] values count as tag sources unless an argument overrides them; `known/x` keeps the file's value.
    const init: Record<string, string> = { ...lower(args) };
    // fail2ban's auto option: a jail reading the systemd journal gets the journal flavour of the filter.
    const backend = (lower(jailValues).backend ?? "").trim();
    if (backend.startsWith("systemd") && !("logtype" in init) && !store.sections.get(def)?.has("logtype"))
        init.logtype = "journal";
    if (store.sections.has("Init")) {
        for (const key of store.keys("Init", false)) {
            const v = store.get("Init", key)!.value;
            init[`known/${key}`] = v;
            if (!(key in init)) init[key] = v;
        }
    }
    const originOf = (key: string): ConfigOrigin =>
        key in vars
            ? { file: `${main} (value given by the jail or as filter argument)`, line: 0, key }
            : (store.entry(def, key)?.origin ?? { file: main, line: 0, key });
    const combined = new Map<string, string>();
    for (const key of REGEX_KEYS) {
        const v = store.get(def, key, vars);
        if (v !== undefined) combined.set(key, v.value);
    }
    for (const [k, v] of Object.entries(init)) combined.set(k, v);
    // Tag lookup: combined options first, then any Definition/DEFAULT option or `section/option`.
    const cache = new Map<string, string | undefined>();
    const lookup = (tag: string): string | undefined => {
        if (combined.has(tag)) return combined.get(tag);
        if (cache.has(tag)) return cache.get(tag);
        let v: string | undefined;
        const slash = tag.indexOf("/");
        if (slash > 0) {
            const sec = tag.slice(0, slash);
            const opt = tag.slice(slash + 1).toLowerCase();
            if (sec.toLowerCase() === "known") {
                // The value before the last override (a .local or a later include), else the current one.
                const prev = store.entry(def, opt)?.previous;
                v =
                    prev !== undefined
                        ? store.interpolate(prev.raw, {
                              section: def,
                              vars,
                              origin: prev.origin,
                              key: opt,
                              entry: prev,
                              depth: 0,
                              opts: {},
                          })
                        : store.get(def, opt, vars)?.value;
            } else if (sec.toLowerCase() === "default")
                v = store.defaults.has(opt) ? store.get(DEFAULT, opt, vars)?.value : undefined;
            else if (store.sections.has(sec)) v = store.get(sec, opt, vars)?.value;
        } else if (/^[\w.-]+$/.test(tag) && !/^F-|^\/F-/.test(tag)) {
            v = store.get(def, tag.toLowerCase(), vars)?.value;
        }
        cache.set(tag, v);
        return v;
    };
    const final = (key: string): string | undefined => {
        const v = combined.get(key);
        return v === undefined ? undefined : substituteTags(v, lookup, originOf(key));
    };
    const lines = (v: string | undefined) =>
        (v ?? "")
            .split("\n")
            .map(l => l.trim())
            .filter(l => l !== "");
    const options: Record<string, string> = {};
    for (const key of new Set([...store.keys(def), ...store.keys("Init", false), ...Object.keys(args)])) {
        if (REGEX_KEYS.includes(key) || key.startsWith("known/")) continue;
        try {
            const v = combined.has(key) ? combined.get(key)! : store.get(def, key, vars)?.value;
            if (v !== undefined) options[key] = substituteTags(v, lookup, originOf(key));
        } catch {
            // Helper values that only make sense inside a regex may not resolve on their own; they are not needed.
        }
    }
    let maxlines: number | undefined;
    const ml = final("maxlines");
    if (ml !== undefined && ml.trim() !== "") {
        maxlines = Number(ml.trim());
        if (!Number.isInteger(maxlines) || maxlines < 1)
            throw new ConfigError(
                originOf("maxlines"),
                `maxlines must be a positive integer, got ${JSON.stringify(ml)}`,
            );
    }
    const pref = final("prefregex");
    const dp = final("datepattern");
    const usedns = final("usedns");
    const journalmatch = final("journalmatch");
    if (usedns !== undefined) options.usedns = usedns;
    // A jail's fixed zone for lines without one (fail2ban's logtimezone) travels with the filter to its compiler.
    const ltz = lower(jailValues).logtimezone;
    if (ltz !== undefined && ltz.trim() !== "") options.logtimezone = ltz.trim();
    if (journalmatch !== undefined) options.journalmatch = journalmatch;
    const result: FilterDefinition = {
        name,
        failregex: lines(final("failregex")),
        ignoreregex: lines(final("ignoreregex")),
        prefregex: pref && pref.trim() !== "" ? pref.trim() : undefined,
        datepattern: dp && dp.trim() !== "" ? dp.trim() : undefined,
        maxlines,
        options,
        origins: Object.fromEntries(
            ["failregex", "ignoreregex", "prefregex", "datepattern", "maxlines"].map(k => [k, originOf(k)]),
        ),
    };
    // fail2ban-regex --verbosity=2 shows these: logtype and datepattern, then the init options (arguments, then
    // [Init] with their known/ copies), as fail2ban's reader collects them. Kept aside, out of the definition.
    const real: Array<[string, string]> = [];
    const defLogtype = store.get(def, "logtype", vars)?.value;
    for (const key of new Set(["logtype", "datepattern", ...Object.keys(init)])) {
        let v: string | undefined;
        if (key === "logtype") v = init.logtype ?? defLogtype ?? "file";
        else if (combined.has(key)) v = final(key);
        else v = store.get(def, key, vars)?.value;
        if (v !== undefined) real.push([key, v]);
    }
    realOptions.set(result, real);
    return result;
}

const realOptions = new WeakMap<FilterDefinition, Array<[string, string]>>();

/** The options fail2ban-regex --verbosity=2 prints for a filter read from a file ("Real  filter options"). */
export function filterRealOptions(def: FilterDefinition): Array<[string, string]> | undefined {
    return realOptions.get(def);
}

/**
 * Loads filter.d/<name>.conf (+ .local, includes) from a configuration directory. `filterSpec` may carry
 * arguments (`sshd[mode=aggressive]`). `jailValues` are the jail's own settings: they are interpolation
 * variables, and the jail's failregex/ignoreregex/prefregex/datepattern/maxlines override the filter's
 * (`%(known/failregex)s` in them means the filter's value).
 */
export function loadFilter(dir: string, filterSpec: string, jailValues?: Record<string, string>): FilterDefinition {
    const { name, args } = parseFilterSpec(filterSpec);
    if (!/^[\w.@+-]+$/.test(name))
        throw new ConfigError({ file: dir, key: "filter" }, `bad filter name ${JSON.stringify(name)}`);
    const file = path.join(dir, "filter.d", `${name}.conf`);
    const local = path.join(dir, "filter.d", `${name}.local`);
    if (!fs.existsSync(file) && !fs.existsSync(local)) {
        throw new ConfigError({ file, key: "filter" }, `filter ${JSON.stringify(name)} not found`);
    }
    return buildFilter(name, fs.existsSync(file) ? filterFiles(file) : [local], args, jailValues);
}

/** Loads a filter from a file path (what `jailwatch regex LOG FILTERFILE` uses). */
export function loadFilterFile(file: string, args: Record<string, string> = {}): FilterDefinition {
    if (!fs.existsSync(file)) throw new ConfigError({ file }, "filter file not found");
    const name = path.basename(file).replace(/\.(conf|local)$/, "");
    return buildFilter(name, file.endsWith(".conf") ? filterFiles(file) : [file], args);
}

/** Whether action.d has NAME.conf or NAME.local (what fail2ban would load for `action = NAME[...]`). */
export function actionExists(dir: string, name: string): boolean {
    return ["conf", "local"].some(ext => fs.existsSync(path.join(dir, "action.d", `${name}.${ext}`)));
}
