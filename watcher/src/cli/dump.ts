// `jailwatch -d -c DIR`: every enabled jail's effective settings, one line per setting, each naming its jail:
//
//   [nginx-wp-xmlrpc] maxretry = 20    (jail.d/01-nginx-wp-xmlrpc.conf:9)
//
// Durations are printed in seconds (what the jail runs with); the parenthesis tells where a value was set
// (absent for built-in defaults). Errors go to stderr and make the exit status 1, as with -t.

import { ResolvedJail } from "../jail/settings";
import { formatDuration } from "../jail/time";
import { ConfigOrigin } from "../types";
import { loadJails, shortPath } from "./common";

export function dumpLines(jail: ResolvedJail, dir: string): string[] {
    const out: string[] = [];
    const from = (key: string): string => {
        const o: ConfigOrigin | undefined = jail.origins[key];
        return o ? `    (${shortPath(o.file, dir)}:${o.line})` : "";
    };
    const line = (key: string, value: string | number | boolean, originKey = key) =>
        out.push(`[${jail.name}] ${key} = ${value}${from(originKey)}`);
    const inc = jail.banIncrement;
    line("enabled", jail.enabled);
    line("filter", jail.filterSpec);
    for (const r of jail.filter.failregex) line("failregex", r, "filter");
    for (const r of jail.filter.ignoreregex) line("ignoreregex", r, "filter");
    if (jail.filter.prefregex) line("prefregex", jail.filter.prefregex, "filter");
    if (jail.filter.datepattern) line("datepattern", jail.filter.datepattern.replace(/\n/g, " | "), "filter");
    if (jail.filter.maxlines) line("maxlines", jail.filter.maxlines, "filter");
    for (const p of jail.logpath) line("logpath", p);
    line("maxretry", jail.maxretry);
    line("findtime", `${jail.findtime} (${formatDuration(jail.findtime)})`);
    line("bantime", `${jail.bantime} (${formatDuration(jail.bantime)})`);
    line("bantime.increment", inc.enabled);
    if (inc.enabled) {
        line("bantime.factor", inc.factor);
        line("bantime.multipliers", inc.multipliers.join(" ") || "(formula: bantime * 2^n * factor)");
        line("bantime.maxtime", inc.maxtime ? `${inc.maxtime} (${formatDuration(inc.maxtime)})` : "none");
        line("bantime.rndtime", inc.rndtime);
        line("bantime.overalljails", inc.overalljails);
    }
    line("ignoreip", jail.ignoreip.join(" ") || "(none)");
    line("ignoreself", jail.ignoreself);
    line("ipv6prefix", jail.ipv6Prefix);
    line("port", jail.port);
    line("protocol", jail.protocol);
    line("banaction", jail.banaction);
    line("backend", jail.backend);
    if (jail.journal)
        line("journalmatch", jail.journal.matches.map(g => g.join(" ")).join(" + ") || "(none: every entry)", "filter");
    line("usedns", jail.usedns);
    return out;
}

export function runDump(dir: string, out: (s: string) => void, err: (s: string) => void): number {
    const { jails, errors } = loadJails(dir);
    out(`# jailwatch: ${jails.length} enabled jail(s) from ${dir}`);
    for (const j of jails) for (const l of dumpLines(j, dir)) out(l);
    for (const e of errors) err(`ERROR: ${e.message}`);
    return errors.length > 0 ? 1 : 0;
}
