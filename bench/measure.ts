// Runs a command and measures wall time and peak RSS: GNU time's max RSS when /usr/bin/time exists, else the
// kernel's high-water mark (VmHWM) polled from /proc while the process lives.

import { spawn } from "child_process";
import * as fs from "fs";

export interface Measured {
    seconds: number;
    /** User + system CPU seconds (GNU time only; NaN otherwise). On a busy machine this is the fairer speed. */
    cpuSeconds: number;
    peakRssMB: number;
    code: number;
    stdout: string;
    stderr: string;
}

const GNU_TIME = "/usr/bin/time";

export function measure(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Measured> {
    const useTime = fs.existsSync(GNU_TIME);
    const marker = "@@peak-rss-kb=";
    const argv = useTime ? ["-f", `${marker}%M %U %S`, cmd, ...args] : args;
    return new Promise((resolve, reject) => {
        const t0 = process.hrtime.bigint();
        const child = spawn(useTime ? GNU_TIME : cmd, argv, { env, stdio: ["ignore", "pipe", "pipe"] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (b: Buffer) => out.push(b));
        child.stderr.on("data", (b: Buffer) => err.push(b));
        let hwmKB = 0;
        let cpuSeconds = NaN;
        const poll = useTime
            ? undefined
            : setInterval(() => {
                  try {
                      const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, "utf8"));
                      if (m) hwmKB = Math.max(hwmKB, Number(m[1]));
                  } catch {
                      // process gone
                  }
              }, 20);
        child.on("error", reject);
        child.on("close", code => {
            if (poll) clearInterval(poll);
            const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
            let stderr = Buffer.concat(err).toString("utf8");
            if (useTime) {
                const m = new RegExp(`${marker}(\\d+) ([\\d.]+) ([\\d.]+)`).exec(stderr);
                if (m) {
                    hwmKB = Number(m[1]);
                    cpuSeconds = Number(m[2]) + Number(m[3]);
                }
                stderr = stderr.replace(new RegExp(`${marker}[\\d. ]+\\n?`), "");
            }
            resolve({
                seconds,
                cpuSeconds,
                peakRssMB: hwmKB / 1024,
                code: code ?? -1,
                stdout: Buffer.concat(out).toString("utf8"),
                stderr,
            });
        });
    });
}

/** fail2ban-regex's `Lines: N lines, I ignored, M matched, X missed`. */
export function parseLineCounts(
    output: string,
): { lines: number; ignored: number; matched: number; missed: number } | undefined {
    const m = /^Lines: (\d+) lines, (\d+) ignored, (\d+) matched, (\d+) missed/m.exec(output);
    return m ? { lines: Number(m[1]), ignored: Number(m[2]), matched: Number(m[3]), missed: Number(m[4]) } : undefined;
}
