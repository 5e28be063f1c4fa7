// fail2ban's `<tag>` layer for action.d commands, in two passes, both pure:
//
// - static (once per jail and family): a tag naming an action option (Definition, [Init], `action[k=v]`
//   arguments) is replaced by that option's value, itself resolved the same way; `[Init?family=inet6]` values win
//   for IPv6. `<br>`, `<sp>`, `<fq-hostname>`, `<sh-hostname>` are built in. Tags that describe a ban (`<ip>`,
//   `<failures>`, `<F-USER>`...) are kept for the second pass; anything else is reported as unresolved.
// - dynamic (per ban): the ban's values, in one pass with no recursion, because they come from the log (an attacker
//   writes them). A value holding a shell metacharacter is never pasted into the command: it travels as an
//   environment variable and the command reads `$f2bV_tag`, as fail2ban does.

const TAG_RE = /<([^ <>]+)>/g;
const MAX_DEPTH = 20;

/** Tags whose value comes from the ban being carried out. */
const DYNAMIC = new Set([
    "ip",
    "family",
    "ip-rev",
    "ip-host",
    "fid",
    "failures",
    "time",
    "bantime",
    "bancount",
    "matches",
    "restored",
    "ipmatches",
    "ipjailmatches",
    "ipfailures",
    "ipjailfailures",
    "raw-ticket",
    "jail.banned",
    "jail.banned_total",
    "jail.found",
    "jail.found_total",
]);

export function isDynamicTag(tag: string): boolean {
    return DYNAMIC.has(tag) || tag.startsWith("F-");
}

/** Values built in (fail2ban's special tags); the host name is the machine's at resolution time. */
export function builtinTag(tag: string, hostname: () => string): string | undefined {
    switch (tag) {
        case "br":
            return "\n";
        case "sp":
            return " ";
        case "fq-hostname":
        case "sh-hostname": {
            const h = hostname();
            return tag === "sh-hostname" ? h.split(".")[0] : h;
        }
        default:
            return undefined;
    }
}

export interface StaticContext {
    /** Every option of the action after `%(...)s` interpolation, keys lower-case; conditional ones as `key?family=inet6`. */
    props: Record<string, string>;
    /** `family=inet4` or `family=inet6`, or "" when the action has no conditional options. */
    conditional: string;
    hostname: () => string;
}

/**
 * Replaces the static tags of `query`. Unknown tags are kept as written and their names added to `unresolved`
 * (-t reports them: a command run with `<chain>` left in it would be a shell redirection, not what was meant).
 */
export function resolveStatic(query: string, ctx: StaticContext, unresolved: Set<string>): string {
    const memo = new Map<string, string | undefined>();
    const valueOf = (tag: string, depth: number, stack: string[]): string | undefined => {
        if (memo.has(tag)) return memo.get(tag);
        const key = tag.toLowerCase();
        const raw = (ctx.conditional ? ctx.props[`${key}?${ctx.conditional}`] : undefined) ?? ctx.props[key];
        if (raw === undefined) return undefined;
        if (depth > MAX_DEPTH || stack.includes(key)) throw new Error(`tag <${tag}> refers to itself`);
        const v = substitute(raw, depth + 1, [...stack, key]);
        memo.set(tag, v);
        return v;
    };
    const substitute = (text: string, depth: number, stack: string[]): string =>
        text.indexOf("<") < 0
            ? text
            : text.replace(TAG_RE, (m, tag: string) => {
                  if (isDynamicTag(tag)) return m;
                  const v = valueOf(tag, depth, stack) ?? builtinTag(tag, ctx.hostname);
                  if (v !== undefined) return v;
                  unresolved.add(tag);
                  return m;
              });
    return substitute(query, 0, []);
}

/** What one ban hands to the dynamic pass. */
export type BanInfo = Record<string, string | undefined>;

const SHELL_SPECIAL = /[\\#&;`|*?~<>^()[\]{}$'"\n\r]/;

/**
 * Replaces the dynamic tags of an already static-resolved command. Returns the command and the environment
 * variables it reads. Tags without a value stay as written, except `<F-*>`, which become empty (a capture the
 * failregex did not make).
 */
export function resolveDynamic(cmd: string, info: BanInfo): { cmd: string; env: Record<string, string> } {
    const env: Record<string, string> = {};
    if (cmd.indexOf("<") < 0) return { cmd, env };
    const out = cmd.replace(TAG_RE, (m, tag: string) => {
        if (!isDynamicTag(tag)) return m;
        let v = info[tag];
        if (v === undefined) {
            if (!tag.startsWith("F-")) return m;
            v = "";
        }
        if (!SHELL_SPECIAL.test(v)) return v;
        const name = `f2bV_${tag.replace(/\W/g, "_")}`;
        env[name] = v;
        return `$${name}`;
    });
    return { cmd: out, env };
}

/** fail2ban's `<ip-rev>`: the address's labels reversed, ending with a dot (no in-addr.arpa suffix). */
export function reversedAddress(ip: string): string {
    if (ip.includes(":")) {
        const [head, tail = ""] = ip.split("::");
        const h = head ? head.split(":") : [];
        const t = tail ? tail.split(":") : [];
        const groups = ip.includes("::") ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
        const nibbles = groups
            .map(g => g.padStart(4, "0"))
            .join("")
            .split("");
        return nibbles.reverse().join(".") + ".";
    }
    return ip.split(".").reverse().join(".") + ".";
}
