// `jailwatch regex [OPTIONS] LOG|LINE FILTER|REGEX [IGNOREREGEX]`: fail2ban-regex's interface and output, fast.
// Output goes to stdout as fail2ban-regex writes it; progress (only on a terminal) to stderr.

import * as fs from "fs";
import * as os from "os";
import * as v8 from "v8";
import { compileFilter, CompileOptions } from "../filter/filter";
import { forEachLine, emitLines } from "../regex/lines";
import { VERSION } from "./version";
import * as report from "../regex/report";
import { decoderFor } from "../regex/lines";
import { outFormatter } from "../regex/out";
import { canRunParallel, runParallel, workerScript } from "../regex/parallel";
import { RegexRun } from "../regex/run";
import { ignoreLine, resolveFailFilter } from "../regex/source";
import type { Filter, FilterDefinition } from "../types";
import { optString, parseArgs } from "./args";
import { DEFAULT_CONFIG_DIR } from "./common";

const USAGE = "Usage: jailwatch regex [OPTIONS] <LOG> <REGEX> [IGNOREREGEX]  (see jailwatch --help)";

/** Buffered stdout: one write per 64 KiB instead of one per line (-o ip prints a line per match). */
class Out {
    private parts: string[] = [];
    private size = 0;
    line(s: string): void {
        this.parts.push(s, "\n");
        this.size += s.length + 1;
        if (this.size >= 65536) this.flush();
    }
    flush(): void {
        if (this.parts.length === 0) return;
        writeAll(1, this.parts.join(""));
        this.parts = [];
        this.size = 0;
    }
}

function writeAll(fd: number, s: string): void {
    const b = Buffer.from(s, "utf8");
    let off = 0;
    while (off < b.length) {
        try {
            off += fs.writeSync(fd, b, off);
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code === "EAGAIN") continue;
            if ((e as NodeJS.ErrnoException).code === "EPIPE") return;
            throw e;
        }
    }
}

/**
 * Files smaller than this run on one thread: starting workers costs more than it saves.
 * (JAILWATCH_REGEX_PARALLEL_MIN overrides it, so tests can run the parallel path on small files.)
 */
const PARALLEL_MIN_BYTES = Number(process.env.JAILWATCH_REGEX_PARALLEL_MIN ?? 48 * 1024 * 1024);

export async function runRegex(argv: string[]): Promise<number> {
    // Keep V8's young generation at its starting size: the filter makes short-lived garbage per line, and a
    // growing young generation only turns it into resident memory (measured on 1M lines: 72 -> 59 MB peak RSS,
    // same CPU time). A GC heuristic read at run time, so setting it here is safe.
    v8.setFlagsFromString("--semi-space-growth-factor=1");
    const p = parseArgs(argv, [
        { names: ["-c", "--config"], value: true },
        { names: ["-d", "--datepattern"], value: true },
        { names: ["-e", "--encoding"], value: true },
        { names: ["-L", "--maxlines"], value: true },
        { names: ["-o", "--out"], value: true },
        { names: ["-l", "--log-level"], value: true },
        { names: ["-m", "--journalmatch"], value: true },
        { names: ["-v", "--verbose"] },
        { names: ["--verbosity"], value: true },
        { names: ["-V"] },
        { names: ["--version"] },
        { names: ["--VD", "--verbose-date"] },
        { names: ["-D", "--debuggex"] },
        { names: ["-t", "--log-traceback"] },
        { names: ["--full-traceback"] },
        { names: ["-r", "--raw"] },
        { names: ["--usedns"], value: true },
        { names: ["--timezone", "--TZ"], value: true },
        { names: ["--print-all-matched"] },
        { names: ["--print-all-missed"] },
        { names: ["--print-all-ignored"] },
        { names: ["--print-no-missed"] },
        { names: ["--print-no-ignored"] },
        { names: ["--no-check-all"] },
        { names: ["--no-progress"] },
        { names: ["-j", "--jobs"], value: true },
        { names: ["-h", "--help"] },
    ]);
    const out = new Out();
    if (p.options.has("help")) {
        out.line(USAGE);
        out.flush();
        return 0;
    }
    // fail2ban-regex: -V is the short machine-readable version, --version names the tool.
    if (p.options.has("V") || p.options.has("version")) {
        out.line(p.options.has("V") ? VERSION : `jailwatch regex ${VERSION}`);
        out.flush();
        return 0;
    }
    const errors: string[] = [];
    if (p.options.has("print-no-missed") && p.options.has("print-all-missed"))
        errors.push("ERROR: --print-no-missed and --print-all-missed are mutually exclusive.");
    if (p.options.has("print-no-ignored") && p.options.has("print-all-ignored"))
        errors.push("ERROR: --print-no-ignored and --print-all-ignored are mutually exclusive.");
    if (p.positional.length !== 2 && p.positional.length !== 3) errors.push("ERROR: provide both <LOG> and <REGEX>.");
    const outFmt = optString(p, "out");
    const encoding = optString(p, "encoding") ?? "UTF-8";
    const decode = decoderFor(encoding);
    if (decode === "unsupported")
        errors.push(
            `ERROR: encoding ${encoding} is not supported (its lines do not end in the byte 0x0A; ASCII-compatible encodings only)`,
        );
    // Not done here: debuggex.com links (they would send log lines to a web site) and the date-pattern trace.
    if (p.options.has("debuggex"))
        errors.push("ERROR: -D/--debuggex is not supported (it makes debuggex.com links of log lines)");
    if (p.options.has("VD")) errors.push("ERROR: --VD/--verbose-date is not supported");
    const verbosityOpt = optString(p, "verbosity");
    if (verbosityOpt !== undefined && !/^[0-4]$/.test(verbosityOpt))
        errors.push(`ERROR: --verbosity needs 0..4, got ${verbosityOpt}`);
    // As optparse does it: each -v adds one, --verbosity sets the level; whichever comes last wins.
    const vCount = p.counts.get("verbose") ?? 0;
    const level =
        verbosityOpt !== undefined && (p.lastAt.get("verbosity") ?? 0) > (p.lastAt.get("verbose") ?? -1)
            ? Number(verbosityOpt)
            : vCount;
    const verbose = level > 0;
    const maxlinesOpt = optString(p, "maxlines");
    const maxlinesN = maxlinesOpt === undefined ? 0 : Number(maxlinesOpt);
    if (!Number.isInteger(maxlinesN) || maxlinesN < 0)
        errors.push(`ERROR: -L needs a whole number, got ${maxlinesOpt}`);
    const jobsOpt = optString(p, "jobs");
    const jobs = jobsOpt === undefined ? Math.min(2, os.availableParallelism?.() ?? os.cpus().length) : Number(jobsOpt);
    if (!Number.isInteger(jobs) || jobs < 1) errors.push(`ERROR: -j needs a whole number >= 1, got ${jobsOpt}`);
    if (errors.length > 0) {
        process.stderr.write(`${USAGE}\n\n${errors.join("\n")}\n`);
        return 255;
    }
    const [logArg, regexArg, ignoreArg] = p.positional;
    const configDir = optString(p, "config") ?? DEFAULT_CONFIG_DIR;
    const quiet = outFmt !== undefined; // -o prints results only, like fail2ban-regex
    const say = (s: string) => {
        if (!quiet) out.line(s);
    };
    for (const l of report.RUNNING_TESTS) say(l);
    const cmdDatePattern = optString(p, "datepattern");
    // Header lines wait until the filter compiled: the date pattern line shows the compiled template's name.
    const header: Array<string | (() => string)> = [];
    if (maxlinesN > 0) header.push(report.useMaxLines(maxlinesN));
    if (cmdDatePattern !== undefined)
        header.push(() => report.useDatePattern(cmdDatePattern, datePatternName(filter, cmdDatePattern)));

    const usedns = optString(p, "usedns");
    const tz = optString(p, "timezone");
    const compileOpts: CompileOptions = {
        // fail2ban-regex tries every failregex on a line unless told not to, or when it prints only results (-o).
        checkAllRegex: !p.options.has("no-check-all") && outFmt === undefined,
        ...(usedns !== undefined ? { useDns: usedns } : {}),
        ...(tz !== undefined ? { logTimeZone: tz } : {}),
    };
    let filter: Filter | undefined;
    try {
        const src = resolveFailFilter(regexArg, configDir);
        header.push(...src.header);
        if (level > 1 && src.realOptionsLine) header.push(src.realOptionsLine);
        let def: FilterDefinition = src.definition;
        if (def.maxlines !== undefined && maxlinesN === 0) header.push(report.useMaxLines(def.maxlines));
        const fileDatePattern = def.datepattern;
        if (fileDatePattern !== undefined && cmdDatePattern === undefined) {
            header.push(() => report.useDatePattern(fileDatePattern, datePatternName(filter, fileDatePattern)));
        }
        if (ignoreArg !== undefined) {
            header.push(ignoreLine(ignoreArg));
            def = { ...def, ignoreregex: [ignoreArg] };
        }
        if (cmdDatePattern !== undefined) def = { ...def, datepattern: cmdDatePattern };
        if (maxlinesN > 0) def = { ...def, maxlines: maxlinesN };
        filter = compileFilter(def, compileOpts);
    } catch (e) {
        for (const h of header) say(typeof h === "string" ? h : h());
        out.line(`ERROR: ${e instanceof Error ? e.message : String(e)}`);
        out.flush();
        return 255;
    }
    for (const h of header) say(typeof h === "string" ? h : h());

    const po = {
        rawHosts: p.options.has("raw"),
        ...(usedns !== undefined ? { usedns } : {}),
        maxlines: maxlinesN > 0 ? maxlinesN : 20,
        printAllMatched: p.options.has("print-all-matched"),
        printAllMissed: p.options.has("print-all-missed"),
        printAllIgnored: p.options.has("print-all-ignored"),
        printNoMissed: p.options.has("print-no-missed"),
        printNoIgnored: p.options.has("print-no-ignored"),
        verbose,
    };
    if (!filter) return 255;
    const compiled: Filter = filter;
    const fmtOut =
        outFmt === undefined
            ? undefined
            : outFormatter(outFmt, compiled.definition, usedns ?? compiled.definition.options.usedns ?? "warn");
    const run = new RegexRun(compiled, {
        ...po,
        onMatchOut: fmtOut === undefined ? undefined : (r, line) => out.line(fmtOut(r, line)),
    });
    const feed = (line: string) => run.line(line);

    let isFile = false;
    try {
        isFile = fs.statSync(logArg).isFile();
    } catch {
        isFile = false;
    }
    if (isFile && decode === "unknown") {
        // As fail2ban-regex: the header so far, then the codec lookup fails (exit 1).
        out.flush();
        process.stderr.write(`LookupError: unknown encoding: ${encoding}\n`);
        return 1;
    }
    const decoder = typeof decode === "function" ? decode : undefined;
    if (isFile) {
        for (const l of report.useLogFile(logArg, encoding)) say(l);
    } else if (!logArg.includes("\n") && !(compiled.definition.maxlines && compiled.definition.maxlines > 1)) {
        say(report.useSingleLine(logArg));
    } else {
        for (const l of report.useMultiLine(logArg.split("\n"))) say(l);
    }
    say("");
    out.flush();

    const t0 = process.hrtime.bigint();
    let stats;
    if (isFile) {
        const progress = makeProgress(logArg, !p.options.has("no-progress"));
        const script = workerScript();
        if (
            jobs > 1 &&
            !verbose &&
            !decoder &&
            script &&
            canRunParallel(compiled.definition) &&
            fs.statSync(logArg).size >= PARALLEL_MIN_BYTES
        ) {
            stats = await runParallel(
                script,
                logArg,
                compiled.definition,
                compileOpts,
                po,
                jobs,
                outFmt,
                text => {
                    out.flush();
                    writeAll(1, text);
                },
                progress?.update,
            );
        } else {
            forEachLine(logArg, feed, { onProgress: progress?.update, decode: decoder });
        }
        progress?.done();
    } else {
        emitLines(logArg, feed);
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (stats) stats.seconds = seconds;
    if (!quiet) for (const l of report.resultsSection(stats ?? run.finish(seconds), po)) out.line(l);
    out.flush();
    return 0;
}

/** A one-line progress display on stderr, only when stderr is a terminal and the file is big enough to wait for. */
function makeProgress(
    file: string,
    wanted: boolean,
): { update: (bytes: number) => void; done: () => void } | undefined {
    if (!wanted || !process.stderr.isTTY) return undefined;
    const total = fs.statSync(file).size;
    if (total < 32 * 1024 * 1024) return undefined;
    const start = Date.now();
    let last = 0;
    return {
        update: (bytes: number) => {
            const now = Date.now();
            if (now - last < 200) return;
            last = now;
            const pct = ((bytes / total) * 100).toFixed(1);
            const mbs = (bytes / 1048576 / Math.max(0.001, (now - start) / 1000)).toFixed(0);
            process.stderr.write(`\r  ${pct}% of ${(total / 1048576).toFixed(0)} MiB, ${mbs} MiB/s `);
        },
        done: () => process.stderr.write("\r\x1b[K"),
    };
}

/**
 * The name fail2ban-regex shows after a date pattern: "Default Detectors" unless the pattern compiled to one or
 * two templates, then the first one's name.
 */
function datePatternName(filter: Filter | undefined, pattern: string): string {
    const names = (filter as (Filter & { dateTemplateNames?: string[] }) | undefined)?.dateTemplateNames;
    if (!names) return pattern;
    return names.length === 0 || names.length > 2 ? "Default Detectors" : names[0];
}
