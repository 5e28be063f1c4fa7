// Picks a backend for a jail's `banaction`: fail2ban's nftables-* actions map to our nftables backend, its
// iptables-* actions to iptables-ipset (set-based, never one rule per address), `dummy` logs only.

import { DummyAction } from "./dummy";
import { Exec, spawnExec } from "./exec";
import { IpsetAction } from "./ipset";
import { ActionLog, NftablesAction } from "./nftables";
import { BanAction } from "./types";

export type BackendName = "nftables" | "iptables-ipset" | "dummy";

export function backendFor(banaction: string): BackendName | undefined {
    const a = banaction.trim().split(/[\s[]/)[0].toLowerCase();
    if (a === "" || a.startsWith("nftables")) return "nftables";
    if (a.startsWith("iptables") || a.startsWith("ip6tables")) return "iptables-ipset";
    if (a === "dummy") return "dummy";
    return undefined;
}

export function createAction(name: BackendName, log: ActionLog, exec: Exec = spawnExec): BanAction {
    switch (name) {
        case "nftables":
            return new NftablesAction(log, exec);
        case "iptables-ipset":
            return new IpsetAction(log, exec);
        case "dummy":
            return new DummyAction(log);
    }
}

export * from "./types";
