// `get JAIL KEY` and `set JAIL KEY VALUE` on a running jail, answered as fail2ban's server answers them (values
// first, texts from control/format.ts). Changes last until the next reload, as in fail2ban.

import { expandTags } from "../filter/tags";
import { compileFilter } from "../filter/filter";
import { IPNetwork } from "../jail/ipaddr";
import { parseDuration } from "../jail/time";
import type { Filter } from "../types";
import type { RuntimeJail } from "../server/interfaces";
import type { LogLevel } from "../server/log";
import {
    formatActions,
    formatDatePattern,
    formatIgnoreList,
    formatJournalMatch,
    formatLogpath,
    formatRegexList,
} from "./format";
import type { ControlResponse } from "./protocol";

const ok = (text: string): ControlResponse => ({ ok: true, text });
const fail = (error: string): ControlResponse => ({ ok: false, error });

/** fail2ban's answer to a key it does not know. */
const NO_GET = "Invalid command (no get action or not yet implemented)";
const NO_SET = "Invalid command (no set action or not yet implemented)";

/** fail2ban keys jailwatch has no counterpart for: a clear refusal instead of fail2ban's "not implemented". */
const UNSUPPORTED_GET = new Set([
    "ignorecommand",
    "ignorecache",
    "maxmatches",
    "logtimezone",
    "action",
    "actionproperties",
    "actionmethods",
]);
const UNSUPPORTED_SET = new Set([
    "idle",
    "ignoreself",
    "ignorecommand",
    "ignorecache",
    "addlogpath",
    "dellogpath",
    "logencoding",
    "addjournalmatch",
    "deljournalmatch",
    "addfailregex",
    "delfailregex",
    "addignoreregex",
    "delignoreregex",
    "datepattern",
    "usedns",
    "attempt",
    "maxmatches",
    "maxlines",
    "addaction",
    "delaction",
    "action",
    "prefregex",
    "logtimezone",
]);

const LEVEL_NAMES: Record<LogLevel, string> = { error: "ERROR", warn: "WARNING", info: "INFO", debug: "DEBUG" };

/** `get KEY` without a jail: server settings. */
export function serverGet(loglevel: LogLevel, key: string): ControlResponse {
    if (key === "loglevel") return ok(`Current logging level is '${LEVEL_NAMES[loglevel]}'`);
    if (["logtarget", "syslogsocket", "dbfile", "dbmaxmatches", "dbpurgeage"].includes(key))
        return fail(
            `get ${key} is not supported by jailwatch (it logs to stderr or the journal and keeps its state in --state DIR)`,
        );
    return fail(NO_GET);
}

/** The ignore list as fail2ban shows it: networks (and names) in order, then single addresses; normalized. */
export function ignoreDisplay(list: string[]): string[] {
    const nets: string[] = [];
    const singles: string[] = [];
    for (const text of list) {
        const n = IPNetwork.parse(text);
        if (!n) nets.push(text);
        else if (n.prefix === (n.family === 4 ? 32 : 128)) singles.push(n.text);
        else nets.push(n.text);
    }
    return [...new Set([...nets, ...singles])];
}

export function jailGet(rj: RuntimeJail, key: string): ControlResponse {
    const s = rj.settings;
    const f = s.filter;
    const dns = s.usedns || "warn";
    switch (key) {
        case "maxretry":
            return ok(String(s.maxretry));
        case "findtime":
            return ok(String(s.findtime));
        case "bantime":
            return ok(String(s.bantime < 0 || !Number.isFinite(s.bantime) ? -1 : s.bantime));
        case "logpath":
            return ok(formatLogpath(rj.files));
        case "logencoding":
            return ok("Current log encoding is set to:\nUTF-8");
        case "journalmatch":
            // Only a journal-reading jail has a match filter (fail2ban's file backends show none either).
            return ok(formatJournalMatch(s.journal ? s.journal.matches : []));
        case "ignoreself":
            return ok(s.ignoreself ? "True" : "False");
        case "ignoreip":
            return ok(formatIgnoreList(ignoreDisplay(s.ignoreip)));
        case "failregex":
            return ok(formatRegexList(f.failregex.map(re => shownRegex(re, dns))));
        case "ignoreregex":
            return ok(formatRegexList(f.ignoreregex.map(re => shownRegex(re, dns))));
        case "prefregex":
            return ok(f.prefregex === undefined ? "" : shownRegex(f.prefregex, dns));
        case "datepattern": {
            if (f.datepattern === undefined) return ok(formatDatePattern(undefined, undefined));
            const names = (compileFilter(f) as Filter & { dateTemplateNames?: string[] }).dateTemplateNames ?? [];
            if (names.length === 0 || names.length > 2) return ok(formatDatePattern(undefined, undefined));
            return ok(formatDatePattern(f.datepattern.split("\n")[0].trim(), names[0]));
        }
        case "usedns":
            return ok(dns);
        case "maxlines":
            return ok(String(f.maxlines ?? 1));
        case "actions":
            return ok(formatActions(s.name, s.banaction ? [s.banaction] : []));
        default:
            if (UNSUPPORTED_GET.has(key) || key.startsWith("bantime."))
                return fail(`get ${s.name} ${key} is not supported by jailwatch`);
            return fail(NO_GET);
    }
}

// jailwatch ends its IPv6 pattern with `:` where fail2ban writes the equivalent `(?<=:):` (see filter/tags.ts);
// a regex is shown with fail2ban's spelling, so the text is the one fail2ban-client prints.
const OUR_IPV6_END = String.raw`(?:[0-9a-fA-F]{1,4}|:)))`;
const F2B_IPV6_END = String.raw`(?:[0-9a-fA-F]{1,4}|(?<=:):)))`;

function shownRegex(re: string, usedns: string): string {
    return expandTags(re, usedns).split(OUR_IPV6_END).join(F2B_IPV6_END);
}

/** fail2ban evaluates a time as Python; a bare word is an unknown name there. */
function badTime(v: string): string {
    return /^[A-Za-z_]\w*$/.test(v) ? `name '${v}' is not defined` : `invalid time: '${v}'`;
}

export function jailSet(rj: RuntimeJail, key: string, args: string[]): ControlResponse {
    const s = rj.settings;
    const v = args[0];
    if (SET_NEEDS_VALUE.has(key) && v === undefined) return fail("Sorry but the command is invalid");
    switch (key) {
        case "maxretry": {
            if (!/^\s*[+-]?\d+\s*$/.test(v)) return fail(`invalid literal for int() with base 10: '${v}'`);
            const n = Number(v);
            if (n < 1) return fail(`maxretry must be at least 1, got ${n}`);
            rj.jail.reconfigure({ maxretry: n });
            return ok(String(n));
        }
        case "findtime": {
            const n = parseDuration(v);
            if (n === undefined) return fail(badTime(v));
            if (n <= 0) return fail(`findtime must be positive, got ${v}`);
            rj.jail.reconfigure({ findtime: n });
            return ok(String(n));
        }
        case "bantime": {
            const n = parseDuration(v);
            if (n === undefined) return fail(badTime(v));
            if (n === 0) return fail("bantime 0 would ban nothing (a negative bantime is permanent)");
            rj.jail.reconfigure({ bantime: n });
            return ok(String(n < 0 ? -1 : n));
        }
        case "addignoreip": {
            const list = s.ignoreip.slice();
            const shown = new Set(ignoreDisplay(list));
            for (const text of args) {
                if (text === "") continue;
                const n = IPNetwork.parse(text);
                // fail2ban would take a name and resolve it on every check; jailwatch takes addresses only here.
                if (!n) return fail(`not an IP address or network: ${text} (host names are not resolved)`);
                if (shown.has(n.text)) continue;
                shown.add(n.text);
                list.push(text);
            }
            rj.jail.reconfigure({ ignoreip: list });
            return ok(formatIgnoreList(ignoreDisplay(list)));
        }
        case "delignoreip": {
            const n = IPNetwork.parse(v);
            const norm = n ? n.text : v;
            const at = s.ignoreip.findIndex(t => (IPNetwork.parse(t)?.text ?? t) === norm);
            if (at < 0) return fail("list.remove(x): x not in list");
            const list = s.ignoreip.slice();
            list.splice(at, 1);
            rj.jail.reconfigure({ ignoreip: list });
            return ok(formatIgnoreList(ignoreDisplay(list)));
        }
        default:
            if (UNSUPPORTED_SET.has(key) || key.startsWith("bantime."))
                return fail(`set ${s.name} ${key} is not supported by jailwatch (change the configuration and reload)`);
            return fail(NO_SET);
    }
}

const SET_NEEDS_VALUE = new Set(["maxretry", "findtime", "bantime", "addignoreip", "delignoreip"]);
