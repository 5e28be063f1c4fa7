// Server options: command line first, then `[server]` in jailwatch.conf / jailwatch.local of the config dir.

import * as fs from "fs";
import * as path from "path";
import { parseIni } from "../config/ini";
import { ConfigError } from "../types";
import type { LogLevel } from "./log";

export const DEFAULT_CONFIG_DIR = "/etc/jailwatch";
export const DEFAULT_SOCKET = "/run/jailwatch/jailwatch.sock";
export const DEFAULT_STATE_DIR = "/var/lib/jailwatch";
export const DEFAULT_PEER_PORT = 7478;

export interface PeerOptions {
    /** Peer addresses (host or host:port). */
    peers: string[];
    /** Port we listen on and default port of peers. */
    port: number;
    /** Address to listen on (default: all). */
    listen: string;
    /** File holding the shared secret (at least 16 bytes). */
    secretFile?: string;
    /** Idle peer connections are closed after this (ms); tests shorten it. */
    idleTimeoutMs?: number;
    /** Open peer connections at most. */
    maxConnections?: number;
}

/** The Prometheus scrape endpoint (`metricslisten` in `[server]`); absent: no endpoint, no port opened. */
export interface MetricsOptions {
    /** Address to bind; 127.0.0.1 unless `metricslisten` names one. */
    host: string;
    /** TCP port (0: any free port, for tests). */
    port: number;
    /** Idle scrape connections are closed after this (ms); default 10 s. */
    idleTimeoutMs?: number;
    /** Open scrape connections at most; default 16. */
    maxConnections?: number;
}

export interface ServerOptions {
    configDir: string;
    socket: string;
    stateDir: string;
    foreground: boolean;
    loglevel: LogLevel;
    /** Overrides every jail's banaction (nftables, iptables-ipset, dummy). */
    banaction?: string;
    /** Force polling instead of inotify (for file systems without it). */
    polling: boolean;
    peers: PeerOptions;
    /** The metrics endpoint; default none (off). */
    metrics?: MetricsOptions;
}

/** Reads `[server]` from jailwatch.conf and jailwatch.local in `dir` (both optional; .local wins). */
export function readServerSection(dir: string): Record<string, { value: string; file: string; line: number }> {
    const out: Record<string, { value: string; file: string; line: number }> = {};
    for (const name of ["jailwatch.conf", "jailwatch.local"]) {
        const file = path.join(dir, name);
        if (!fs.existsSync(file)) continue;
        const ini = parseIni(fs.readFileSync(file, "utf8"), file, { hashComments: () => true });
        for (const sec of ini.sections) {
            if (sec.name !== "server") continue;
            for (const [key, e] of sec.entries) out[key] = { value: e.raw.trim(), file, line: e.origin.line };
        }
    }
    return out;
}

/** Peer options from the `[server]` section: peers, peerport, peerlisten, peersecretfile. */
export function peerOptions(section: ReturnType<typeof readServerSection>): PeerOptions {
    const port = section.peerport;
    let p = DEFAULT_PEER_PORT;
    if (port) {
        p = Number(port.value);
        if (!Number.isInteger(p) || p < 1 || p > 65535)
            throw new ConfigError({ file: port.file, line: port.line, key: "peerport" }, `not a port: ${port.value}`);
    }
    const peers = section.peers ? section.peers.value.split(/[\s,]+/).filter(x => x) : [];
    const secretFile = section.peersecretfile?.value;
    if (peers.length > 0 && !secretFile) {
        const o = section.peers;
        throw new ConfigError(
            { file: o.file, line: o.line, key: "peers" },
            "peers need peersecretfile (a shared secret authenticates ban messages)",
        );
    }
    return { peers, port: p, listen: section.peerlisten?.value ?? "0.0.0.0", secretFile };
}

/**
 * `metricslisten` from `[server]`: `PORT` (on 127.0.0.1), `HOST:PORT` or `[V6]:PORT`; empty, `off` or absent: no
 * endpoint. Counters of what was banned are nobody else's business, so the default address is loopback.
 */
export function metricsOptions(section: ReturnType<typeof readServerSection>): MetricsOptions | undefined {
    const o = section.metricslisten;
    if (!o) return undefined;
    const v = o.value.trim();
    if (v === "" || /^(off|no|false|none)$/i.test(v)) return undefined;
    const m = /^(?:\[([0-9A-Fa-f:.]+)\]:|([^:\s[\]]+):)?(\d{1,5})$/.exec(v);
    const port = m ? Number(m[3]) : NaN;
    if (!m || port > 65535)
        throw new ConfigError(
            { file: o.file, line: o.line, key: "metricslisten" },
            `expected PORT, HOST:PORT or [IPv6]:PORT, got ${JSON.stringify(v)}`,
        );
    return { host: m[1] ?? m[2] ?? "127.0.0.1", port };
}
