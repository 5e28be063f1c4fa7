// Host names `jailwatch regex` accepts without DNS: the ones /etc/hosts lists. fail2ban-regex resolves every
// name, but jailwatch never makes DNS queries for names read from logs.

import * as fs from "fs";

let hostsFile: Map<string, string[]> | undefined;

/** The addresses /etc/hosts gives a name (read once; a local file, never DNS), or undefined for other names. */
export function localAddresses(name: string): string[] | undefined {
    if (!hostsFile) {
        hostsFile = new Map([["localhost", ["127.0.0.1"]]]);
        const seen = new Set<string>();
        try {
            for (const l of fs.readFileSync("/etc/hosts", "utf8").split("\n")) {
                const f = l.replace(/#.*/, "").trim().split(/\s+/);
                for (const n of f.slice(1)) {
                    const key = n.toLowerCase();
                    // The file's own entries replace the built-in localhost; an address is listed once per name.
                    if (!seen.has(key)) {
                        seen.add(key);
                        hostsFile.set(key, []);
                    }
                    const list = hostsFile.get(key)!;
                    if (!list.includes(f[0])) list.push(f[0]);
                }
            }
        } catch {
            // no /etc/hosts: only "localhost"
        }
    }
    return hostsFile.get(name.toLowerCase());
}
