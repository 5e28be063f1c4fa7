// Seed-like access logs of Nginx behind Varnish (the seed's log format: Varnish's 127.0.0.1 first, the
// X-Forwarded-For header last), for the bench and the tests. Deterministic for a given seed.
//
// Mix, per line: ~70% POST /xmlrpc.php (the seed's flood: 11774 of 16427 lines), ~5% POST /wp-login.php, the rest
// normal GETs and a few garbage lines. Addresses: IPv4 and IPv6; ~15% of requests carry a forged
// X-Forwarded-For so the last field reads "forged, real".

import * as fs from "fs";

export interface GenOptions {
    lines: number;
    seed?: number;
    /** Fraction of garbage (unparseable) lines, default 0.005. */
    garbage?: number;
}

/** mulberry32: small, fast, deterministic. */
function rng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const AGENTS = [
    "Mozilla/4.0 (compatible: MSIE 7.0; Windows NT 6.0)",
    "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "curl/7.88.1",
    "WordPress/6.1; https://example.org",
];
const PAGES = [
    "/",
    "/2016/05/hello-world/",
    "/wp-content/themes/twentysixteen/style.css?ver=4.5",
    "/feed/",
    "/wp-includes/js/jquery/jquery.js?ver=1.12.3",
    "/favicon.ico",
    "/?p=42",
    "/wp-json/wp/v2/posts",
];

function two(n: number): string {
    return n < 10 ? `0${n}` : String(n);
}

/** Writes `opts.lines` lines to `file`. */
export function generateLog(file: string, opts: GenOptions): void {
    const r = rng(opts.seed ?? 20160515);
    const garbage = opts.garbage ?? 0.005;
    // Attacker pools: a botnet of IPv4 and IPv6 addresses, plus innocents.
    const v4 = () =>
        `${1 + Math.floor(r() * 222)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}.${1 + Math.floor(r() * 254)}`;
    const v6 = () =>
        `2001:db8:${Math.floor(r() * 65536).toString(16)}:${Math.floor(r() * 65536).toString(16)}::${Math.floor(r() * 65536).toString(16)}`;
    const attackers = Array.from({ length: 2000 }, (_, i) => (i % 5 === 0 ? v6() : v4()));
    const visitors = Array.from({ length: 5000 }, (_, i) => (i % 4 === 0 ? v6() : v4()));
    const fd = fs.openSync(file, "w");
    let t = Date.UTC(2016, 4, 15, 11, 55, 14) / 1000;
    const parts: string[] = [];
    let size = 0;
    let stamp = "";
    let stampTime = -1;
    for (let i = 0; i < opts.lines; i++) {
        if (r() < 0.3) t++;
        if (t !== stampTime) {
            const d = new Date(t * 1000);
            stamp = `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
            stampTime = t;
        }
        const x = r();
        let line: string;
        if (x < garbage) {
            line = `garbage ${Math.floor(r() * 1e9).toString(36)} \\x16\\x03\\x01 no date here`;
        } else {
            const attack = x < 0.75;
            const who = attack
                ? attackers[Math.floor(r() * attackers.length)]
                : visitors[Math.floor(r() * visitors.length)];
            const xff = r() < 0.15 ? `${v4()}, ${who}` : who;
            const ua = AGENTS[Math.floor(r() * AGENTS.length)];
            const http = r() < 0.5 ? "HTTP/1.0" : "HTTP/1.1";
            if (x < 0.7) line = `127.0.0.1 - - [${stamp}] "POST /xmlrpc.php ${http}" 200 370 "-" "${ua}" "${xff}"`;
            else if (x < 0.75)
                line = `127.0.0.1 - - [${stamp}] "POST /wp-login.php ${http}" ${r() < 0.9 ? 200 : 302} 4525 "-" "${ua}" "${xff}"`;
            else {
                const page = PAGES[Math.floor(r() * PAGES.length)];
                line = `127.0.0.1 - - [${stamp}] "GET ${page} ${http}" 200 ${1000 + Math.floor(r() * 50000)} "https://example.org/" "${ua}" "${xff}"`;
            }
        }
        parts.push(line);
        size += line.length + 1;
        if (size > 1 << 22) {
            fs.writeSync(fd, parts.join("\n") + "\n");
            parts.length = 0;
            size = 0;
        }
    }
    if (parts.length > 0) fs.writeSync(fd, parts.join("\n") + "\n");
    fs.closeSync(fd);
}

/** The seed's filter, verbatim in meaning: `failregex = POST /xmlrpc.php HTTP/.*"<HOST>"$`. */
export const SEED_FILTER = `[Definition]
failregex = POST /xmlrpc.php HTTP/.*"<HOST>"$
ignoreregex =
`;
