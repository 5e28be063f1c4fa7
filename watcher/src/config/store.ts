// A set of ini files merged the way fail2ban merges them, plus `%(name)s` interpolation.
//
// Merge order is the read order: later files override earlier ones key by key. The value a key had before it was
// overridden stays reachable as `%(known/key)s` (fail2ban's "KNOWN/<section>"), falling back to [DEFAULT].
// `[INCLUDES] before/after` lists are expanded around the including file, each file followed by its `.local`.

import * as fs from "fs";
import * as path from "path";
import { ConfigError, ConfigOrigin } from "../types";
import { IniOptions, parseIni } from "./ini";

export interface StoreEntry {
    raw: string;
    origin: ConfigOrigin;
    /** The value this one overrode (from an earlier file), for `%(known/...)s`. */
    previous?: StoreEntry;
}

export const DEFAULT = "DEFAULT";
const INCLUDES = "INCLUDES";
const MAX_DEPTH = 20;

/** `x.conf` -> [`x.conf`, `x.local`] when the .local exists and is not already listed. */
export function withLocal(files: string[]): string[] {
    const out: string[] = [];
    for (const f of files) {
        out.push(f);
        const local = f.replace(/\.[^./]*$/, "") + ".local";
        if (local !== f && !files.includes(local) && fs.existsSync(local)) out.push(local);
    }
    return out;
}

export class ConfigStore {
    readonly defaults = new Map<string, StoreEntry>();
    readonly sections = new Map<string, Map<string, StoreEntry>>();
    /** Section names (not DEFAULT/INCLUDES) in first-seen order. */
    readonly sectionOrder: string[] = [];
    /** Files actually read, in order. */
    readonly files: string[] = [];

    constructor(private readonly iniOptions: IniOptions = {}) {}

    /** Reads files (each expanded with its .local and its includes); missing files are skipped like fail2ban. */
    readFiles(files: string[]): void {
        for (const f of this.expand(withLocal(files), [])) this.addFile(f);
    }

    private expand(files: string[], seen: string[]): string[] {
        const out: string[] = [];
        for (const f of files) {
            if (!fs.existsSync(f)) continue;
            const ini = parseIni(fs.readFileSync(f, "utf8"), f, this.iniOptions);
            const inc = ini.sections.find(s => s.name === INCLUDES);
            const before: string[] = [];
            const after: string[] = [];
            if (inc) {
                for (const [which, list] of [
                    ["before", before],
                    ["after", after],
                ] as const) {
                    const e = inc.entries.get(which);
                    if (!e) continue;
                    for (const name of e.raw
                        .split("\n")
                        .map(s => s.trim())
                        .filter(Boolean)) {
                        const p = path.isAbsolute(name) ? name : path.join(path.dirname(f), name);
                        if (seen.includes(p) || p === f) continue;
                        list.push(...this.expand(withLocal([p]), [...seen, f]));
                    }
                }
            }
            out.push(...before, f, ...after);
        }
        return out;
    }

    private addFile(file: string): void {
        const ini = parseIni(fs.readFileSync(file, "utf8"), file, this.iniOptions);
        this.files.push(file);
        for (const sec of ini.sections) {
            if (sec.name === INCLUDES) continue;
            let target: Map<string, StoreEntry>;
            if (sec.name === DEFAULT) {
                target = this.defaults;
            } else {
                target = this.sections.get(sec.name) ?? new Map();
                if (!this.sections.has(sec.name)) {
                    this.sections.set(sec.name, target);
                    this.sectionOrder.push(sec.name);
                }
            }
            for (const [key, e] of sec.entries) {
                target.set(key, { raw: e.raw, origin: e.origin, previous: target.get(key) });
            }
        }
    }

    /** Raw entry of key in section, falling back to [DEFAULT]. */
    entry(section: string, key: string): StoreEntry | undefined {
        return this.sections.get(section)?.get(key) ?? this.defaults.get(key);
    }

    /** Keys of a section, own keys first then DEFAULT's (no duplicates). */
    keys(section: string, withDefaults = true): string[] {
        const own = [...(this.sections.get(section)?.keys() ?? [])];
        if (!withDefaults) return own;
        for (const k of this.defaults.keys()) if (!own.includes(k)) own.push(k);
        return own;
    }

    /**
     * Interpolated value of section/key. `vars` take precedence over the section (like configparser's `vars`),
     * both for the key itself and for `%(name)s` references.
     */
    get(
        section: string,
        key: string,
        vars?: Record<string, string>,
        opts: InterpOptions = {},
    ): { value: string; origin: ConfigOrigin } | undefined {
        key = key.toLowerCase();
        if (vars && Object.prototype.hasOwnProperty.call(vars, key)) {
            const origin = { file: "<arguments>", line: 0, key };
            return {
                value: this.varValue(vars[key], { section, vars, origin, key, depth: 0, opts, fromVars: true }),
                origin,
            };
        }
        const e = this.entry(section, key);
        if (!e) return undefined;
        return {
            value: this.interpolate(e.raw, { section, vars, origin: e.origin, key, entry: e, depth: 0, opts }),
            origin: e.origin,
        };
    }

    interpolate(raw: string, ctx: InterpContext): string {
        if (raw.indexOf("%") < 0) return raw;
        if (ctx.depth > MAX_DEPTH) {
            throw new ConfigError(ctx.origin, "interpolation too deep (a %(name)s reference loops?)");
        }
        let out = "";
        let i = 0;
        while (i < raw.length) {
            const p = raw.indexOf("%", i);
            if (p < 0) {
                out += raw.slice(i);
                break;
            }
            out += raw.slice(i, p);
            const next = raw[p + 1];
            if (next === "%") {
                out += "%";
                i = p + 2;
                continue;
            }
            const m = next === "(" ? /^%\(([^)]+)\)s/.exec(raw.slice(p)) : null;
            if (!m) {
                throw new ConfigError(
                    ctx.origin,
                    `bad interpolation at ${JSON.stringify(raw.slice(p, p + 12))}: "%" must be followed by "%" or "(name)s"`,
                );
            }
            const name = m[1].toLowerCase();
            const rep = this.lookup(name, ctx);
            if (rep === undefined) {
                if (ctx.opts.keepUnresolved?.(name)) {
                    out += m[0];
                    i = p + m[0].length;
                    continue;
                }
                throw new ConfigError(ctx.origin, `unknown option ${m[0]} referenced in [${ctx.section}]`);
            }
            out += rep;
            i = p + m[0].length;
        }
        return out;
    }

    /**
     * Variables (a jail's values, filter arguments) arrive already interpolated: they are taken literally, except
     * `%(known/key)s`, which a jail uses to extend what the filter defines.
     */
    private varValue(v: string, ctx: InterpContext): string {
        if (v.indexOf("%(known/") < 0) return v;
        return v.replace(
            /%\(known\/([^)]+)\)s/gi,
            (m, key: string) => this.lookup(`known/${key.toLowerCase()}`, ctx) ?? m,
        );
    }

    private lookup(name: string, ctx: InterpContext): string | undefined {
        const sub = (e: StoreEntry | undefined, section: string, key: string): string | undefined =>
            e === undefined
                ? undefined
                : this.interpolate(e.raw, {
                      ...ctx,
                      section,
                      key,
                      entry: e,
                      origin: e.origin,
                      depth: ctx.depth + 1,
                      fromVars: false,
                  });
        if (name === "__name__") return ctx.section;
        const slash = name.indexOf("/");
        if (slash > 0) {
            const sec = name.slice(0, slash);
            const opt = name.slice(slash + 1);
            if (sec === "known") {
                if (ctx.fromVars) {
                    // A jail's own value referring to what the filter defines (`failregex = %(known/failregex)s ...`).
                    return sub(this.entry(ctx.section, opt), ctx.section, opt);
                }
                const self = ctx.key === opt ? ctx.entry : this.sections.get(ctx.section)?.get(opt);
                if (self?.previous) return sub(self.previous, ctx.section, opt);
                const d = this.defaults.get(opt);
                return sub(d === ctx.entry ? d?.previous : d, ctx.section, opt);
            }
            if (sec === "default") return sub(this.defaults.get(opt), ctx.section, opt);
            const section = [...this.sections.keys()].find(s => s.toLowerCase() === sec);
            if (section === undefined) return undefined;
            return sub(this.entry(section, opt), ctx.section, opt);
        }
        if (ctx.vars && Object.prototype.hasOwnProperty.call(ctx.vars, name) && !(ctx.fromVars && ctx.key === name)) {
            return this.varValue(ctx.vars[name], { ...ctx, key: name, depth: ctx.depth + 1, fromVars: true });
        }
        if (name === ctx.key && ctx.entry) {
            // `x = %(x)s more` refers to the overridden value, never to itself.
            return sub(
                ctx.entry.previous ?? (this.defaults.get(name) === ctx.entry ? undefined : this.defaults.get(name)),
                ctx.section,
                name,
            );
        }
        return sub(this.entry(ctx.section, name), ctx.section, name);
    }
}

export interface InterpOptions {
    /** Leave `%(name)s` as written instead of failing when name cannot be resolved. */
    keepUnresolved?: (name: string) => boolean;
}

export interface InterpContext {
    section: string;
    vars?: Record<string, string>;
    origin: ConfigOrigin;
    key: string;
    entry?: StoreEntry;
    depth: number;
    opts: InterpOptions;
    fromVars?: boolean;
}
