// A bound on the time one log line may spend in one jail's filter, whatever its regexes are.
//
// V8's linear-time fallback (backtracking.ts) covers only the patterns its other engine can run, and a compiled
// failregex rarely is one: <HOST> alone brings constructs it refuses, so `^(a+)+b <HOST>$` on a 30-character line
// still takes seconds to minutes, during which no other jail reads a line. JavaScript cannot stop a regex from the
// same thread, but V8 can: `vm`'s `timeout` arms a watchdog thread that terminates the running script, regex
// included, and the isolate carries on. So a batch of lines runs as one guarded call; when the watchdog fires, the
// line being matched is abandoned (if it had a whole budget to itself) or run again in a fresh budget (if the
// lines before it used part of that budget, or the process got too little CPU during it). Arming the watchdog
// costs one thread start per call (tens of microseconds), paid per batch and jail, not per line.
//
// Why not a worker thread per jail: each jail's filter, failure counts and ban decisions would have to live in the
// worker, the hot path would become asynchronous (and the saved log positions with it), and a single executable
// cannot start a worker from a file. The watchdog keeps the pipeline synchronous and needs nothing but node.
//
// With one fixed bound, a flood of such lines would cost that bound each. So each jail has its own budget (LineBudget): every line
// it abandons halves it, down to MIN_BUDGET_MS, and every batch without one doubles it back up to LINE_BUDGET_MS. A
// jail whose regex keeps exploding then costs the others milliseconds per line, not a tenth of a second.
//
// An abandoned line was stopped somewhere inside the filter: a multi-line filter may keep it in its buffer. That
// is the price of not matching it; the line is counted (JailCounters.linesTimedOut) and named in `status`.

import * as vm from "vm";

/** Default bound on matching one line in one jail, in milliseconds (a normal line takes microseconds). */
export const LINE_BUDGET_MS = 100;

/** The lowest budget a jail that keeps abandoning lines comes down to, in ms. */
export const MIN_BUDGET_MS = 5;

/** Runs again, at most this many times per batch, a call the watchdog stopped while the process was starved. */
const MAX_STARVED = 3;

/** One jail's bound on a line: halved for each line it abandons, doubled back after each batch without one. */
export class LineBudget {
    /** @param maxMs the bound of a jail in good standing (default LINE_BUDGET_MS); minMs its floor (MIN_BUDGET_MS). */
    constructor(
        readonly maxMs = LINE_BUDGET_MS,
        readonly minMs = Math.min(MIN_BUDGET_MS, maxMs),
    ) {
        this.ms = maxMs;
    }
    /** The bound now, in ms. */
    ms: number;
    strike(): void {
        this.ms = Math.max(this.minMs, Math.floor(this.ms / 2));
    }
    recover(): void {
        this.ms = Math.min(this.maxMs, this.ms * 2);
    }
}

/** Runs a batch of per-line calls with a bound on each. One instance per thread; calls must not nest. */
export class LineGuard {
    private readonly script = new vm.Script("run()", { filename: "jailwatch:line-guard" });
    private readonly context: vm.Context;
    private each: ((i: number) => void) | undefined;
    private next = 0;
    private end = 0;

    constructor() {
        this.context = vm.createContext({ run: () => this.loop() });
    }

    private loop(): void {
        const each = this.each!;
        while (this.next < this.end) {
            const i = this.next;
            each(i);
            this.next = i + 1;
        }
    }

    /**
     * Calls `each(i)` for i = 0 .. n-1 in order. A call that runs out of `budget` is stopped and skipped; the
     * indexes skipped are returned (in order). Errors thrown by `each` propagate as they would without the guard.
     */
    forEach(n: number, budget: LineBudget, each: (i: number) => void): number[] {
        const abandoned: number[] = [];
        if (this.each) {
            // Nested use (a line handler feeding lines): the outer call's watchdog already bounds it.
            for (let i = 0; i < n; i++) each(i);
            return abandoned;
        }
        this.each = each;
        this.next = 0;
        this.end = n;
        let starved = 0;
        try {
            while (this.next < n) {
                const first = this.next;
                const cpu = process.cpuUsage();
                try {
                    this.script.runInContext(this.context, { timeout: budget.ms });
                } catch (e) {
                    if ((e as { code?: string } | null)?.code !== "ERR_SCRIPT_EXECUTION_TIMEOUT") throw e;
                    // The watchdog counts wall-clock time: on a loaded machine the process may have waited for a
                    // CPU most of it. A call that got less than half its budget of CPU is run again (a few times
                    // at most, so the bound holds).
                    const used = process.cpuUsage(cpu);
                    if ((used.user + used.system) / 1000 < budget.ms / 2 && starved < MAX_STARVED) {
                        starved++;
                        continue;
                    }
                    // The line had the whole budget to itself: it is the culprit. Otherwise the lines before it
                    // used part of the budget, and it gets a fresh one.
                    if (this.next === first) {
                        abandoned.push(first);
                        this.next = first + 1;
                        budget.strike();
                    }
                }
            }
        } finally {
            this.each = undefined;
        }
        if (abandoned.length === 0) budget.recover();
        return abandoned;
    }
}

let shared: LineGuard | undefined;
const budgets = new Map<string, LineBudget>();

/** The guard the server's line path uses (created on first use). */
export function lineGuard(): LineGuard {
    return (shared ??= new LineGuard());
}

/** The budget of the jail named `jail` (kept across reloads, like its counters). */
export function jailBudget(jail: string): LineBudget {
    let b = budgets.get(jail);
    if (!b) budgets.set(jail, (b = new LineBudget()));
    return b;
}

/**
 * After a batch: counts one jail's abandoned lines, warns at a bounded rate (the 1st, 2nd, 4th, 8th... such line)
 * and keeps a single `status` problem line for the jail up to date.
 */
export function reportTimedOut(
    jail: string,
    lines: string[],
    counters: { linesTimedOut: number },
    problems: string[],
    log: { warn(msg: string): void },
): void {
    if (lines.length === 0) return;
    const before = counters.linesTimedOut;
    counters.linesTimedOut += lines.length;
    const total = counters.linesTimedOut;
    // A power of two crossed in (before, total]: log once for it.
    if (Math.floor(Math.log2(total)) > (before === 0 ? -1 : Math.floor(Math.log2(before)))) {
        const shown = lines[0].length > 120 ? `${lines[0].slice(0, 120)}...` : lines[0];
        log.warn(
            `[${jail}] matching a line ran out of its time bound and was abandoned (${total} so far; a catastrophic failregex?): ${JSON.stringify(shown)}`,
        );
    }
    const prefix = `jail [${jail}]: `;
    const text = `${prefix}${total} line(s) abandoned: matching one took over ${LINE_BUDGET_MS} ms (${MIN_BUDGET_MS} ms while the jail keeps doing so; a failregex that backtracks catastrophically? see jailwatch -t)`;
    const at = problems.findIndex(p => p.startsWith(prefix) && p.includes(" line(s) abandoned: "));
    if (at >= 0) problems[at] = text;
    else problems.push(text);
}
