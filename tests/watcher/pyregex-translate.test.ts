import * as assert from "assert";
import { globalToLocalFlags, PyRegexError, translatePyRegex } from "../../watcher/src/filter/pyregex";

/** Compiles like the filter does and returns a matcher giving named groups of the first variant that matches. */
function rx(py: string, multiline = false) {
    const t = translatePyRegex(py, { multiline });
    return (s: string): Record<string, string | undefined> | null => {
        let best: { m: RegExpExecArray; v: number } | null = null;
        t.sources.forEach((src, v) => {
            const m = new RegExp(src, t.flags).exec(s);
            if (m && (!best || m.index < best.m.index)) best = { m, v };
        });
        if (!best) return null;
        const b: { m: RegExpExecArray; v: number } = best;
        const out: Record<string, string | undefined> = { $0: b.m[0] };
        for (const [n, i] of t.groupIndex[b.v]) out[n] = b.m[i];
        return out;
    };
}

describe("Python regex -> JavaScript", () => {
    it("translates named groups and named backreferences", () => {
        const m = rx("(?P<sep>[-/])x(?P=sep)(?P<n>\\d+)")("a-x-42");
        assert.deepStrictEqual(m, { $0: "-x-42", sep: "-", n: "42" });
        assert.strictEqual(rx("(?P<sep>[-/])x(?P=sep)")("-x/"), null);
    });

    it("keeps numbered backreferences pointing at the right group after atomic groups", () => {
        assert.ok(rx("(?>a+)(b)\\1")("aabb"));
        assert.strictEqual(rx("(?>a+)(b)\\1")("aabc"), null);
        // An atomic group does not give back: (?>a+)a can never match.
        assert.strictEqual(rx("(?>a+)a")("aaaa"), null);
        assert.strictEqual(rx("a++a")("aaaa"), null);
        assert.ok(rx("a+a")("aaaa"));
    });

    it("turns global flags into RegExp flags", () => {
        assert.strictEqual(translatePyRegex("(?i)abc").flags, "i");
        assert.ok(rx("(?i)^failed for <?(?P<u>\\w+)")("FAILED for Bob"));
        assert.strictEqual(translatePyRegex("(?s)a.b").flags, "s");
        assert.ok(rx("(?s)a.b")("a\nb"));
    });

    it("expands local (?i:...) groups only where they apply", () => {
        const m = rx(globalToLocalFlags("SASL ((?i)LOGIN|PLAIN) authentication failed"));
        assert.ok(m("SASL login authentication failed"));
        assert.ok(m("SASL LoGiN authentication failed"));
        assert.strictEqual(m("sasl LOGIN authentication failed"), null);
        assert.ok(rx("x(?i:[a-c]+)y")("xAbCy"));
        assert.strictEqual(rx("x(?i:[a-c]+)y")("XAbCy"), null);
    });

    it("maps \\A and \\Z to the ends of the input, also in multi-line mode", () => {
        assert.ok(rx("\\Afoo\\Z")("foo"));
        assert.strictEqual(rx("\\Afoo\\Z")("xfoo"), null);
        const ml = rx("\\Abar$", true);
        assert.strictEqual(ml("foo\nbar\n"), null);
        assert.ok(rx("^bar$", true)("foo\nbar\n"));
    });

    it("handles Python-only class and quantifier spellings", () => {
        assert.ok(rx("[]a]+x")("]a]x"));
        assert.ok(rx("[^]a]x")("bx"));
        assert.strictEqual(rx("^a{,2}$")("aaa"), null);
        assert.ok(rx("^a{,2}$")("aa"));
        assert.ok(rx("^x{}$")("x{}"));
        assert.ok(rx("^a(?#comment)b$")("ab"));
        assert.ok(rx("^\\x41\\u0042$")("AB"));
    });

    it("translates conditionals by the referenced group taking part or not", () => {
        const re = rx('^(?P<q>")?\\w+(?(q)"|!)$');
        assert.ok(re('"abc"'));
        assert.ok(re("abc!"));
        assert.strictEqual(re('"abc!'), null);
        assert.strictEqual(re('abc"'), null);
        // sshd's shape: the user is a single word unless the `invalid user` group took part.
        const sshd = rx(
            "^for (?P<inv>invalid user )?(?P<user>(?P<w>\\S+)|(?(inv).*?|[^:]+)) from (?P<h>\\S+)(?(w) port \\d+|)$",
        );
        assert.deepStrictEqual(sshd("for root from 1.2.3.4 port 22")?.user, "root");
        assert.deepStrictEqual(sshd("for invalid user a b from 1.2.3.4")?.user, "a b");
        assert.strictEqual(translatePyRegex("(?P<a>x)?(?(a)y|z)").sources.length, 2);
    });

    it("matches \\w, \\d, \\s and \\b on any script like Python 3, or ASCII only with (?a)", () => {
        assert.strictEqual(rx("^user (?P<u>\\w+) from")("user müller from")?.u, "müller");
        assert.strictEqual(rx("^user (?P<u>\\w+) from")("user Дмитрий from")?.u, "Дмитрий");
        assert.strictEqual(rx("^user (?P<u>[\\w.-]+)$")("user jörg.o-k")?.u, "jörg.o-k");
        assert.ok(rx("^\\d+$")("١٢٣"));
        assert.ok(rx("^a\\sb$")("a\u3000b"));
        assert.ok(rx("^a\\sb$")("a\x1fb"));
        assert.ok(rx("\\bжук\\b")("большой жук!"));
        assert.strictEqual(rx("\\bжук\\b")("большойжук"), null);
        assert.strictEqual(rx("(?a)^\\w+$")("müller"), null);
        assert.ok(rx("(?a)^\\w+$")("muller"));
        assert.strictEqual(rx("^[^\\W\\d]+$")("ab1"), null);
        assert.ok(rx("^[^\\W\\d]+$")("äb"));
    });

    it("rejects what JavaScript cannot express, with the position", () => {
        const bad = (p: string, re: RegExp) =>
            assert.throws(
                () => translatePyRegex(p),
                (e: unknown) => e instanceof PyRegexError && re.test(e.message),
            );
        bad("(?L)abc", /locale-dependent/);
        bad("a(?Zb)", /unknown extension \(\?Z at position 1/);
        bad("(ab", /missing \), unterminated subpattern at position 0/);
        bad("ab)", /unbalanced parenthesis at position 2/);
        bad("a\\qb", /bad escape \\q at position 1/);
        bad("(?P<n>a)(?P<n>b)", /redefinition of group name "n"/);
        bad("(?P=zz)", /unknown group name "zz"/);
        bad("*a", /nothing to repeat at position 0/);
        bad("a{3,1}", /min repeat greater than max repeat/);
        bad("[abc", /unterminated character set/);
        bad("(?(nope)a|b)", /conditional refers to unknown group/);
    });
});
