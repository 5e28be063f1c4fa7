// Builds the peer link from the server options, or nothing when no peers are configured.

import type { PeerHooks } from "../server/interfaces";
import type { Logger } from "../server/log";
import type { PeerOptions } from "../server/options";
import { PeerLink, readSecret } from "./link";

export function createPeerLink(opts: PeerOptions, log: Logger): PeerHooks | undefined {
    if (opts.peers.length === 0 || !opts.secretFile) return undefined;
    return new PeerLink(opts, readSecret(opts.secretFile), log);
}

export { PeerLink, readSecret } from "./link";
