// fail2ban-client's output layout (tree drawn with |- and `-, a tab after each label), so scripts and habits that
// read fail2ban-client's status keep working.

export interface JailStatusView {
    name: string;
    currentlyFailed: number;
    totalFailed: number;
    fileList: string[];
    /** A journal jail's match groups: shown instead of the file list, as fail2ban shows them. */
    journalMatches?: string[][];
    currentlyBanned: number;
    totalBanned: number;
    bannedList: string[];
}

export function formatStatus(jails: string[]): string {
    return ["Status", `|- Number of jail:\t${jails.length}`, `\`- Jail list:\t${jails.join(", ")}`].join("\n");
}

export function formatJailStatus(s: JailStatusView): string {
    return [
        `Status for the jail: ${s.name}`,
        "|- Filter",
        `|  |- Currently failed:\t${s.currentlyFailed}`,
        `|  |- Total failed:\t${s.totalFailed}`,
        s.journalMatches
            ? `|  \`- Journal matches:\t${s.journalMatches.map(g => g.join(" ")).join(" + ")}`
            : `|  \`- File list:\t${s.fileList.join(" ")}`,
        "`- Actions",
        `   |- Currently banned:\t${s.currentlyBanned}`,
        `   |- Total banned:\t${s.totalBanned}`,
        `   \`- Banned IP list:\t${s.bannedList.join(" ")}`,
    ].join("\n");
}

/** `banned`: fail2ban-client prints a Python-style list of {jail: [addresses]}. */
export function formatBanned(byJail: Array<[string, string[]]>): string {
    const q = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
    return `[${byJail.map(([j, ips]) => `{${q(j)}: [${ips.map(q).join(", ")}]}`).join(", ")}]`;
}

export function noSuchJail(name: string): string {
    return `Sorry but the jail '${name}' does not exist`;
}

/** Python's repr of a str, as fail2ban-client prints lists of names and addresses. */
export function pyRepr(s: string): string {
    if (s.includes("'") && !s.includes('"')) return `"${s.replace(/\\/g, "\\\\")}"`;
    return `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** `banned IP...`: for each address, the jails that ban it: `[['sshd'], []]`. */
export function formatBannedByIp(lists: string[][]): string {
    return `[${lists.map(l => `[${l.map(pyRepr).join(", ")}]`).join(", ")}]`;
}

/** `get JAIL banned [IP...]`: the jail's bans as a list; 1 or 0 for one address; `[1, 0]` for several. */
export function formatJailBanned(banned: string[], asked: string[]): string {
    if (asked.length === 0) return `[${banned.map(pyRepr).join(", ")}]`;
    const set = new Set(banned);
    const flags = asked.map(ip => (set.has(ip) ? 1 : 0));
    return flags.length === 1 ? String(flags[0]) : `[${flags.join(", ")}]`;
}

/** A tree of values the way fail2ban-client draws them: `|- a` ... `` `- last``. */
function tree(items: string[]): string {
    return items.map((x, i) => `${i === items.length - 1 ? "`-" : "|-"} ${x}`).join("\n");
}

export function formatLogpath(files: string[]): string {
    return files.length === 0 ? "No file is currently monitored" : `Current monitored log file(s):\n${tree(files)}`;
}

export function formatIgnoreList(list: string[]): string {
    return list.length === 0
        ? "No IP address/network is ignored"
        : `These IP addresses/networks are ignored:\n${tree(list)}`;
}

export function formatRegexList(list: string[]): string {
    if (list.length === 0) return "No regular expression is defined";
    return `The following regular expression are defined:\n${tree(list.map((re, i) => `[${i}]: ${re}`))}`;
}

export function formatActions(jail: string, actions: string[]): string {
    return actions.length === 0
        ? `No actions for jail ${jail}`
        : `The jail ${jail} has the following actions:\n${actions.join(", ")}`;
}

/** journalmatch: groups joined by " + " (each group's words by spaces), as fail2ban-client prints them. */
export function formatJournalMatch(groups: string[][]): string {
    return groups.length === 0
        ? "No journal match filter set"
        : `Current match filter:\n${groups.map(g => g.join(" ")).join(" + ")}`;
}

export function formatDatePattern(pattern: string | undefined, name: string | undefined): string {
    if (pattern === undefined) return "Current date pattern set to: Default Detectors";
    return `Current date pattern set to: ${pattern}${name !== undefined ? ` (${name})` : ""}`;
}

/** fail2ban's time2str: local time, `YYYY-MM-DD HH:MM:SS`; a permanent ban ends at 9999-12-31 23:59:59. */
export function time2str(epoch: number): string {
    if (!Number.isFinite(epoch)) return "9999-12-31 23:59:59";
    const d = new Date(Math.floor(epoch) * 1000);
    const p = (n: number) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export interface BanView {
    ip: string;
    start: number;
    end: number;
}

/** `get JAIL banip [SEP|--with-time]`: addresses ordered by end of ban (permanent last). */
export function formatBanip(bans: BanView[], arg: string | undefined): string {
    const sorted = bans.slice().sort((a, b) => a.end - b.end);
    if (arg === "--with-time") {
        return sorted
            .map(
                b =>
                    `${b.ip} \t${time2str(b.start)} + ${Number.isFinite(b.end) ? Math.round(b.end - b.start) : -1} = ${time2str(b.end)}`,
            )
            .join("\n");
    }
    return sorted.map(b => b.ip).join(arg ?? " ");
}
