// Real journal files for the systemd backend's tests: entries in journald's export format are appended to a
// journal file by systemd-journal-remote (Debian's systemd-journal-remote package), which journalctl then reads
// as it reads any journal. No journald has to run.

import { spawnSync } from "child_process";

export const JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote";
const BOOT = "0123456789abcdef0123456789abcdef";

/** One entry: field -> text or bytes. `ago` (seconds before now) sets its realtime timestamp. */
export interface TestEntry {
    ago?: number;
    fields: Record<string, string | Buffer>;
}

let monotonic = 1;

function exportFormat(entries: TestEntry[]): Buffer {
    const parts: Buffer[] = [];
    for (const e of entries) {
        const us = BigInt(Math.round((Date.now() - (e.ago ?? 0) * 1000) * 1000));
        parts.push(Buffer.from(`__REALTIME_TIMESTAMP=${us}\n__MONOTONIC_TIMESTAMP=${monotonic++}\n_BOOT_ID=${BOOT}\n`));
        for (const [k, v] of Object.entries(e.fields)) {
            const data = typeof v === "string" ? Buffer.from(v) : v;
            if (typeof v === "string" && !v.includes("\n")) {
                parts.push(Buffer.from(`${k}=`), data, Buffer.from("\n"));
            } else {
                // Binary (or multi-line) values: name, newline, 64-bit little-endian size, the bytes, newline.
                const size = Buffer.alloc(8);
                size.writeBigUInt64LE(BigInt(data.length));
                parts.push(Buffer.from(`${k}\n`), size, data, Buffer.from("\n"));
            }
        }
        parts.push(Buffer.from("\n"));
    }
    return Buffer.concat(parts);
}

/** Appends entries to `file` (created if missing; its name must end in .journal). */
export function appendJournal(file: string, entries: TestEntry[]): void {
    const r = spawnSync(JOURNAL_REMOTE, ["-o", file, "-"], { input: exportFormat(entries), encoding: "utf8" });
    if (r.status !== 0) throw new Error(`systemd-journal-remote failed (${r.status}): ${r.stderr}`);
}

/** A syslog-style entry from `unit` (its _COMM and SYSLOG_IDENTIFIER are the unit's base name). */
export function entry(unit: string, message: string | Buffer, ago = 0, pid = 1234): TestEntry {
    const name = unit.replace(/\.service$/, "");
    return {
        ago,
        fields: {
            _HOSTNAME: "lab1",
            _SYSTEMD_UNIT: unit,
            _COMM: name,
            SYSLOG_IDENTIFIER: name,
            _PID: String(pid),
            MESSAGE: message,
        },
    };
}
