// Runs `jailwatch regex` (a bundle built once per test run) and the real fail2ban-regex on the same arguments.

import { execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../..");
let bundle: string | undefined;

/** Bundles watcher/src/main.ts with esbuild into a temp file (what `npm run build` makes, minus the SEA step). */
export function jailwatchBundle(): string {
    if (bundle) return bundle;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jailwatch-test-"));
    const out = path.join(dir, "jailwatch.js");
    const esbuild = require("esbuild") as typeof import("esbuild");
    esbuild.buildSync({
        entryPoints: [path.join(ROOT, "watcher/src/main.ts")],
        bundle: true,
        platform: "node",
        target: "node20",
        outfile: out,
        logLevel: "warning",
    });
    bundle = out;
    return out;
}

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
}

export function runJailwatch(args: string[], cwd = ROOT, env: Record<string, string> = {}): RunResult {
    const r = spawnSync(process.execPath, [jailwatchBundle(), ...args], {
        cwd,
        encoding: "utf8",
        maxBuffer: 1 << 28,
        env: { ...process.env, ...env },
    });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function runFail2banRegex(args: string[], cwd = ROOT): RunResult {
    const r = spawnSync("fail2ban-regex", args, {
        cwd,
        encoding: "utf8",
        maxBuffer: 1 << 28,
        env: { ...process.env, LANG: "C.UTF-8", LC_ALL: "C.UTF-8" },
    });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Output with the run-time line masked: everything else must be byte-identical. */
export function maskTime(s: string): string {
    return s.replace(/^\[processed in \d+\.\d\d sec\]$/m, "[processed in X sec]");
}

export function lineCounts(s: string): string | undefined {
    return /^Lines: .*$/m.exec(s)?.[0];
}

function runAsync(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (b: Buffer) => out.push(b));
        child.stderr.on("data", (b: Buffer) => err.push(b));
        child.on("error", reject);
        child.on("close", code =>
            resolve({
                code: code ?? -1,
                stdout: Buffer.concat(out).toString("utf8"),
                stderr: Buffer.concat(err).toString("utf8"),
            }),
        );
    });
}

/** `jailwatch regex ARGS` and `fail2ban-regex ARGS`, run side by side. */
export async function runBoth(args: string[]): Promise<{ jw: RunResult; f2b: RunResult }> {
    const [jw, f2b] = await Promise.all([
        runAsync(process.execPath, [jailwatchBundle(), "regex", ...args], process.env),
        runAsync("fail2ban-regex", args, { ...process.env, LANG: "C.UTF-8", LC_ALL: "C.UTF-8" }),
    ]);
    return { jw, f2b };
}

export function fail2banInstalled(): boolean {
    try {
        execFileSync("fail2ban-regex", ["--help"], { stdio: "ignore" });
        return true;
    } catch {
        return false;
    }
}

export const ROOT_DIR = ROOT;
