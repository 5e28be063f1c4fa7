// Bench: `jailwatch regex` against `fail2ban-regex` on the same seed-like logs, in the same run.
// Targets (issue 4): >= 20x fail2ban-regex's lines/s measured in the same run, peak RSS <= 150 MB (checked on every
// size), and the same line counts as fail2ban-regex. Absolute lines/s depend on the machine and its load, so they are
// printed, not judged.

import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { generateLog, SEED_FILTER } from "./gen";
import { measure, parseLineCounts } from "./measure";
import type { BenchContext, Check } from "./run";

const RATIO_TARGET = 20;
const RSS_TARGET_MB = 150;

function cpu(s: number): string {
    return Number.isNaN(s) ? "CPU n/a" : `${s.toFixed(2)} s CPU`;
}

function fmt(n: number): string {
    return Math.round(n).toLocaleString("en-US");
}

export async function run(ctx: BenchContext): Promise<Check[]> {
    const checks: Check[] = [];
    const filterDir = path.join(ctx.tmp, "config", "filter.d");
    fs.mkdirSync(filterDir, { recursive: true });
    const filterFile = path.join(filterDir, "nginx-wp-xmlrpc.conf");
    fs.writeFileSync(filterFile, SEED_FILTER);
    const hasF2b = (() => {
        try {
            execFileSync("fail2ban-regex", ["--version"], { stdio: "ignore" });
            return true;
        } catch {
            return false;
        }
    })();
    const linesArg = ctx.args.find(a => a.startsWith("--lines="));
    const sizes = linesArg ? linesArg.slice(8).split(",").map(Number) : ctx.quick ? [200_000] : [1_000_000, 5_000_000];
    for (const n of sizes) {
        const log = path.join(ctx.tmp, `access-${n}.log`);
        const g0 = Date.now();
        generateLog(log, { lines: n });
        const mb = fs.statSync(log).size / 1048576;
        console.log(
            `\nregex bench: ${fmt(n)} lines (${mb.toFixed(0)} MiB, generated in ${((Date.now() - g0) / 1000).toFixed(1)} s), seed filter`,
        );
        // jailwatch runs a few seconds, so a burst of load from other work on the machine can double one run:
        // take the median of three (all three are printed). fail2ban-regex runs long enough to average it out.
        const runs = [];
        for (let i = 0; i < 3; i++) {
            const r = await measure(process.execPath, [ctx.jailwatch, "regex", "--no-progress", log, filterFile]);
            if (r.code !== 0) throw new Error(`jailwatch regex failed (${r.code}): ${r.stderr || r.stdout}`);
            runs.push(r);
        }
        const jw = runs.slice().sort((a, b) => a.seconds - b.seconds)[1];
        console.log(
            `  jailwatch runs  : ${runs.map(r => `${r.seconds.toFixed(2)} s`).join(", ")} wall (median taken); peak RSS ${runs.map(r => r.peakRssMB.toFixed(0)).join(", ")} MB`,
        );
        const jwCounts = parseLineCounts(jw.stdout);
        const jwRate = n / jw.seconds;
        console.log(
            `  jailwatch regex : ${jw.seconds.toFixed(2)} s wall (${cpu(jw.cpuSeconds)}), ${fmt(jwRate)} lines/s, peak RSS ${jw.peakRssMB.toFixed(0)} MB  ${jw.stdout.match(/^Lines: .*$/m)?.[0] ?? "(no Lines:)"}`,
        );
        // Speed targets are for the full sizes: on a 200k-line smoke run, process start-up dominates.
        const judged = n >= 1_000_000;
        const judge = (ok: boolean) => (judged ? ok : undefined);
        const maxRss = Math.max(...runs.map(r => r.peakRssMB));
        checks.push({
            name: `${fmt(n)} lines: jailwatch peak RSS <= ${RSS_TARGET_MB} MB`,
            pass: maxRss <= RSS_TARGET_MB,
            detail: `${maxRss.toFixed(0)} MB (highest of 3 runs)`,
        });
        if (!hasF2b) {
            console.log("  fail2ban-regex  : not installed, ratio not measured");
            checks.push({
                name: `${fmt(n)} lines: ratio vs fail2ban-regex`,
                pass: false,
                detail: "fail2ban-regex not installed",
            });
            continue;
        }
        const f2b = await measure("fail2ban-regex", [log, filterFile], { ...process.env, LANG: "C.UTF-8" });
        if (f2b.code !== 0) throw new Error(`fail2ban-regex failed (${f2b.code}): ${f2b.stderr || f2b.stdout}`);
        const f2bCounts = parseLineCounts(f2b.stdout);
        const f2bRate = n / f2b.seconds;
        console.log(
            `  fail2ban-regex  : ${f2b.seconds.toFixed(2)} s wall (${cpu(f2b.cpuSeconds)}), ${fmt(f2bRate)} lines/s, peak RSS ${f2b.peakRssMB.toFixed(0)} MB  ${f2b.stdout.match(/^Lines: .*$/m)?.[0] ?? "(no Lines:)"}`,
        );
        const ratio = jwRate / f2bRate;
        const cpuRatio = f2b.cpuSeconds / jw.cpuSeconds;
        console.log(
            `  ratio           : ${ratio.toFixed(1)}x lines/s (wall), ${cpuRatio.toFixed(1)}x less CPU time, ${(f2b.peakRssMB / Math.max(1, jw.peakRssMB)).toFixed(1)}x less memory`,
        );
        console.log(
            `  load average    : ${os
                .loadavg()
                .map(l => l.toFixed(1))
                .join(" ")} (2 cores shared: wall-clock figures vary with it)`,
        );
        checks.push({
            name: `${fmt(n)} lines: >= ${RATIO_TARGET}x fail2ban-regex lines/s`,
            pass: judge(ratio >= RATIO_TARGET),
            detail: `${ratio.toFixed(1)}x`,
        });
        checks.push({
            name: `${fmt(n)} lines: same counts as fail2ban-regex`,
            pass: !!jwCounts && !!f2bCounts && JSON.stringify(jwCounts) === JSON.stringify(f2bCounts),
            detail: `jailwatch ${JSON.stringify(jwCounts)} fail2ban ${JSON.stringify(f2bCounts)}`,
        });
        fs.rmSync(log, { force: true });
    }
    return checks;
}
