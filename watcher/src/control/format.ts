// fail2ban-client's output layout (tree drawn with |- and `-, a tab after each label), so scripts and habits that
// read fail2ban-client's status keep working.

export interface JailStatusView {
    name: string;
    currentlyFailed: number;
    totalFailed: number;
    fileList: string[];
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
        `|  \`- File list:\t${s.fileList.join(" ")}`,
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
