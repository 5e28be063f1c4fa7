// Translation of Python `re` syntax (what fail2ban filters are written in) to JavaScript RegExp.
//
// The pattern is parsed into a small tree and printed again as JavaScript. Differences handled:
//   (?P<n>..) (?P=n)         named groups/backrefs: printed as plain numbered groups; names are kept in a side
//                            table (no per-match `groups` object, and Python's one-name-per-group rule holds anyway)
//   (?i) (?s) (?m) (?x) ...  global flags become RegExp flags; local flag groups (?i:..) are expanded by hand
//                            (Node 20 has no regexp modifiers): letters become [aA]
//   \A \Z                    start/end of input (also in multi-line mode)
//   (?>..)  x*+ x++ x?+      atomic/possessive via (?=(..))\N
//   (?(name)yes|no)          conditionals: one JavaScript regex per combination of the referenced groups
//                            taking part or not (see `variants`)
//   []..]  {,n}  {           Python's literal `]` first in a class, `{,n}` quantifier, literal braces
//   (?#...)                  comments dropped
// Anything else that JavaScript cannot express raises PyRegexError with the position.

export class PyRegexError extends Error {
    constructor(
        readonly pattern: string,
        readonly pos: number,
        reason: string,
    ) {
        super(`${reason} at position ${pos} in regex ${JSON.stringify(pattern)}`);
        this.name = "PyRegexError";
    }
}

type Node =
    | { t: "seq"; items: Node[] }
    | { t: "alt"; alts: Node[] }
    | {
          t: "group";
          kind: "cap" | "nc" | "la" | "nla" | "lb" | "nlb" | "atomic";
          name?: string;
          num?: number;
          flags?: LocalFlags;
          body: Node;
      }
    | { t: "quant"; body: Node; min: number; max: number; lazy: boolean; poss: boolean }
    | { t: "lit"; ch: string }
    | { t: "esc"; js: string }
    | { t: "dot" }
    | { t: "class"; negate: boolean; items: string; letters: boolean }
    | { t: "anchor"; kind: "^" | "$" | "A" | "Z" | "b" | "B" }
    | { t: "backref"; ref: string | number }
    | { t: "cond"; ref: string | number; yes: Node; no: Node }
    | { t: "fail" };

interface LocalFlags {
    on: string;
    off: string;
}

export interface TranslatedRegex {
    /** JavaScript source, one per conditional variant (usually exactly one). */
    sources: string[];
    flags: string;
    /** Python group name -> JavaScript group index, per variant. */
    groupIndex: Array<Map<string, number>>;
    /** Group names in Python order. */
    names: string[];
    /**
     * The longest literal text every match must contain (from the top level of the pattern), for a cheap
     * `indexOf` pre-check; empty when there is none or the regex is case-insensitive.
     */
    required: string;
    /** Whether every match starts with `required` (so a search may begin where it is found). */
    startsWithRequired: boolean;
}

/** Runs of plain literals in the top-level sequence: text a match cannot do without. */
function requiredLiteral(tree: Node): { text: string; atStart: boolean } {
    if (tree.t !== "seq") return { text: "", atStart: false };
    let best = "",
        bestAtStart = false,
        cur = "",
        curStart = 0;
    const flush = () => {
        if (cur.length > best.length) {
            best = cur;
            bestAtStart = curStart === 0;
        }
        cur = "";
    };
    tree.items.forEach((n, i) => {
        if (n.t === "lit") {
            if (cur === "") curStart = i;
            cur += n.ch;
        } else if (n.t === "esc" && n.js === "\\n") {
            if (cur === "") curStart = i;
            cur += "\n";
        } else {
            flush();
        }
    });
    flush();
    return { text: best, atStart: bestAtStart };
}

class Parser {
    pos = 0;
    groupCount = 0;
    names: string[] = [];
    globalFlags = new Set<string>();
    constructor(readonly src: string) {}

    fail(reason: string, at = this.pos): never {
        throw new PyRegexError(this.src, at, reason);
    }

    parse(): Node {
        const n = this.parseAlt();
        if (this.pos < this.src.length) this.fail("unbalanced parenthesis");
        return n;
    }

    parseAlt(): Node {
        const alts: Node[] = [this.parseSeq()];
        while (this.src[this.pos] === "|") {
            this.pos++;
            alts.push(this.parseSeq());
        }
        return alts.length === 1 ? alts[0] : { t: "alt", alts };
    }

    parseSeq(): Node {
        const items: Node[] = [];
        const s = this.src;
        while (this.pos < s.length && s[this.pos] !== "|" && s[this.pos] !== ")") {
            const atom = this.parseAtom();
            if (atom === null) continue;
            items.push(this.parseQuant(atom));
        }
        return { t: "seq", items };
    }

    skipVerbose(): void {
        if (!this.globalFlags.has("x")) return;
        const s = this.src;
        for (;;) {
            while (this.pos < s.length && /\s/.test(s[this.pos])) this.pos++;
            if (s[this.pos] === "#") {
                while (this.pos < s.length && s[this.pos] !== "\n") this.pos++;
                continue;
            }
            return;
        }
    }

    parseQuant(atom: Node): Node {
        const s = this.src;
        this.skipVerbose();
        let min: number, max: number;
        const c = s[this.pos];
        if (c === "*") {
            min = 0;
            max = Infinity;
            this.pos++;
        } else if (c === "+") {
            min = 1;
            max = Infinity;
            this.pos++;
        } else if (c === "?") {
            min = 0;
            max = 1;
            this.pos++;
        } else if (c === "{") {
            const m = /^\{(\d*)(,?)(\d*)\}/.exec(s.slice(this.pos));
            // `{}` / `{,}` / `{x}` are no quantifiers in Python: the brace is a literal that follows.
            if (!m || (m[1] === "" && m[3] === "")) return atom;
            min = m[1] === "" ? 0 : Number(m[1]);
            max = m[2] === "" ? min : m[3] === "" ? Infinity : Number(m[3]);
            if (max < min) this.fail("min repeat greater than max repeat");
            this.pos += m[0].length;
        } else return atom;
        if (atom.t === "anchor") this.fail("nothing to repeat", this.pos - 1);
        if (atom.t === "quant") this.fail("multiple repeat", this.pos - 1);
        let lazy = false,
            poss = false;
        if (s[this.pos] === "?") {
            lazy = true;
            this.pos++;
        } else if (s[this.pos] === "+") {
            poss = true;
            this.pos++;
        }
        return { t: "quant", body: atom, min, max, lazy, poss };
    }

    parseAtom(): Node | null {
        const s = this.src;
        this.skipVerbose();
        if (this.pos >= s.length || s[this.pos] === "|" || s[this.pos] === ")") return null;
        const c = s[this.pos];
        switch (c) {
            case "(":
                return this.parseGroup();
            case "[":
                return this.parseClass();
            case ".":
                this.pos++;
                return { t: "dot" };
            case "^":
                this.pos++;
                return { t: "anchor", kind: "^" };
            case "$":
                this.pos++;
                return { t: "anchor", kind: "$" };
            case "\\":
                return this.parseEscape();
            case "*":
            case "+":
            case "?":
                this.fail("nothing to repeat");
            // eslint-disable-next-line no-fallthrough
            case "{": {
                const m = /^\{(\d*),?(\d*)\}/.exec(s.slice(this.pos));
                if (m && (m[1] !== "" || m[2] !== "")) this.fail("nothing to repeat");
                this.pos++;
                return { t: "lit", ch: "{" };
            }
            default:
                this.pos++;
                return { t: "lit", ch: c };
        }
    }

    parseEscape(): Node {
        const s = this.src;
        const start = this.pos;
        this.pos++;
        const c = s[this.pos++];
        if (c === undefined) this.fail("bad escape (end of pattern)", start);
        switch (c) {
            case "A":
                return { t: "anchor", kind: "A" };
            case "Z":
                return { t: "anchor", kind: "Z" };
            case "b":
                return { t: "anchor", kind: "b" };
            case "B":
                return { t: "anchor", kind: "B" };
            case "d":
            case "D":
            case "w":
            case "W":
            case "s":
            case "S":
            case "n":
            case "t":
            case "r":
            case "f":
            case "v":
                return { t: "esc", js: "\\" + c };
            case "a":
                return { t: "esc", js: "\\x07" };
            case "x": {
                const m = /^[0-9a-fA-F]{2}/.exec(s.slice(this.pos));
                if (!m) this.fail("incomplete escape \\x", start);
                this.pos += 2;
                return { t: "esc", js: "\\x" + m[0] };
            }
            case "u":
            case "U": {
                const n = c === "u" ? 4 : 8;
                const m = new RegExp(`^[0-9a-fA-F]{${n}}`).exec(s.slice(this.pos));
                if (!m) this.fail(`incomplete escape \\${c}`, start);
                this.pos += n;
                const cp = parseInt(m[0], 16);
                return { t: "lit", ch: String.fromCodePoint(cp) };
            }
            case "0": {
                const m = /^[0-7]{0,2}/.exec(s.slice(this.pos))!;
                this.pos += m[0].length;
                return { t: "lit", ch: String.fromCharCode(parseInt("0" + m[0], 8)) };
            }
            default:
                if (c >= "1" && c <= "9") {
                    const m = /^\d?/.exec(s.slice(this.pos))!;
                    const num = Number(c + m[0]);
                    this.pos += m[0].length;
                    if (num > this.groupCount) this.fail(`invalid group reference ${num}`, start);
                    return { t: "backref", ref: num };
                }
                if (/[a-zA-Z]/.test(c)) this.fail(`bad escape \\${c}`, start);
                return { t: "lit", ch: c };
        }
    }

    parseClass(): Node {
        const s = this.src;
        const start = this.pos;
        this.pos++;
        let negate = false;
        if (s[this.pos] === "^") {
            negate = true;
            this.pos++;
        }
        let items = "";
        let first = true;
        let letters = false;
        for (;;) {
            if (this.pos >= s.length) this.fail("unterminated character set", start);
            const c = s[this.pos];
            if (c === "]" && !first) {
                this.pos++;
                break;
            }
            first = false;
            if (c === "\\") {
                const d = s[this.pos + 1];
                if (d === undefined) this.fail("bad escape (end of pattern)", this.pos);
                if (d === "A" || d === "Z") this.fail(`bad escape \\${d} in character set`, this.pos);
                if (d === "x") {
                    items += s.slice(this.pos, this.pos + 4);
                    this.pos += 4;
                    continue;
                }
                if (d === "a") {
                    items += "\\x07";
                    this.pos += 2;
                    continue;
                }
                items += "\\" + d;
                this.pos += 2;
                continue;
            }
            if (c === "]" || c === "[") {
                items += "\\" + c;
                this.pos++;
                continue;
            }
            if (/[a-zA-Z]/.test(c)) letters = true;
            items += c;
            this.pos++;
        }
        return { t: "class", negate, items, letters };
    }

    parseGroup(): Node {
        const s = this.src;
        const start = this.pos;
        this.pos++;
        if (s[this.pos] !== "?") {
            const num = ++this.groupCount;
            return this.finishGroup({ kind: "cap", num }, start);
        }
        this.pos++;
        const rest = s.slice(this.pos);
        let m: RegExpExecArray | null;
        if ((m = /^P<([A-Za-z_]\w*)>/.exec(rest)) || (m = /^<([A-Za-z_]\w*)>/.exec(rest))) {
            this.pos += m[0].length;
            if (this.names.includes(m[1])) this.fail(`redefinition of group name ${JSON.stringify(m[1])}`, start);
            this.names.push(m[1]);
            const num = ++this.groupCount;
            return this.finishGroup({ kind: "cap", num, name: m[1] }, start);
        }
        if ((m = /^P=([A-Za-z_]\w*)\)/.exec(rest))) {
            this.pos += m[0].length;
            if (!this.names.includes(m[1])) this.fail(`unknown group name ${JSON.stringify(m[1])}`, start);
            return { t: "backref", ref: m[1] };
        }
        if (rest.startsWith("#")) {
            const end = s.indexOf(")", this.pos);
            if (end < 0) this.fail("missing ), unterminated comment", start);
            this.pos = end + 1;
            return { t: "seq", items: [] };
        }
        const simple: Array<[string, "nc" | "la" | "nla" | "lb" | "nlb" | "atomic"]> = [
            [":", "nc"],
            ["=", "la"],
            ["!", "nla"],
            ["<=", "lb"],
            ["<!", "nlb"],
            [">", "atomic"],
        ];
        for (const [p, kind] of simple) {
            if (rest.startsWith(p)) {
                this.pos += p.length;
                return this.finishGroup({ kind }, start);
            }
        }
        if (rest.startsWith("(")) {
            const cm = /^\(([A-Za-z_]\w*|\d+)\)/.exec(rest);
            if (!cm) this.fail("bad conditional group reference", start);
            this.pos += cm[0].length;
            const ref: string | number = /^\d+$/.test(cm[1]) ? Number(cm[1]) : cm[1];
            const yes = this.parseSeq();
            let no: Node = { t: "seq", items: [] };
            if (s[this.pos] === "|") {
                this.pos++;
                no = this.parseSeq();
                if (s[this.pos] === "|") this.fail("conditional group with more than two branches", start);
            }
            if (s[this.pos] !== ")") this.fail("missing ), unterminated subpattern", start);
            this.pos++;
            return { t: "cond", ref, yes, no };
        }
        if ((m = /^([aiLmsux]*)(?:-([imsx]+))?([:)])/.exec(rest)) && (m[1] || m[2])) {
            this.pos += m[0].length;
            if (m[3] === ")") {
                if (m[2]) this.fail("missing : after negative inline flags", start);
                // Global flags (Python wants them at the start; old Pythons applied them anywhere to the whole).
                for (const f of m[1]) this.globalFlags.add(f);
                return null as unknown as Node;
            }
            return this.finishGroup({ kind: "nc", flags: { on: m[1], off: m[2] ?? "" } }, start);
        }
        this.fail("unknown extension (?" + (rest[0] ?? ""), start);
    }

    finishGroup(
        g: {
            kind: "cap" | "nc" | "la" | "nla" | "lb" | "nlb" | "atomic";
            num?: number;
            name?: string;
            flags?: LocalFlags;
        },
        start: number,
    ): Node {
        const body = this.parseAlt();
        if (this.src[this.pos] !== ")") this.fail("missing ), unterminated subpattern", start);
        this.pos++;
        return { t: "group", ...g, body };
    }
}

// ----- conditional variants --------------------------------------------------------------------------------

function collectCondRefs(n: Node, out: Array<string | number>): void {
    switch (n.t) {
        case "seq":
            n.items.forEach(x => collectCondRefs(x, out));
            break;
        case "alt":
            n.alts.forEach(x => collectCondRefs(x, out));
            break;
        case "group":
        case "quant":
            collectCondRefs(n.body, out);
            break;
        case "cond":
            if (!out.includes(n.ref)) out.push(n.ref);
            collectCondRefs(n.yes, out);
            collectCondRefs(n.no, out);
            break;
        default:
            break;
    }
}

const isRef = (n: Node, ref: string | number) =>
    n.t === "group" && n.kind === "cap" && (n.name === ref || n.num === ref);

function contains(n: Node, ref: string | number): boolean {
    if (isRef(n, ref)) return true;
    switch (n.t) {
        case "seq":
            return n.items.some(x => contains(x, ref));
        case "alt":
            return n.alts.some(x => contains(x, ref));
        case "group":
        case "quant":
            return contains(n.body, ref);
        case "cond":
            return contains(n.yes, ref) || contains(n.no, ref);
        default:
            return false;
    }
}

/** Rewrites the tree for one assumption: group `ref` takes part in the match (`on`) or not. */
function assume(n: Node, ref: string | number, on: boolean): Node {
    if (isRef(n, ref)) return on ? n : { t: "fail" };
    switch (n.t) {
        case "seq":
            return { t: "seq", items: n.items.map(x => assume(x, ref, on)) };
        case "alt": {
            const alts = on && n.alts.some(x => contains(x, ref)) ? n.alts.filter(x => contains(x, ref)) : n.alts;
            const mapped = alts.map(x => assume(x, ref, on));
            return mapped.length === 1 ? mapped[0] : { t: "alt", alts: mapped };
        }
        case "group":
            return { ...n, body: assume(n.body, ref, on) };
        case "quant": {
            const body = assume(n.body, ref, on);
            if (on && contains(n.body, ref) && n.min === 0) return { ...n, body, min: 1, max: Math.max(1, n.max) };
            return { ...n, body };
        }
        case "cond":
            if (n.ref === ref) return assume(on ? n.yes : n.no, ref, on);
            return { ...n, yes: assume(n.yes, ref, on), no: assume(n.no, ref, on) };
        default:
            return n;
    }
}

// ----- printing --------------------------------------------------------------------------------------------

interface PrintCtx {
    /** ASCII-only \w \d \s \b (Python's (?a)); otherwise Unicode as Python 3 matches str patterns. */
    ascii: boolean;
    ignoreCase: boolean; // local (?i:) in effect while the regex is not globally case-insensitive
    dotAll: boolean; // local (?s:)
    multiline: boolean; // global
    globalI: boolean;
    nextGroup: number;
    pyToJs: Map<number, number>;
    names: Map<string, number>;
    numOfName: Map<string, number>;
    atomic: number;
}

const SPECIAL = /[\\^$.*+?()[\]{}|/]/;

function caseClassItems(items: string): string {
    // Add the other case of every letter and letter range in a class body.
    let extra = "";
    for (let i = 0; i < items.length; i++) {
        const c = items[i];
        if (c === "\\") {
            i++;
            continue;
        }
        if (items[i + 1] === "-" && items[i + 2] !== undefined && items[i + 2] !== "\\") {
            const a = c,
                b = items[i + 2];
            if (/[a-z]/.test(a) && /[a-z]/.test(b)) extra += a.toUpperCase() + "-" + b.toUpperCase();
            else if (/[A-Z]/.test(a) && /[A-Z]/.test(b)) extra += a.toLowerCase() + "-" + b.toLowerCase();
            i += 2;
            continue;
        }
        if (/[a-z]/.test(c)) extra += c.toUpperCase();
        else if (/[A-Z]/.test(c)) extra += c.toLowerCase();
    }
    return items + extra;
}

// Python 3 matches str patterns with Unicode classes: \w is any letter or digit of any script (and _), \d any
// decimal digit, \s includes \x1c-\x1f. JavaScript without the u flag knows ASCII only, so the classes are
// spelled out as ranges (built once from the JavaScript engine's own Unicode tables, BMP only).
interface UniClasses {
    w: string;
    W: string;
    d: string;
    D: string;
    s: string;
    S: string;
    wc: string;
}
let UNI: UniClasses | undefined;

type Ranges = Array<[number, number]>;

/** Code-unit ranges of the BMP that `re` (global, unicode) matches, found in one pass over all characters. */
function rangesOf(re: RegExp, bmp: string): Ranges {
    const out: Ranges = [];
    for (const m of bmp.matchAll(re)) {
        if (m[0].length > 1 && m[0].codePointAt(0)! > 0xffff) continue; // an accidental surrogate pair
        out.push([m.index!, m.index! + m[0].length - 1]);
    }
    return out;
}

function complement(r: Ranges): Ranges {
    const out: Ranges = [];
    let next = 0;
    for (const [a, b] of r) {
        if (a > next) out.push([next, a - 1]);
        next = b + 1;
    }
    if (next <= 0xffff) out.push([next, 0xffff]);
    return out;
}

function classText(r: Ranges): string {
    const hex = (c: number) => "\\u" + c.toString(16).padStart(4, "0");
    return r.map(([a, b]) => (a === b ? hex(a) : b === a + 1 ? hex(a) + hex(b) : `${hex(a)}-${hex(b)}`)).join("");
}

function uni(): UniClasses {
    if (UNI) return UNI;
    const codes = new Uint16Array(0x10000);
    for (let c = 0; c < 0x10000; c++) codes[c] = c >= 0xd800 && c <= 0xdfff ? 0 : c; // no surrogates
    const bmp = new TextDecoder("utf-16le").decode(codes);
    const word = rangesOf(/[\p{L}\p{N}_]+/gu, bmp);
    const digit = rangesOf(/\p{Nd}+/gu, bmp);
    // Python 3 counts the ASCII separators 0x1c-0x1f as whitespace; so must we.
    // eslint-disable-next-line no-control-regex
    const space = rangesOf(/[\s\x1c-\x1f]+/gu, bmp);
    const w = classText(word);
    UNI = {
        w,
        W: classText(complement(word)),
        d: classText(digit),
        D: classText(complement(digit)),
        s: "\\s\\x1c-\\x1f",
        S: classText(complement(space)),
        wc: `[${w}]`,
    };
    return UNI;
}

function unicodeEscape(js: string): string {
    switch (js) {
        case "\\w":
            return `[${uni().w}]`;
        case "\\W":
            return `[^${uni().w}]`;
        case "\\d":
            return `[${uni().d}]`;
        case "\\D":
            return `[^${uni().d}]`;
        case "\\s":
            return `[${uni().s}]`;
        case "\\S":
            return `[^${uni().s}]`;
        default:
            return js;
    }
}

/** Class body with \w \W \d \D \s \S spelled out as Unicode ranges. */
function unicodeClassItems(items: string): string {
    if (!/\\[wWdDsS]/.test(items)) return items;
    let out = "";
    for (let i = 0; i < items.length; i++) {
        const c = items[i];
        if (c !== "\\") {
            out += c;
            continue;
        }
        const d = items[i + 1];
        const u = uni();
        const rep =
            d === "w"
                ? u.w
                : d === "W"
                  ? u.W
                  : d === "d"
                    ? u.d
                    : d === "D"
                      ? u.D
                      : d === "s"
                        ? u.s
                        : d === "S"
                          ? u.S
                          : undefined;
        out += rep ?? c + d;
        i++;
    }
    return out;
}

function print(n: Node, ctx: PrintCtx): string {
    switch (n.t) {
        case "seq":
            return n.items.map(x => print(x, ctx)).join("");
        case "alt":
            return n.alts.map(x => print(x, ctx)).join("|");
        case "lit": {
            const c = n.ch;
            if (ctx.ignoreCase && /[a-zA-Z]/.test(c)) return `[${c.toLowerCase()}${c.toUpperCase()}]`;
            if (SPECIAL.test(c)) return "\\" + c;
            if (c === "\n") return "\\n";
            return c;
        }
        case "esc":
            return ctx.ascii ? n.js : unicodeEscape(n.js);
        case "dot":
            return ctx.dotAll ? "[\\s\\S]" : ".";
        case "class": {
            let items = ctx.ignoreCase && n.letters ? caseClassItems(n.items) : n.items;
            if (!ctx.ascii) items = unicodeClassItems(items);
            return `[${n.negate ? "^" : ""}${items}]`;
        }
        case "anchor":
            switch (n.kind) {
                case "^":
                    return "^";
                case "$":
                    return "$";
                case "A":
                    return ctx.multiline ? "(?<![\\s\\S])" : "^";
                case "Z":
                    return ctx.multiline ? "(?![\\s\\S])" : "$";
                case "b":
                    return ctx.ascii ? "\\b" : `(?:(?<=${uni().wc})(?!${uni().wc})|(?<!${uni().wc})(?=${uni().wc}))`;
                case "B":
                    return ctx.ascii ? "\\B" : `(?:(?<=${uni().wc})(?=${uni().wc})|(?<!${uni().wc})(?!${uni().wc}))`;
            }
        // eslint-disable-next-line no-fallthrough
        case "backref": {
            const js = typeof n.ref === "number" ? ctx.pyToJs.get(n.ref) : ctx.names.get(n.ref);
            // A reference to a group removed for this variant can never match (as in Python).
            return js === undefined ? "(?!)" : `\\${js}(?:)`;
        }
        case "fail":
            return "(?!)";
        case "cond":
            throw new Error("internal: conditional left after variant expansion");
        case "quant": {
            let q: string;
            if (n.min === 0 && n.max === Infinity) q = "*";
            else if (n.min === 1 && n.max === Infinity) q = "+";
            else if (n.min === 0 && n.max === 1) q = "?";
            else if (n.max === Infinity) q = `{${n.min},}`;
            else if (n.min === n.max) q = `{${n.min}}`;
            else q = `{${n.min},${n.max}}`;
            if (n.lazy) q += "?";
            if (n.poss) {
                const idx = ctx.nextGroup++;
                ctx.atomic++;
                const inner = print(n.body, ctx);
                return `(?=(${wrap(n.body, inner)}${q}))\\${idx}(?:)`;
            }
            const inner = print(n.body, ctx);
            return wrap(n.body, inner) + q;
        }
        case "group": {
            if (n.kind === "cap") {
                const idx = ctx.nextGroup++;
                if (n.num !== undefined) ctx.pyToJs.set(n.num, idx);
                if (n.name !== undefined) ctx.names.set(n.name, idx);
                return `(${print(n.body, ctx)})`;
            }
            if (n.kind === "atomic") {
                const idx = ctx.nextGroup++;
                ctx.atomic++;
                return `(?=(${print(n.body, ctx)}))\\${idx}(?:)`;
            }
            if (n.flags) {
                const sub = { ...ctx };
                for (const f of n.flags.on) {
                    if (f === "i" && !ctx.globalI) sub.ignoreCase = true;
                    if (f === "s") sub.dotAll = true;
                }
                for (const f of n.flags.off) {
                    if (f === "i") {
                        if (ctx.globalI)
                            throw new Error("(?-i:...) inside a case-insensitive regex has no JavaScript equivalent");
                        sub.ignoreCase = false;
                    }
                    if (f === "s") sub.dotAll = false;
                }
                const body = print(n.body, sub);
                ctx.nextGroup = sub.nextGroup;
                ctx.atomic = sub.atomic;
                return `(?:${body})`;
            }
            const open = { nc: "(?:", la: "(?=", nla: "(?!", lb: "(?<=", nlb: "(?<!" }[n.kind];
            return `${open}${print(n.body, ctx)})`;
        }
    }
}

/** Quantified multi-char printed atoms need a group. */
function wrap(n: Node, printed: string): string {
    if (n.t === "lit" || n.t === "esc" || n.t === "dot" || n.t === "class" || n.t === "group") {
        // A case-expanded literal prints as a class, a backref prints with a trailing (?:): both fine or wrapped.
        return printed;
    }
    if (n.t === "backref") return `(?:${printed})`;
    return `(?:${printed})`;
}

export interface TranslateOptions {
    /** Compile for a multi-line buffer (fail2ban sets re.MULTILINE when maxlines > 1). */
    multiline?: boolean;
    /** ASCII-only classes, as with Python's (?a) (used for date patterns, which are ASCII by nature). */
    ascii?: boolean;
}

/** fail2ban turns `((?i)x)` and `(?:(?i)x)` into the local form `(?i:x)` before compiling; so do we. */
export function globalToLocalFlags(regex: string): string {
    return regex.replace(/(?<!\\)\((?:\?:)?(\(\?[a-z]+)\)/g, "$1:");
}

export function translatePyRegex(pattern: string, opts: TranslateOptions = {}): TranslatedRegex {
    const p = new Parser(pattern);
    const tree = p.parse();
    const refs: Array<string | number> = [];
    collectCondRefs(tree, refs);
    for (const r of refs) {
        if (typeof r === "string" ? !p.names.includes(r) : r > p.groupCount) {
            throw new PyRegexError(pattern, 0, `conditional refers to unknown group ${JSON.stringify(r)}`);
        }
    }
    if (refs.length > 4) throw new PyRegexError(pattern, 0, "too many conditional groups to translate (max 4)");
    // Variants in the order Python's backtracking would try them: referenced groups taking part first.
    let trees: Node[] = [tree];
    for (const r of refs) trees = trees.flatMap(t => [assume(t, r, true), assume(t, r, false)]);
    const g = p.globalFlags;
    if (g.has("L")) throw new PyRegexError(pattern, 0, "locale-dependent matching (?L) has no JavaScript equivalent");
    const multiline = !!opts.multiline || g.has("m");
    let flags = "";
    if (g.has("i")) flags += "i";
    if (multiline) flags += "m";
    if (g.has("s")) flags += "s";
    const sources: string[] = [];
    const groupIndex: Array<Map<string, number>> = [];
    for (const t of trees) {
        const ctx: PrintCtx = {
            ascii: !!opts.ascii || g.has("a"),
            ignoreCase: false,
            dotAll: false,
            multiline,
            globalI: g.has("i"),
            nextGroup: 1,
            pyToJs: new Map(),
            names: new Map(),
            numOfName: new Map(),
            atomic: 0,
        };
        let src: string;
        try {
            src = print(t, ctx);
        } catch (e) {
            throw new PyRegexError(pattern, 0, (e as Error).message);
        }
        try {
            new RegExp(src, flags);
        } catch (e) {
            throw new PyRegexError(pattern, 0, `translated regex is invalid in JavaScript (${(e as Error).message})`);
        }
        sources.push(src);
        groupIndex.push(ctx.names);
    }
    const req = trees.length === 1 && !g.has("i") ? requiredLiteral(tree) : { text: "", atStart: false };
    return { sources, flags, groupIndex, names: p.names, required: req.text, startsWithRequired: req.atStart };
}
