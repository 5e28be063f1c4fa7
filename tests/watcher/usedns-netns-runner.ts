// Runs inside the private namespace regex-usedns.test.ts makes (loopback only, /etc/resolv.conf pointing at
// 127.0.0.1): serves the fake zone on 127.0.0.1:53, runs `jailwatch regex` and fail2ban-regex on each case, and
// writes what they printed to the results file. Bundled by the test and started as `node runner.js PLAN`.

import { spawn } from "child_process";
import * as fs from "fs";
import { startFakeDns, Zone } from "./fake-dns";

export interface NetnsCase {
    args: string[];
    /** Options given to jailwatch only, before `args`. */
    jailwatchArgs?: string[];
    /** Extra environment for jailwatch only (e.g. its parallel threshold). */
    jailwatchEnv?: Record<string, string>;
}

export interface NetnsPlan {
    zone: Zone;
    jailwatch: string;
    /** Where the tools run (the cases name their files relative to it). */
    cwd: string;
    cases: NetnsCase[];
    results: string;
}

export interface ToolOutput {
    code: number | null;
    stdout: string;
    stderr: string;
}

export interface NetnsResult {
    args: string[];
    jw: ToolOutput;
    f2b: ToolOutput;
}

const TOOL_TIMEOUT_MS = 60_000;

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<ToolOutput> {
    return new Promise(resolve => {
        const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"], timeout: TOOL_TIMEOUT_MS });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (b: Buffer) => out.push(b));
        child.stderr.on("data", (b: Buffer) => err.push(b));
        const done = (code: number | null, extra = "") =>
            resolve({
                code,
                stdout: Buffer.concat(out).toString("utf8"),
                stderr: Buffer.concat(err).toString("utf8") + extra,
            });
        child.on("error", e => done(null, String(e)));
        child.on("close", (code, signal) => done(code, signal ? `killed by ${signal}` : ""));
    });
}

async function main(planFile: string): Promise<void> {
    const plan = JSON.parse(fs.readFileSync(planFile, "utf8")) as NetnsPlan;
    const dns = await startFakeDns(plan.zone);
    const results: NetnsResult[] = [];
    try {
        for (const c of plan.cases) {
            // In turn, not all at once: 2 cores, and the fake server answers each query as it comes anyway.
            const jw = await run(
                process.execPath,
                [plan.jailwatch, "regex", ...(c.jailwatchArgs ?? []), ...c.args],
                plan.cwd,
                {
                    ...process.env,
                    ...c.jailwatchEnv,
                },
            );
            const f2b = await run("fail2ban-regex", c.args, plan.cwd, {
                ...process.env,
                LANG: "C.UTF-8",
                LC_ALL: "C.UTF-8",
            });
            results.push({ args: c.args, jw, f2b });
        }
    } finally {
        await dns.close();
    }
    fs.writeFileSync(plan.results, JSON.stringify(results));
}

main(process.argv[2]).catch(e => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
});
