// `jailwatch regex` on several cores: the file is cut into byte ranges, worker threads (this same bundle, started
// again as a worker) run the filter over ranges, and the main thread merges their statistics in file order.
//
// Only for single-line filters: a multi-line buffer (maxlines > 1) or multi-line failure ids (<F-MLFID> & co.)
// carry state from line to line, so those run on one thread. Date detection also carries state (which template
// hit last), but it only speeds up the search: each range finds the same templates on its own.
// Memory stays bounded: every worker holds one read buffer, and at most `jobs` ranges are in flight.

import * as fs from "fs";
import { isMainThread, parentPort, Worker, workerData } from "worker_threads";
import { compileFilter, CompileOptions } from "../filter/filter";
import type { Filter, FilterDefinition } from "../types";
import { forEachLine } from "./lines";
import type { RegexStats } from "./report";
import { outFormatter } from "./out";
import { RegexRun, RunOptions } from "./run";

const WORKER_TAG = "jailwatch-regex-worker";
/** Bytes per range handed to a worker (JAILWATCH_REGEX_RANGE overrides it, for tests of range edges). */
const RANGE = Number(process.env.JAILWATCH_REGEX_RANGE) || 16 * 1024 * 1024;
/**
 * A small young generation keeps each worker's heap (and so the process's RSS) small: the filter's per-line
 * garbage dies young anyway, and measured CPU time did not grow.
 */
const YOUNG_GEN_MB = 4;
/**
 * The old generation is capped too (measured: ~20 MB less peak RSS), except when whole line lists are kept
 * (--print-all-*), which may legitimately need more.
 */
const OLD_GEN_MB = 64;

type PlainRunOptions = Omit<RunOptions, "onMatchOut">;

interface WorkerInit {
    tag: typeof WORKER_TAG;
    file: string;
    definition: FilterDefinition;
    compileOpts: CompileOptions;
    opts: PlainRunOptions;
    /** -o: collect each matched line's value instead of statistics. */
    outFmt?: string;
}

interface RangeResult {
    id: number;
    stats: RegexStats;
    out: string;
}

/** Whether a filter may be split across threads (see the header). */
export function canRunParallel(def: FilterDefinition): boolean {
    if ((def.maxlines ?? 1) > 1) return false;
    const all = [...def.failregex, ...def.ignoreregex, def.prefregex ?? ""].join("\n");
    return !/<F-MLF|\(\?P<mlf/i.test(all);
}

/** The bundle file a worker can start from, when there is one (not under ts-node, not in a single executable). */
export function workerScript(): string | undefined {
    const file = __filename;
    if (!file.endsWith(".js")) return undefined;
    try {
        return fs.statSync(file).isFile() ? file : undefined;
    } catch {
        return undefined;
    }
}

/** The value -o prints for a matched line. */
/** Runs the file on `jobs` worker threads; `onOut` gets -o output in file order. Resolves to the merged stats. */
export async function runParallel(
    script: string,
    file: string,
    definition: FilterDefinition,
    compileOpts: CompileOptions,
    opts: PlainRunOptions,
    jobs: number,
    outFmt: string | undefined,
    onOut: (text: string) => void,
    onProgress?: (bytes: number) => void,
): Promise<RegexStats> {
    const size = fs.statSync(file).size;
    const ranges: Array<[number, number]> = [];
    for (let s = 0; s < size; s += RANGE) ranges.push([s, Math.min(size, s + RANGE)]);
    const init: WorkerInit = { tag: WORKER_TAG, file, definition, compileOpts, opts, outFmt };
    const keepsAll = opts.printAllMatched || opts.printAllMissed || opts.printAllIgnored;
    const limits = {
        maxYoungGenerationSizeMb: YOUNG_GEN_MB,
        ...(keepsAll ? {} : { maxOldGenerationSizeMb: OLD_GEN_MB }),
    };
    // Workers only: this thread just merges. Running the filter here too saves starting one worker, but measured
    // no faster, and this thread's heap cannot be capped like a worker's (5M lines: 107 MB peak RSS instead of 89).
    const threads = Math.min(jobs, ranges.length);
    const workers = Array.from(
        { length: threads },
        () => new Worker(script, { workerData: init, resourceLimits: limits }),
    );
    const done = new Map<number, RangeResult>();
    let nextToSend = 0;
    let nextToMerge = 0;
    let merged: RegexStats | undefined;
    const limit = opts.maxlines + 1;
    const take = (into: string[], from: string[], all: boolean) => {
        for (const l of from) {
            if (!all && into.length >= limit) break;
            into.push(l);
        }
    };
    const mergeReady = () => {
        while (done.has(nextToMerge)) {
            const r = done.get(nextToMerge)!;
            done.delete(nextToMerge);
            nextToMerge++;
            if (r.out) onOut(r.out);
            const s = r.stats;
            if (!merged) {
                merged = { ...s, matchedLines: [], ignoredLines: [], missedLines: [], dateHits: [] };
                merged.tested = merged.matched = merged.ignored = merged.missed = merged.prefHits = 0;
                merged.failHits = s.failHits.map(() => 0);
                merged.ignoreHits = s.ignoreHits.map(() => 0);
            }
            const m = merged;
            s.failHits.forEach((n, i) => (m.failHits[i] += n));
            s.ignoreHits.forEach((n, i) => (m.ignoreHits[i] += n));
            for (const [name, n] of s.dateHits) {
                const e = m.dateHits.find(([x]) => x === name);
                if (e) e[1] += n;
                else m.dateHits.push([name, n]);
            }
            m.tested += s.tested;
            m.matched += s.matched;
            m.ignored += s.ignored;
            m.missed += s.missed;
            m.prefHits += s.prefHits;
            take(m.matchedLines, s.matchedLines, true);
            take(m.ignoredLines, s.ignoredLines, opts.printAllIgnored);
            take(m.missedLines, s.missedLines, opts.printAllMissed);
            onProgress?.(Math.min(size, nextToMerge * RANGE));
        }
    };
    try {
        await new Promise<void>((resolve, reject) => {
            let finished = 0;
            const complete = (r: RangeResult) => {
                done.set(r.id, r);
                finished++;
                mergeReady();
                if (finished === ranges.length) resolve();
            };
            const feed = (w: Worker) => {
                if (nextToSend < ranges.length) {
                    const id = nextToSend++;
                    w.postMessage({ id, start: ranges[id][0], end: ranges[id][1] });
                }
            };
            for (const w of workers) {
                w.on("message", (r: RangeResult) => {
                    try {
                        complete(r);
                    } catch (e) {
                        reject(e);
                        return;
                    }
                    feed(w);
                });
                w.on("error", reject);
                feed(w);
            }
        });
    } finally {
        await Promise.all(workers.map(w => w.terminate()));
    }
    if (!merged) throw new Error("no range was processed");
    return merged;
}

/** One range through a filter, collecting statistics (or -o output). */
function processRange(filter: Filter, init: WorkerInit, id: number, start: number, end: number): RangeResult {
    const out: string[] = [];
    const fmt =
        init.outFmt === undefined
            ? undefined
            : outFormatter(
                  init.outFmt,
                  init.definition,
                  init.compileOpts.useDns ?? init.definition.options.usedns ?? "warn",
              );
    const run = new RegexRun(filter, {
        ...init.opts,
        onMatchOut: fmt === undefined ? undefined : (r, line) => out.push(fmt(r, line), "\n"),
    });
    forEachLine(init.file, l => run.line(l), { start, end });
    return { id, stats: run.finish(0), out: out.join("") };
}

/** Worker side: compile the filter once, then answer range requests. */
function workerMain(init: WorkerInit): void {
    const filter = compileFilter(init.definition, init.compileOpts);
    parentPort!.on("message", (msg: { id: number; start: number; end: number }) => {
        parentPort!.postMessage(processRange(filter, init, msg.id, msg.start, msg.end));
    });
}

if (!isMainThread && (workerData as WorkerInit | undefined)?.tag === WORKER_TAG) workerMain(workerData as WorkerInit);
