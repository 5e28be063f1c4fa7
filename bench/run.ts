// `npm run bench [-- --quick] [--only=NAME] [--lines=N,M]`: builds dist/jailwatch.js, then runs each bench module
// in order and prints PASS/FAIL per target. The lab benches (`--only=site`, `--only=attack`) run only when named. Exit status 1 if any target fails. Generated logs live in a temp dir,
// removed at the end.
// To add a bench: write bench/<name>.ts exporting `run(ctx): Promise<Check[]>` and add one line to MODULES.

import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface BenchContext {
    /** `--quick`: a 200k-line smoke run instead of the full sizes. */
    quick: boolean;
    /** Scratch directory for this run (removed afterwards). */
    tmp: string;
    /** Path of the built bundle. */
    jailwatch: string;
    args: string[];
}

export interface Check {
    name: string;
    /** undefined: shown for information, not judged (e.g. speed on a --quick smoke run). */
    pass: boolean | undefined;
    detail: string;
}

/** Benches that need the booted lab: they run only when asked for by name. */
const LAB_ONLY = new Set(["site", "attack", "ping-timeout"]);

const MODULES: Array<[string, () => Promise<{ run(ctx: BenchContext): Promise<Check[]> }>]> = [
    ["regex", () => import("./regex")],
    ["server", () => import("./server")],
    ["peers", () => import("./peers")],
    // The lab benches (need root and a booted lab; HA_LAB_DIR picks it): run only when asked for with --only.
    ["site", () => import("./site")],
    ["attack", () => import("./attack")],
    ["ping-timeout", () => import("./pingTimeout")],
];

async function main(): Promise<number> {
    const args = process.argv.slice(2);
    const root = path.resolve(__dirname, "..");
    execFileSync("bash", [path.join(root, "scripts/build/jailwatch.sh")], { stdio: "inherit" });
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "jailwatch-bench-"));
    const ctx: BenchContext = {
        quick: args.includes("--quick"),
        tmp,
        jailwatch: path.join(root, "dist/jailwatch.js"),
        args,
    };
    const checks: Check[] = [];
    try {
        for (const [name, load] of MODULES) {
            const only = args.find(a => a.startsWith("--only="))?.slice(7);
            if (only ? only !== name : LAB_ONLY.has(name)) continue;
            console.log(`\n=== bench: ${name}${ctx.quick ? " (quick)" : ""}`);
            checks.push(...(await (await load()).run(ctx)));
        }
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
    console.log("\n=== bench: targets");
    for (const c of checks)
        console.log(`${c.pass === undefined ? "INFO" : c.pass ? "PASS" : "FAIL"}  ${c.name}  (${c.detail})`);
    const failed = checks.filter(c => c.pass === false).length;
    const judged = checks.filter(c => c.pass !== undefined).length;
    const info = checks.length - judged;
    console.log(
        failed
            ? `\nbench: ${failed} of ${judged} targets FAILED`
            : `\nbench: all ${judged} judged targets passed${info ? ` (${info} shown for information)` : ""}`,
    );
    return failed ? 1 : 0;
}

main().then(
    code => (process.exitCode = code),
    e => {
        console.error(e instanceof Error ? e.stack : e);
        process.exitCode = 1;
    },
);
