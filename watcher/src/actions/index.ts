// Picks a backend for a jail's `banaction`: fail2ban's nftables-* actions map to our nftables backend, its
// iptables-* actions to iptables-ipset (set-based, never one rule per address), `dummy` logs only.

import { DummyAction } from "./dummy";
import { GenericAction } from "./generic";
import { Exec, spawnExec } from "./exec";
import { IpsetAction } from "./ipset";
import { ActionLog, NftablesAction } from "./nftables";
import { BanAction } from "./types";
import { BackendName } from "./backend";

export { backendFor } from "./backend";
export type { BackendName } from "./backend";

export function createAction(name: BackendName, log: ActionLog, exec: Exec = spawnExec): BanAction {
    switch (name) {
        case "nftables":
            return new NftablesAction(log, exec);
        case "iptables-ipset":
            return new IpsetAction(log, exec);
        case "dummy":
            return new DummyAction(log);
        case "generic":
            return new GenericAction(log);
    }
}

export * from "./types";
