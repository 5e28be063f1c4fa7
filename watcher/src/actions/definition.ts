// An action.d action as one jail runs it: its commands after `%(...)s` interpolation and the static `<tag>` pass,
// per address family. Built by config/action-reader.ts; run by generic.ts.

import * as os from "os";
import { ConfigOrigin } from "../types";
import { resolveStatic } from "./interpolate";

export const COMMANDS = [
    "actionstart",
    "actionstop",
    "actioncheck",
    "actionban",
    "actionunban",
    "actionflush",
    "actionrepair",
] as const;
export type CommandName = (typeof COMMANDS)[number];
export type Family = "inet4" | "inet6";

export interface ActionDefinition {
    /** The action's name as written in `action =` (`sendmail-whois-lines`). */
    name: string;
    /** action.d/NAME.conf (or .local) that defines it. */
    file: string;
    /** Every option after `%(...)s` interpolation (Definition, [Init], arguments), keys lower-case. */
    props: Record<string, string>;
    /** Where each command was set. */
    origins: Partial<Record<CommandName, ConfigOrigin>>;
    /** Seconds a command may run (fail2ban's `timeout`, default 60). */
    timeout: number;
    /** Skip actionban for bans restored at start (mail actions: no mail for old bans). */
    norestored: boolean;
    /** Run actionstart at the first ban of each family instead of at jail start (fail2ban's default when the action has `?family=` options). */
    startOnDemand: boolean;
    /** Whether a failed unban may repair the action (fail2ban's actionrepair_on_unban). */
    repairOnUnban: boolean;
    /** Whether some option depends on the family (`[Init?family=inet6]`). */
    conditional: boolean;
}

/** A command of `def` for `family` with its static tags resolved; "" when the action does not define it. */
export function staticCommand(
    def: ActionDefinition,
    cmd: CommandName,
    family: Family | undefined,
    unresolved?: Set<string>,
): string {
    const raw = (def.conditional && family ? def.props[`${cmd}?family=${family}`] : undefined) ?? def.props[cmd] ?? "";
    return resolveStatic(
        raw,
        { props: def.props, conditional: def.conditional && family ? `family=${family}` : "", hostname: os.hostname },
        unresolved ?? new Set(),
    ).trim();
}

/**
 * What keeps `def` from running: no actionban, or a tag that resolves to nothing. Empty when it can run.
 * Each problem names the action file and, when known, the line and key.
 */
export function definitionProblems(def: ActionDefinition): Array<{ origin: Partial<ConfigOrigin>; message: string }> {
    const out: Array<{ origin: Partial<ConfigOrigin>; message: string }> = [];
    if (!(def.props.actionban ?? "").trim())
        out.push({
            origin: { file: def.file, key: "actionban" },
            message: `action "${def.name}" defines no actionban: it cannot ban`,
        });
    for (const cmd of COMMANDS) {
        const unresolved = new Set<string>();
        try {
            for (const fam of def.conditional ? (["inet4", "inet6"] as const) : [undefined])
                staticCommand(def, cmd, fam, unresolved);
        } catch (e) {
            out.push({
                origin: def.origins[cmd] ?? { file: def.file, key: cmd },
                message: `action "${def.name}": ${(e as Error).message}`,
            });
            continue;
        }
        if (unresolved.size) {
            const list = [...unresolved].map(t => `<${t}>`).join(", ");
            out.push({
                origin: def.origins[cmd] ?? { file: def.file, key: cmd },
                message: `action "${def.name}": tag ${list} has no value (not an option of the action, not given as action[${[...unresolved][0]}=...])`,
            });
        }
    }
    return out;
}
