// Which native backend runs a fail2ban ban action name: nftables-* -> our nftables sets, iptables-*/ip6tables-* ->
// iptables-ipset (set-based, never one rule per address), dummy -> nothing. Pure, shared by settings and server.

/** `generic` runs action.d commands (actions/generic.ts); backendFor never returns it: it is not a ban action name. */
export type BackendName = "nftables" | "iptables-ipset" | "dummy" | "generic";

export function backendFor(banaction: string): BackendName | undefined {
    const a = banaction.trim().split(/[\s[]/)[0].toLowerCase();
    if (a === "" || a.startsWith("nftables")) return "nftables";
    if (a.startsWith("iptables") || a.startsWith("ip6tables")) return "iptables-ipset";
    if (a === "dummy") return "dummy";
    return undefined;
}
