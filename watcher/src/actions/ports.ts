// fail2ban's `port` and `protocol` values turned into firewall syntax.

/** Port items from a fail2ban `port` value; [] means every port. `a:b` ranges are kept as [a, b]. */
export function parsePorts(port: string): Array<string | [string, string]> {
    const v = port.trim();
    if (v === "" || v === "all" || v === "any" || v === "0:65535" || v === "1:65535") return [];
    return v
        .split(/[\s,]+/)
        .filter((p) => p.length > 0)
        .map((p) => {
            if (!/^[A-Za-z0-9_.:-]+$/.test(p)) throw new Error(`invalid port ${JSON.stringify(p)}`);
            const m = /^([^:]+):([^:]+)$/.exec(p);
            return m ? ([m[1], m[2]] as [string, string]) : p;
        });
}

/** Protocols from a fail2ban `protocol` value; [] means every protocol. */
export function parseProtocols(protocol: string): string[] {
    const v = protocol.trim().toLowerCase();
    if (v === "" || v === "all") return [];
    const list = v.split(/[\s,]+/).filter((p) => p.length > 0);
    for (const p of list) if (!["tcp", "udp", "sctp", "udplite", "dccp"].includes(p)) throw new Error(`unsupported protocol ${JSON.stringify(p)}`);
    return list;
}
