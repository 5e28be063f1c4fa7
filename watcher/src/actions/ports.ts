// fail2ban's `port` and `protocol` values turned into firewall syntax.

import * as fs from "fs";

/** Port items from a fail2ban `port` value; [] means every port. `a:b` ranges are kept as [a, b]. */
export function parsePorts(port: string): Array<string | [string, string]> {
    const v = port.trim();
    if (v === "" || v === "all" || v === "any" || v === "0:65535" || v === "1:65535") return [];
    return v
        .split(/[\s,]+/)
        .filter(p => p.length > 0)
        .map(p => {
            if (!/^[A-Za-z0-9_.:-]+$/.test(p)) throw new Error(`invalid port ${JSON.stringify(p)}`);
            const m = /^([^:]+):([^:]+)$/.exec(p);
            return m ? ([m[1], m[2]] as [string, string]) : p;
        });
}

/** Protocols from a fail2ban `protocol` value; [] means every protocol. */
export function parseProtocols(protocol: string): string[] {
    const v = protocol.trim().toLowerCase();
    if (v === "" || v === "all") return [];
    const list = v.split(/[\s,]+/).filter(p => p.length > 0);
    for (const p of list)
        if (!["tcp", "udp", "sctp", "udplite", "dccp"].includes(p))
            throw new Error(`unsupported protocol ${JSON.stringify(p)}`);
    return list;
}

let services: Set<string> | undefined | null;

/** Service names nft and iptables resolve (from /etc/services); null when the file is missing (not checked then). */
function serviceNames(): Set<string> | null {
    if (services !== undefined) return services;
    try {
        services = new Set();
        for (const line of fs.readFileSync("/etc/services", "utf8").split("\n")) {
            const words = line.replace(/#.*/, "").trim().split(/\s+/);
            if (words.length < 2 || !/^\d+\//.test(words[1])) continue;
            services.add(words[0].toLowerCase());
            for (const alias of words.slice(2)) services.add(alias.toLowerCase());
        }
    } catch {
        services = null;
    }
    return services;
}

/**
 * What is wrong with a `port` value the firewall would refuse, or undefined. Checked at -t and at start, so one
 * jail's port can never fail the batch that sets up every jail's rules.
 */
export function portProblem(port: string): string | undefined {
    let items;
    try {
        items = parsePorts(port);
    } catch (e) {
        return (e as Error).message;
    }
    const names = serviceNames();
    const one = (p: string): string | undefined => {
        if (/^\d+$/.test(p)) return Number(p) <= 65535 ? undefined : `port ${p} out of range (0-65535)`;
        if (names && !names.has(p.toLowerCase())) return `unknown service ${JSON.stringify(p)} (not in /etc/services)`;
        return undefined;
    };
    for (const it of items) {
        const bad = Array.isArray(it) ? (one(it[0]) ?? one(it[1])) : one(it);
        if (bad) return bad;
        if (Array.isArray(it) && /^\d+$/.test(it[0]) && /^\d+$/.test(it[1]) && Number(it[0]) > Number(it[1]))
            return `port range ${it[0]}:${it[1]} is reversed`;
    }
    return undefined;
}

export function protocolProblem(protocol: string): string | undefined {
    try {
        parseProtocols(protocol);
        return undefined;
    } catch (e) {
        return (e as Error).message;
    }
}
