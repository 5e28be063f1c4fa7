// The watcher's module graph: the control and peer handlers depend on the narrow interfaces of
// server/interfaces.ts, never on the server class, and no module imports itself back through others. Read from the
// sources' import lines (type-only imports count too: a cycle of types still ties the modules together).

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";

const SRC = path.resolve(__dirname, "../../watcher/src");

function sources(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap(e => {
        const p = path.join(dir, e.name);
        return e.isDirectory() ? sources(p) : e.name.endsWith(".ts") ? [p] : [];
    });
}

/** Relative imports of one file, resolved to files under SRC. */
function importsOf(file: string): string[] {
    const text = fs.readFileSync(file, "utf8");
    const out: string[] = [];
    const re =
        /(?:^|\n)\s*(?:import|export)\b[^"';]*?from\s*["'](\.[^"']+)["']|(?:^|\n)\s*import\s*["'](\.[^"']+)["']|import\(["'](\.[^"']+)["']\)/g;
    for (let m = re.exec(text); m; m = re.exec(text)) {
        const spec = m[1] ?? m[2] ?? m[3];
        const base = path.resolve(path.dirname(file), spec);
        const hit = [`${base}.ts`, path.join(base, "index.ts")].find(f => fs.existsSync(f));
        if (hit) out.push(hit);
    }
    return out;
}

const graph = new Map(sources(SRC).map(f => [f, importsOf(f)]));
const rel = (f: string) => path.relative(SRC, f);

/** Every module `from` reaches through its imports. */
function reach(from: string): Set<string> {
    const seen = new Set<string>();
    const todo = [from];
    while (todo.length) {
        for (const n of graph.get(todo.pop()!) ?? []) {
            if (!seen.has(n)) {
                seen.add(n);
                todo.push(n);
            }
        }
    }
    return seen;
}

/** Cycles as strongly connected components of more than one module (or a module importing itself). */
function cycles(): string[][] {
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const on = new Set<string>();
    const out: string[][] = [];
    let i = 0;
    const visit = (v: string) => {
        index.set(v, i);
        low.set(v, i++);
        stack.push(v);
        on.add(v);
        for (const w of graph.get(v) ?? []) {
            if (!index.has(w)) {
                visit(w);
                low.set(v, Math.min(low.get(v)!, low.get(w)!));
            } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
        }
        if (low.get(v) === index.get(v)) {
            const comp: string[] = [];
            let w: string;
            do {
                w = stack.pop()!;
                on.delete(w);
                comp.push(rel(w));
            } while (w !== v);
            if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(comp.sort());
        }
    };
    for (const v of graph.keys()) if (!index.has(v)) visit(v);
    return out;
}

describe("watcher: module dependencies", () => {
    const daemon = path.join(SRC, "server/daemon.ts");

    it("reads the import graph (a sanity check of this test's parser)", () => {
        assert.ok(reach(daemon).has(path.join(SRC, "actions/queue.ts")), "daemon.ts -> actions/queue.ts not seen");
        assert.ok(reach(daemon).has(path.join(SRC, "server/commands.ts")), "daemon.ts -> server/commands.ts not seen");
    });

    it("server/commands.ts does not depend on server/daemon.ts, directly or through others", () => {
        assert.ok(!reach(path.join(SRC, "server/commands.ts")).has(daemon));
    });

    it("control/ and peers/ do not depend on server/daemon.ts", () => {
        const bad = [...graph.keys()]
            .filter(f => /^(control|peers)\//.test(rel(f)))
            .filter(f => reach(f).has(daemon))
            .map(rel);
        assert.deepStrictEqual(bad, []);
    });

    it("server/interfaces.ts is a leaf of the server: it imports no runtime module of ours", () => {
        const text = fs.readFileSync(path.join(SRC, "server/interfaces.ts"), "utf8");
        const runtime = text.split("\n").filter(l => /^import\s/.test(l) && !/^import type\s/.test(l));
        assert.deepStrictEqual(runtime, []);
    });

    it("has no import cycle", () => {
        assert.deepStrictEqual(cycles(), []);
    });
});
