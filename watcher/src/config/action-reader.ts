// Reads action.d/NAME.conf (+ .local, [INCLUDES] before/after) into an ActionDefinition for one jail, the way
// fail2ban combines them: [Init] values, overridden by the `action[key=value]` arguments, are the variables of
// `%(...)s` interpolation and the sources of `<tag>` values; `name` defaults to the jail's name and `actname` to
// the action's. `[Init?family=inet6]` sections give family-specific values.

import * as fs from "fs";
import * as path from "path";
import { ActionDefinition, CommandName, COMMANDS } from "../actions/definition";
import { parseBool, parseDuration } from "../jail/time";
import { ConfigError, ConfigOrigin } from "../types";
import { ConfigStore } from "./store";

const DEFAULT_TIMEOUT = 60;

export function actionFile(dir: string, name: string): string | undefined {
    for (const ext of ["conf", "local"]) {
        const f = path.join(dir, "action.d", `${name}.${ext}`);
        if (fs.existsSync(f)) return f;
    }
    return undefined;
}

/** Loads action `name` with arguments `args` for jail `jail`; throws ConfigError (file, line, key) when it cannot. */
export function loadAction(
    dir: string,
    name: string,
    args: Record<string, string>,
    jail: string,
    origin?: Partial<ConfigOrigin>,
): ActionDefinition {
    if (!/^[\w.@+-]+$/.test(name))
        throw new ConfigError(origin ?? { key: "action" }, `bad action name ${JSON.stringify(name)} in jail [${jail}]`);
    const file = actionFile(dir, name);
    if (!file)
        throw new ConfigError(
            origin ?? { key: "action" },
            `unknown action ${JSON.stringify(name)}: no action.d/${name}.conf in jail [${jail}]`,
        );
    const store = new ConfigStore();
    store.readFiles([file]);
    const lowerArgs: Record<string, string> = {};
    for (const [k, v] of Object.entries(args)) lowerArgs[k.toLowerCase()] = v;
    lowerArgs.name ??= jail;
    lowerArgs.actname ??= name;

    const vars: Record<string, string> = { ...lowerArgs };
    const init: Record<string, string> = {};
    for (const key of store.keys("Init", false)) {
        if (key in lowerArgs) continue;
        init[key] = store.get("Init", key, lowerArgs)!.value;
    }
    Object.assign(vars, init, lowerArgs);
    const props: Record<string, string> = {};
    const origins: Partial<Record<CommandName, ConfigOrigin>> = {};
    for (const key of store.keys("Definition")) {
        const isCommand = (COMMANDS as readonly string[]).includes(key.split("?")[0]);
        try {
            const v = store.get("Definition", key, vars);
            if (v) props[key] = v.value;
            if (isCommand && v) origins[key.split("?")[0] as CommandName] ??= v.origin;
        } catch (e) {
            // A helper option that does not interpolate matters only if a command uses it (then that one fails).
            if (isCommand) throw e;
        }
    }
    Object.assign(props, vars);
    let conditional = false;
    for (const sec of store.sectionOrder) {
        const m = /^Init\?(family=inet[46])$/.exec(sec);
        if (!m) continue;
        conditional = true;
        for (const key of store.keys(sec, false)) {
            if (key in lowerArgs) continue;
            props[`${key}?${m[1]}`] = store.get(sec, key, vars)!.value;
        }
    }
    if (Object.keys(props).some(k => k.includes("?family="))) conditional = true;

    const at = (key: string): Partial<ConfigOrigin> =>
        store.entry("Definition", key)?.origin ?? store.entry("Init", key)?.origin ?? { file, key };
    const timeoutText = props.timeout ?? String(DEFAULT_TIMEOUT);
    const timeout = parseDuration(timeoutText);
    if (timeout === undefined || timeout <= 0)
        throw new ConfigError(
            at("timeout"),
            `invalid timeout ${JSON.stringify(timeoutText)} of action "${name}" in jail [${jail}]: expected a positive time`,
        );
    const flag = (key: string, dflt: boolean): boolean => {
        const t = props[key];
        if (t === undefined || t.trim() === "") return dflt;
        const b = parseBool(t);
        if (b === undefined)
            throw new ConfigError(
                at(key),
                `invalid value ${JSON.stringify(t)} of action "${name}" in jail [${jail}]: expected true or false`,
            );
        return b;
    };
    return {
        name,
        file,
        props,
        origins,
        timeout,
        norestored: flag("norestored", false),
        startOnDemand: flag("actionstart_on_demand", conditional),
        repairOnUnban: flag("actionrepair_on_unban", false),
        conditional,
    };
}
