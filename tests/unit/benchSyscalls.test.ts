// The site bench's system-call breakdown reads perf's summary: every thread's rows summed, nothing else taken.
import * as assert from "assert";
import { parsePerfSummary } from "../../bench/siteSyscalls";

const SUMMARY = `
 Summary of events:

 php-fpm8.2 (15155), 5832 events, 23.1%

   syscall            calls  errors  total       min       avg       max       stddev
                                     (msec)    (msec)    (msec)    (msec)        (%)
   --------------- --------  ------ -------- --------- --------- ---------     ------
   newfstatat          1234     400    10.400     0.002     0.008     0.900      3.10%
   openat                97      15     9.660     0.010     0.099     1.200      5.00%
   epoll_wait             2       0   300.000   100.000   150.000   200.000     33.00%

 php-fpm8.2 (15156), 100 events, 1.0%

   syscall            calls  errors  total       min       avg       max       stddev
                                     (msec)    (msec)    (msec)    (msec)        (%)
   --------------- --------  ------ -------- --------- --------- ---------     ------
   newfstatat            16       0     0.600     0.010     0.037     0.100      9.00%
`;

describe("bench: perf trace summary", () => {
    it("sums each system call over the threads and skips headers and thread lines", () => {
        const t = parsePerfSummary(SUMMARY);
        assert.deepStrictEqual([...t.keys()].sort(), ["epoll_wait", "newfstatat", "openat"]);
        assert.strictEqual(t.get("newfstatat")!.calls, 1250);
        assert.ok(Math.abs(t.get("newfstatat")!.ms - 11.0) < 1e-9);
        assert.strictEqual(t.get("openat")!.calls, 97);
    });

    it("an empty or foreign text gives no rows, never a guess", () => {
        assert.strictEqual(parsePerfSummary("").size, 0);
        assert.strictEqual(parsePerfSummary("perf: no permission to trace\n  oops 12 things").size, 0);
    });
});
