// A tiny authoritative DNS server for tests that must resolve names without the network: it answers A and AAAA
// questions for the names it is given and NXDOMAIN for every other name (glibc's resolver then gives up at once,
// no retries elsewhere). Only ever bound to a loopback address, inside a private network namespace.

import * as dgram from "dgram";
import * as net from "net";

/** Name (lower case, no trailing dot) to its addresses, IPv4 and IPv6 mixed. */
export type Zone = Record<string, string[]>;

const TYPE_A = 1;
const TYPE_AAAA = 28;
const RCODE_NXDOMAIN = 3;
const RCODE_NOTIMP = 4;

/** The question of a query: its name, type and where it ends in the packet (answers copy it). */
function question(q: Buffer): { name: string; type: number; end: number } | undefined {
    let p = 12;
    const labels: string[] = [];
    while (p < q.length) {
        const n = q[p++];
        if (n === 0) break;
        if (n > 63 || p + n > q.length) return undefined;
        labels.push(q.toString("latin1", p, p + n));
        p += n;
    }
    if (p + 4 > q.length) return undefined;
    return { name: labels.join(".").toLowerCase(), type: q.readUInt16BE(p), end: p + 4 };
}

function addressBytes(ip: string): Buffer {
    if (net.isIPv4(ip)) return Buffer.from(ip.split(".").map(Number));
    const [head, tail] = ip.split("::");
    const groups = (s: string | undefined) => (s ? s.split(":") : []);
    const h = groups(head);
    const t = groups(tail);
    const all = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
    const b = Buffer.alloc(16);
    all.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), 2 * i));
    return b;
}

/** The reply to one query packet, or undefined for one too broken to answer. */
export function answer(zone: Zone, q: Buffer): Buffer | undefined {
    if (q.length < 12 || q.readUInt16BE(4) !== 1) return undefined;
    const qn = question(q);
    if (!qn) return undefined;
    const known = zone[qn.name];
    const opcode = (q[2] >> 3) & 0xf;
    const rcode = opcode !== 0 ? RCODE_NOTIMP : known === undefined ? RCODE_NXDOMAIN : 0;
    const want = (ip: string) => (qn.type === TYPE_A ? net.isIPv4(ip) : qn.type === TYPE_AAAA && net.isIPv6(ip));
    const ips = rcode === 0 ? known.filter(want) : [];
    const head = Buffer.alloc(12);
    q.copy(head, 0, 0, 2);
    head[2] = 0x84 | (q[2] & 0x01); // QR, AA, the query's RD
    head[3] = 0x80 | rcode; // RA
    head.writeUInt16BE(1, 4);
    head.writeUInt16BE(ips.length, 6);
    const records = ips.map(ip => {
        const data = addressBytes(ip);
        const rr = Buffer.alloc(12);
        rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
        rr.writeUInt16BE(qn.type, 2);
        rr.writeUInt16BE(1, 4); // IN
        rr.writeUInt32BE(60, 6);
        rr.writeUInt16BE(data.length, 10);
        return Buffer.concat([rr, data]);
    });
    return Buffer.concat([head, q.subarray(12, qn.end), ...records]);
}

/** Serves `zone` on udp `host`:`port` until the returned close() is called. */
export function startFakeDns(zone: Zone, host = "127.0.0.1", port = 53): Promise<{ close(): Promise<void> }> {
    const sock = dgram.createSocket(net.isIPv6(host) ? "udp6" : "udp4");
    sock.on("message", (msg, rinfo) => {
        const reply = answer(zone, msg);
        if (reply) sock.send(reply, rinfo.port, rinfo.address);
    });
    return new Promise((resolve, reject) => {
        sock.once("error", reject);
        sock.bind(port, host, () => {
            sock.off("error", reject);
            resolve({ close: () => new Promise<void>(done => sock.close(() => done())) });
        });
    });
}
