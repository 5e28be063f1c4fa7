// The line reader behind `jailwatch regex`: fail2ban-regex's line rules, and byte ranges that together read every
// line exactly once wherever the cuts fall.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { emitLines, forEachLine } from "../../watcher/src/regex/lines";

/** The counted lines of `text` by the rules, written the obvious way. */
function expected(text: string): string[] {
    const parts = text.split("\n");
    if (!text.endsWith("\n"))
        parts.pop(); // unterminated last line: not complete yet
    else parts.pop(); // the empty string after the final newline
    return parts.map(l => l.replace(/[\r\n]+$/, "")).filter(l => l !== "" && !l.startsWith("#"));
}

describe("regex CLI: line reader", () => {
    let dir: string;
    let file: string;
    let text: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "jw-lines-"));
        file = path.join(dir, "log");
        const lines: string[] = [];
        let seed = 42;
        const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296;
        for (let i = 0; i < 3000; i++) {
            const r = rnd();
            if (r < 0.05) lines.push("");
            else if (r < 0.1) lines.push("# comment " + i);
            else if (r < 0.15) lines.push(`crlf line ${i}\r`);
            else if (r < 0.2) lines.push(`utf-8 line ${i}: café ☃ 𝄞 ${"é".repeat(Math.floor(rnd() * 50))}`);
            else if (r < 0.21) lines.push("long " + "x".repeat(5000 + Math.floor(rnd() * 5000)));
            else lines.push(`line ${i} ${"a".repeat(Math.floor(rnd() * 200))}`);
        }
        text = lines.join("\n") + "\nunterminated last line";
        fs.writeFileSync(file, text);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("reads the whole file by fail2ban-regex's rules, with any chunk size", () => {
        const want = expected(text);
        for (const chunkSize of [64, 1000, 4096, 1 << 20]) {
            const got: string[] = [];
            forEachLine(file, l => got.push(l), { chunkSize });
            assert.deepEqual(got, want, `chunkSize ${chunkSize}`);
        }
    });

    it("reads every line exactly once across ranges cut anywhere", () => {
        const want = expected(text);
        const size = fs.statSync(file).size;
        let seed = 7;
        const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296;
        for (let trial = 0; trial < 20; trial++) {
            const cuts = [
                0,
                ...Array.from({ length: 1 + Math.floor(rnd() * 12) }, () => Math.floor(rnd() * size)).sort(
                    (a, b) => a - b,
                ),
                size,
            ];
            const got: string[] = [];
            for (let i = 0; i + 1 < cuts.length; i++)
                forEachLine(file, l => got.push(l), { start: cuts[i], end: cuts[i + 1], chunkSize: 777 });
            assert.deepEqual(got, want, `cuts ${cuts.join(",")}`);
        }
    });

    it("splits text given on the command line the same way (a last line without newline counts there)", () => {
        const got: string[] = [];
        emitLines("a\r\n\n# c\nb\r\r\nc", l => got.push(l));
        assert.deepEqual(got, ["a", "b", "c"]);
    });
});
