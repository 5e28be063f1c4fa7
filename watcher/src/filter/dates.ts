// Date detection as fail2ban does it: templates built from `%`-code patterns (or EPOCH / TAI64N), each a regex
// whose first group spans the date text. The text is cut out of the line before the failregex runs, and the
// fields become epoch seconds. Template names are fail2ban's (what fail2ban-regex prints under "Date template hits").

import { translatePyRegex } from "./pyregex";

/** Year prefixes (first three digits) fail2ban accepts for %ExY: from 2000 to a few years ahead. */
function exYearRe(now = new Date()): string {
    const set = new Set<string>();
    for (let y = 2000; y <= now.getUTCFullYear() + 3; y++) set.add(String(y).slice(0, 3));
    const cents = [...set].sort();
    // All share "20" for this century; list the third digits as a class.
    const byHead = new Map<string, string[]>();
    for (const c of cents) byHead.set(c.slice(0, 2), [...(byHead.get(c.slice(0, 2)) ?? []), c[2]]);
    const alts = [...byHead].map(([h, ds]) => h + (ds.length > 1 ? `[${ds.join("")}]` : ds[0]));
    return `(?P<Y>${alts.length > 1 ? `(?:${alts.join("|")})` : alts[0]}\\d)`;
}

const TZ_ABBR = "[A-Z](?:[A-Z]{2,4})?";

/** %-code -> [regex (Python syntax), name shown in template names]. */
function codeTable(): Map<string, [string, string]> {
    const t = new Map<string, [string, string]>([
        ["a", ["(?P<a>mon|tue|wed|thu|fri|sat|sun)", "DAY"]],
        ["A", ["(?P<A>monday|tuesday|wednesday|thursday|friday|saturday|sunday)", "DAYNAME"]],
        ["b", ["(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)", "MON"]],
        [
            "B",
            ["(?P<B>january|february|march|april|may|june|july|august|september|october|november|december)", "MONTH"],
        ],
        ["d", ["(?P<d>[1-2]\\d|[0 ]?[1-9]|3[0-1])", "Day"]],
        ["f", ["(?P<f>[0-9]{1,6})", "Microseconds"]],
        ["H", ["(?P<H>[0-1]?\\d|2[0-3])", "24hour"]],
        ["I", ["(?P<I>1[0-2]|0[1-9]|[1-9])", "12hour"]],
        ["j", ["(?P<j>36[0-6]|3[0-5]\\d|[1-2]\\d\\d|0[1-9]\\d|00[1-9]|[1-9]\\d|0[1-9]|[1-9])", "Yearday"]],
        ["m", ["(?P<m>0?[1-9]|1[0-2])", "Month"]],
        ["M", ["(?P<M>[0-5]?\\d)", "Minute"]],
        ["p", ["(?P<p>am|pm)", "AMPM"]],
        ["S", ["(?P<S>[0-5]?\\d|6[0-1])", "Second"]],
        ["U", ["(?P<U>5[0-3]|[0-4]\\d|\\d)", "Yearweek"]],
        ["W", ["(?P<W>5[0-3]|[0-4]\\d|\\d)", "Yearweek"]],
        ["w", ["(?P<w>[0-6])", "Weekday"]],
        ["y", ["(?P<y>\\d\\d)", "Year2"]],
        ["Y", ["(?P<Y>\\d{4})", "Year"]],
        ["z", ["(?P<z>Z|UTC|GMT|[+-][01]\\d(?::?\\d{2})?)", "Zone offset"]],
        ["Z", ["(?P<Z>Z|[A-Z]{3,5})", "Zone name"]],
        ["k", [" ?(?P<H>[0-2]?\\d)", "%k"]],
        ["l", [" ?(?P<I>1?\\d)", "%l"]],
        ["%", ["%", "%"]],
        ["ExY", [exYearRe(), "ExYear"]],
        ["Exy", ["(?P<y>\\d{2})", "ExYear2"]],
        ["Exd", ["(?P<d>[1-2]\\d|0[1-9]|3[0-1])", "ExDay"]],
        ["Exm", ["(?P<m>0[1-9]|1[0-2])", "ExMonth"]],
        ["ExH", ["(?P<H>[0-1]\\d|2[0-3])", "Ex24hour"]],
        ["ExM", ["(?P<M>[0-5]\\d)", "ExMinute"]],
        ["ExS", ["(?P<S>[0-5]\\d|6[0-1])", "ExSecond"]],
        ["Exk", [" ?(?P<H>[0-1]?\\d|2[0-3])", "%Exk"]],
        ["Exl", [" ?(?P<I>1[0-2]|\\d)", "%Exl"]],
        ["ExZ", [`(?P<Z>${TZ_ABBR})`, "ExZone name"]],
        ["Exz", [`(?P<z>(?:${TZ_ABBR})?[+-][01]\\d(?::?\\d{2})?|${TZ_ABBR})`, "ExZone offset"]],
    ]);
    return t;
}

let CODES: Map<string, [string, string]> | undefined;
let CODE_RE: RegExp | undefined;
function codes(): { table: Map<string, [string, string]>; re: RegExp } {
    if (!CODES) {
        CODES = codeTable();
        const multi = [...CODES.keys()].filter(k => k.length > 1).sort((a, b) => b.length - a.length);
        const single = [...CODES.keys()]
            .filter(k => k.length === 1)
            .map(k => k.replace(/[\]\\^-]/g, "\\$&"))
            .join("");
        CODE_RE = new RegExp(`%(${multi.join("|")}|[${single}])`, "g");
    }
    return { table: CODES, re: CODE_RE! };
}

/** How the date text converts to a time. */
type DateKind = "pattern" | "epoch" | "lepoch" | "tai64n";

export interface DateTemplate {
    /** fail2ban's template name. */
    readonly name: string;
    readonly kind: DateKind;
    /** Anchored at line start/end: a hit ends the search at once. */
    readonly anchored: boolean;
    /** Search anywhere / match exactly at lastIndex. */
    readonly search: RegExp;
    readonly sticky: RegExp;
    /** JS group index spanning the date text. */
    readonly span: number;
    /** JS group indices of the fields (0 = absent). */
    readonly g: FieldGroups;
    /** Set when group `span` is not simply the end of the whole match: needs the `d` flag to locate it. */
    readonly needIndices: boolean;
    /**
     * Char codes that end a date of this template for sure when they follow it (the regex has no way to
     * continue with them): lets a repeated date text be recognised without running the regex.
     */
    readonly closedBy: number[];
    /**
     * fail2ban's template weight when it is not 1: its line-start copies of the default templates weigh 100, so
     * they climb its search order faster (only `jailwatch regex -v` shows that order).
     */
    weight?: number;
}

interface FieldGroups {
    Y: number;
    y: number;
    m: number;
    b: number;
    B: number;
    d: number;
    H: number;
    I: number;
    p: number;
    M: number;
    S: number;
    f: number;
    z: number;
    Z: number;
    j: number;
    epoch: number;
}

const EPOCH_RE = String.raw`\d{10,11}\b(?:\.\d{3,6})?`;
const LEPOCH_RE = String.raw`\d{10,11}(?:\d{3}(?:\.\d{1,6}|\d{3})?)?`;

// Shapes of date regexes that tell where the date sits (fail2ban's word/line-boundary rules).
const NO_WORD_BOUND_BEG = /^\(*(?:\(\?\w+\))?(?:\^|\(*\*\*|\((?:\?:)?\^)/;
const NO_WORD_BOUND_END = /(?<!\\)(?:\$\)?|\\b|\\s|\*\*\)*)$/;
const LINE_BOUND_BEG = /^(?:\(\?\w+\))?(?:\^|\((?:\?:)?\^(?!\|))/;
const LINE_BOUND_END = /(?<![\\|])(?:\$\)?)$/;
const HAS_PLAIN_GROUP = /(?<!\(\?)(?<!\\)\((?!\?)/;
const GLOBAL_FLAGS = /((?:^|(?!<\\))\(\?[a-z]+\))/;

interface Built {
    name: string;
    regex: string;
    anchored: boolean;
}

/** fail2ban's boundary decoration of a date regex. wordBegin: true, false or "start" (line begin). */
function decorate(name: string, regex: string, wordBegin: boolean | "start", wordEnd: boolean): Built {
    regex = regex.trim();
    let gflags = "";
    const gf = GLOBAL_FLAGS.exec(regex);
    if (gf) {
        gflags = gf[1];
        regex = regex.replace(GLOBAL_FLAGS, "");
    }
    const boundBegin = wordBegin !== false && !NO_WORD_BOUND_BEG.test(regex);
    const boundEnd = wordEnd && !NO_WORD_BOUND_END.test(regex);
    if (!HAS_PLAIN_GROUP.test(regex)) {
        const m = /^((?:\(\?\w+\))?\^?(?:\(\?\w+\))?)([\s\S]*?)(\$?)$/.exec(regex)!;
        regex = `${m[1]}(${m[2]})${m[3]}`;
    }
    let anchored = false;
    if (boundBegin) {
        if (wordBegin !== "start") regex = String.raw`(?=^|\b|\W)` + regex;
        else {
            regex = String.raw`^(?:\W{0,2})?` + regex;
            anchored = true;
            if (!name.startsWith("{^LN-BEG}")) name = "{^LN-BEG}" + name;
        }
    }
    if (boundEnd) regex += String.raw`(?=\b|\W|$)`;
    if (LINE_BOUND_BEG.test(regex) || LINE_BOUND_END.test(regex)) anchored = true;
    regex = regex.replace(/^\(*(?:\(\?\w+\))?\(*\*\*|(?<!\\)\*\*\)*$/g, m => m.replace("**", ""));
    return { name, regex: gflags + regex, anchored };
}

/** Pattern with %-codes -> template name and regex (before decoration). */
function expandCodes(pattern: string): { name: string; regex: string; alpha: boolean } {
    const { table, re } = codes();
    let name = "",
        regex = "",
        last = 0;
    re.lastIndex = 0;
    for (let m = re.exec(pattern); m; m = re.exec(pattern)) {
        name += pattern.slice(last, m.index) + table.get(m[1])![1];
        regex += pattern.slice(last, m.index) + table.get(m[1])![0];
        last = m.index + m[0].length;
    }
    name += pattern.slice(last);
    regex += pattern.slice(last);
    const stray = pattern.replace(re, "").indexOf("%");
    if (stray >= 0) throw new Error(`unknown %-code or unescaped "%" in date pattern ${JSON.stringify(pattern)}`);
    return { name, regex, alpha: /(?<!%)%[aAbBpc]/.test(pattern) };
}

function compile(b: Built, kind: DateKind): DateTemplate {
    const tr = translatePyRegex(b.regex, { ascii: true });
    if (tr.sources.length !== 1)
        throw new Error(`date pattern ${JSON.stringify(b.name)}: conditionals are not supported here`);
    const src = tr.sources[0];
    const names = tr.groupIndex[0];
    const gi = (n: string) => names.get(n) ?? 0;
    const epochGroup = gi("_epoch");
    // Group 1 spans the date, unless an epoch group marks it.
    const span = epochGroup || 1;
    // Fast path: the date group closes right before the zero-width end bound, so its end = match end.
    const tail = src.endsWith(String.raw`(?=\b|\W|$)`) ? src.slice(0, -String.raw`(?=\b|\W|$)`.length) : src;
    const needIndices = !(span === 1 && tail.endsWith(")") && closesFirstGroup(tail));
    const fl = tr.flags + (needIndices ? "d" : "");
    // `]` and `"` never start an optional tail of a date pattern unless the pattern itself contains them.
    const closedBy =
        kind === "pattern" && !needIndices && !b.anchored
            ? [93, 34].filter(
                  c =>
                      !b.regex.includes(c === 93 ? "\\]" : '"') &&
                      /^\(\?=\^\|\\b\|\\W\)/.test(b.regex.replace(/^\(\?[a-z]+\)/, "")),
              )
            : [];
    return {
        name: b.name,
        kind,
        anchored: b.anchored,
        closedBy,
        search: new RegExp(src, fl),
        sticky: new RegExp(src, fl + "y"),
        span,
        needIndices,
        g: {
            Y: gi("Y"),
            y: gi("y"),
            m: gi("m"),
            b: gi("b"),
            B: gi("B"),
            d: gi("d"),
            H: gi("H"),
            I: gi("I"),
            p: gi("p"),
            M: gi("M"),
            S: gi("S"),
            f: gi("f"),
            z: gi("z"),
            Z: gi("Z"),
            j: gi("j"),
            epoch: epochGroup,
        },
    };
}

/** Whether the final `)` of src closes the first capturing group (so group 1 ends where the match ends). */
function closesFirstGroup(src: string): boolean {
    let depth = 0,
        inClass = false,
        firstOpen = -1,
        firstDepth = -1;
    for (let i = 0; i < src.length; i++) {
        const c = src[i];
        if (c === "\\") {
            i++;
            continue;
        }
        if (inClass) {
            if (c === "]") inClass = false;
            continue;
        }
        if (c === "[") {
            inClass = true;
            continue;
        }
        if (c === "(") {
            depth++;
            if (firstOpen < 0 && src[i + 1] !== "?") {
                firstOpen = i;
                firstDepth = depth;
            }
        } else if (c === ")") {
            if (depth === firstDepth && firstOpen >= 0) return i === src.length - 1;
            depth--;
        }
    }
    return false;
}

function epochTemplate(lineBeginOnly: boolean, long: boolean, pattern?: string): DateTemplate {
    const ep = long ? LEPOCH_RE : EPOCH_RE;
    const kind: DateKind = long ? "lepoch" : "epoch";
    if (pattern) {
        const re = "(" + pattern.replace(/(?<!\\)\{L?EPOCH\}/gi, `(?P<_epoch>${ep})`) + ")";
        return compile(decorate(pattern, re, true, true), kind);
    }
    const name = long ? "LongEpoch" : "Epoch";
    if (!lineBeginOnly) {
        // At line start, inside `[...]` at line start, or as an SELinux `audit(<epoch>:<serial>)`.
        const re = String.raw`(?:^|(?<=^\[)(?=${ep}\])|(?<=\baudit\()(?=${ep}:\d+\)))(?P<_epoch>${ep})`;
        return compile(decorate(name, re, false, true), kind);
    }
    const re = String.raw`(?:(?<=^\[)(?=${ep}\])|(?<!^\[))(?P<_epoch>${ep})`;
    return compile(decorate(name, re, "start", true), kind);
}

function tai64nTemplate(lineBegin: boolean): DateTemplate {
    return compile(decorate("TAI64N", "@[0-9a-f]{24}", lineBegin ? "start" : false, true), "tai64n");
}

/** A template from one datepattern line (not the {^LN-BEG}/{DEFAULT}/{DATE} forms). */
export function patternTemplate(pattern: string): DateTemplate {
    const key = pattern.includes("%") ? pattern : pattern.toUpperCase();
    if (key.includes("EPOCH")) {
        if (/(?<!\\)\{L?EPOCH\}/i.test(pattern)) return epochTemplate(false, /\{LEPOCH\}/i.test(pattern), pattern);
        if (key === "EPOCH" || key === "{^LN-BEG}EPOCH" || key === "^EPOCH")
            return epochTemplate(key !== "EPOCH", false);
        if (key === "LEPOCH" || key === "{^LN-BEG}LEPOCH" || key === "^LEPOCH")
            return epochTemplate(key !== "LEPOCH", true);
    }
    if (key === "TAI64N" || key === "{^LN-BEG}TAI64N" || key === "^TAI64N") return tai64nTemplate(key !== "TAI64N");
    let p = pattern;
    let wordBegin: boolean | "start" = true,
        wordEnd = true;
    if (p.startsWith("{UNB}")) {
        p = p.slice(5);
        wordBegin = wordEnd = false;
    }
    if (wordBegin && p.startsWith("{^LN-BEG}")) {
        p = p.slice(9);
        wordBegin = "start";
    }
    const ex = expandCodes(p);
    return compile(decorate(ex.name, (ex.alpha ? "(?iu)" : "") + ex.regex, wordBegin, wordEnd), "pattern");
}

/** fail2ban's default patterns, most specific first. */
const DEFAULT_PATTERNS = [
    "%ExY(?P<_sep>[-/.])%m(?P=_sep)%d(?:T|  ?)%H:%M:%S(?:[.,]%f)?(?:\\s*%z)?",
    "(?:%a )?%b %d %k:%M:%S(?:\\.%f)?(?: %ExY)?",
    "(?:%a )?%b %d %ExY %k:%M:%S(?:\\.%f)?",
    "%d(?P<_sep>[-/])%m(?P=_sep)(?:%ExY|%Exy) %k:%M:%S",
    "%d(?P<_sep>[-/])%b(?P=_sep)%ExY[ :]?%H:%M:%S(?:\\.%f)?(?: %z)?",
    "%m/%d/%ExY:%H:%M:%S",
    "%m-%d-%ExY %k:%M:%S(?:\\.%f)?",
    "EPOCH",
    "{^LN-BEG}%H:%M:%S",
    "^<%m/%d/%Exy@%H:%M:%S>",
    "%Exy%Exm%Exd  ?%H:%M:%S",
    "%b %d, %ExY %I:%M:%S %p",
    "^%b-%d-%Exy %k:%M:%S",
    "%ExY%Exm%Exd(?:T|  ?)%ExH%ExM%ExS(?:[.,]%f)?(?:\\s*%z)?",
    "(?:%Z )?(?:%a )?%b %d %k:%M:%S(?:\\.%f)?(?: %ExY)?",
    "(?:%z )?(?:%a )?%b %d %k:%M:%S(?:\\.%f)?(?: %ExY)?",
    "TAI64N",
];

let DEFAULTS: { base: DateTemplate[]; anchoredCopies: DateTemplate[] } | undefined;

function defaults(): { base: DateTemplate[]; anchoredCopies: DateTemplate[] } {
    if (DEFAULTS) return DEFAULTS;
    const base = DEFAULT_PATTERNS.map(patternTemplate);
    const anchoredCopies: DateTemplate[] = [];
    DEFAULT_PATTERNS.forEach((p, i) => {
        const t = base[i];
        if (t.name.startsWith("{^LN-BEG}") || t.name.startsWith("^")) return;
        const copy = patternTemplate("{^LN-BEG}" + p);
        copy.weight = 100;
        if (copy.name !== t.name) anchoredCopies.push(copy);
    });
    DEFAULTS = { base, anchoredCopies };
    return DEFAULTS;
}

let COPY_KEYS: Set<string> | undefined;

/** The cache keys of fail2ban's line-start copies of its default templates ("{^LN-BEG}" + pattern, as keyed). */
function anchoredCopyKeys(): Set<string> {
    if (!COPY_KEYS) {
        const names = new Set(defaults().anchoredCopies.map(t => t.name));
        COPY_KEYS = new Set(
            DEFAULT_PATTERNS.map(p => `{^LN-BEG}${p}`)
                .filter(p => names.has(patternTemplate(p).name))
                .map(p => (p.includes("%") ? p : p.toUpperCase())),
        );
    }
    return COPY_KEYS;
}

/** Removes fail2ban's boundary markers from a pattern (what `{DATE}` is replaced with). */
function unbound(p: string): string {
    return p
        .replace(/^\{UNB\}/, "")
        .replace(/^\{\^LN-BEG\}/, "")
        .replace(/^\((?:\?:)?\^\|\\b\|\\W\)/, "")
        .replace(/\(\?=\\b\|\\W\|\$\)$/, "");
}

/**
 * The templates for a `datepattern` value (several lines allowed), or fail2ban's defaults when undefined.
 * Throws Error with a message naming the bad line.
 */
export function dateTemplates(datepattern?: string): DateTemplate[] {
    if (datepattern === undefined) {
        const d = defaults();
        return [...d.anchoredCopies, ...d.base];
    }
    const out: DateTemplate[] = [];
    const seen = new Set<string>();
    const add = (t: DateTemplate, ignoreDup: boolean) => {
        if (seen.has(t.name)) {
            if (ignoreDup) return;
            throw new Error(`datepattern: there is already a template with name ${t.name}`);
        }
        seen.add(t.name);
        out.push(t);
    };
    for (const line of datepattern
        .split("\n")
        .map(l => l.trim())
        .filter(Boolean)) {
        const key = line.includes("%") ? line : line.toUpperCase();
        const dupOk = out.length > 0;
        if (key === "{^LN-BEG}" || key === "{DEFAULT}") {
            const d = defaults();
            for (const t of [...d.anchoredCopies, ...d.base]) {
                if (key === "{^LN-BEG}" && !t.anchored) continue;
                add(t, dupOk);
            }
            continue;
        }
        if (key.includes("{DATE}")) {
            for (const p of DEFAULT_PATTERNS) {
                const inner = p === "EPOCH" ? "{EPOCH}" : p === "TAI64N" ? "@[0-9a-f]{24}" : unbound(p);
                const t = patternTemplate(line.replace(/(?<!\\)\{DATE\}/gi, () => inner));
                // fail2ban puts these two in by name, not by regex: "^{DATE}" becomes its "^Epoch" template (named
                // {^LN-BEG}Epoch), anything else a template named after the line with the word in place.
                const word = p === "EPOCH" ? "Epoch" : p === "TAI64N" ? "TAI64N" : undefined;
                if (word === undefined) add(t, dupOk);
                else {
                    const named = line.replace(/(?<!\\)\{DATE\}/gi, () => word);
                    const special = /^(?:\{\^LN-BEG\}|\^)?(?:EPOCH|TAI64N)$/.test(named.toUpperCase());
                    add(special ? patternTemplate(named) : { ...t, name: named }, dupOk);
                }
            }
            continue;
        }
        if (key === "{NONE}") {
            add(compileNone(), false);
            continue;
        }
        try {
            const t = patternTemplate(line);
            // fail2ban caches templates by pattern: this one is then the very object of the default line-start copy,
            // weight included.
            add(anchoredCopyKeys().has(key) ? { ...t, weight: 100 } : t, false);
        } catch (e) {
            throw new Error(`bad datepattern ${JSON.stringify(line)}: ${(e as Error).message}`);
        }
    }
    return out;
}

function compileNone(): DateTemplate {
    // Matches the empty string at line start: "no date in these lines", the time comes from elsewhere.
    const t = compile({ name: "^", regex: "^()", anchored: true }, "pattern");
    return t;
}

// ----- converting the matched fields --------------------------------------------------------------------------

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const FULL_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/** Fixed offsets (minutes) of zone abbreviations, as fail2ban knows them. */
const TZ_OFFSETS: Record<string, number> = (() => {
    const table: Array<[number, string]> = [
        [-12, "Y"],
        [-11, "X NUT SST"],
        [-10, "W CKT HAST HST TAHT TKT"],
        [-9, "V AKST GAMT GIT HADT HNY"],
        [-8, "U AKDT CIST HAY HNP PST PT"],
        [-7, "T HAP HNR MST PDT"],
        [-6, "S CST EAST GALT HAR HNC MDT"],
        [-5, "R CDT COT EASST ECT EST ET HAC HNE PET"],
        [-4, "Q AST BOT CLT COST EDT FKT GYT HAE HNA PYT"],
        [-3, "P ADT ART BRT CLST FKST GFT HAA PMST PYST SRT UYT WGT"],
        [-2, "O BRST FNT PMDT UYST WGST"],
        [-1, "N AZOT CVT EGT"],
        [0, "Z EGST GMT UTC WET WT"],
        [1, "A CET DFT WAT WEDT WEST"],
        [2, "B CAT CEDT CEST EET SAST WAST"],
        [3, "C EAT EEDT EEST IDT MSK"],
        [4, "D AMT AZT GET GST KUYT MSD MUT RET SAMT SCT"],
        [5, "E AMST AQTT AZST HMT MAWT MVT PKT TFT TJT TMT UZT YEKT"],
        [6, "F ALMT BIOT BTT IOT KGT NOVT OMST YEKST"],
        [7, "G CXT DAVT HOVT ICT KRAT NOVST OMSST THA WIB"],
        [8, "H ACT AWST BDT BNT CAST HKT IRKT KRAST MYT PHT SGT ULAT WITA WST"],
        [9, "I AWDT IRKST JST KST PWT TLT WDT WIT YAKT"],
        [10, "K AEST ChST PGT VLAT YAKST YAPT"],
        [11, "L AEDT LHDT MAGT NCT PONT SBT VLAST VUT"],
        [12, "M ANAST ANAT FJT GILT MAGST MHT NZST PETST PETT TVT WFT"],
        [13, "FJST NZDT"],
        [11.5, "NFT"],
        [10.5, "ACDT LHST"],
        [9.5, "ACST"],
        [6.5, "CCT MMT"],
        [5.75, "NPT"],
        [5.5, "SLT"],
        [4.5, "AFT IRDT"],
        [3.5, "IRST"],
        [-2.5, "HAT NDT"],
        [-3.5, "HNT NST NT"],
        [-4.5, "HLV VET"],
        [-9.5, "MART MIT"],
    ];
    const o: Record<string, number> = {};
    for (const [h, names] of table) for (const n of names.split(" ")) o[n] = Math.round(h * 60);
    return o;
})();

/** Offset in minutes east of UTC for a zone text like `+0200`, `-05:00`, `UTC`, `CEST`, `CET+1`; undefined if unknown. */
export function zoneOffset(z: string): number | undefined {
    if (z === "Z" || z === "UTC" || z === "GMT") return 0;
    if (z.length === 5) {
        // The common `+hhmm` without a regex.
        const s = z.charCodeAt(0);
        if (s === 43 || s === 45) {
            const d = (i: number) => z.charCodeAt(i) - 48;
            const h = d(1) * 10 + d(2),
                m = d(3) * 10 + d(4);
            if (
                h >= 0 &&
                h <= 19 &&
                m >= 0 &&
                m <= 99 &&
                d(1) <= 1 &&
                d(3) >= 0 &&
                d(3) <= 9 &&
                d(4) >= 0 &&
                d(4) <= 9 &&
                d(2) >= 0 &&
                d(2) <= 9
            ) {
                return (s === 45 ? -1 : 1) * (h * 60 + m);
            }
        }
    }
    const m = /^([A-Za-z]+)?([+-])?(\d{2})?(?::?(\d{2}))?$/.exec(z);
    if (!m) return undefined;
    let base = 0;
    if (m[1]) {
        const b = TZ_OFFSETS[m[1]] ?? TZ_OFFSETS[m[1].toUpperCase()];
        if (b === undefined) return undefined;
        base = b;
    }
    if (m[3] === undefined) return m[2] ? undefined : base;
    const sign = m[2] === "-" ? -1 : 1;
    return base + sign * (Number(m[3]) * 60 + (m[4] ? Number(m[4]) : 0));
}

/** Local wall-clock time -> epoch seconds. Default: the process's time zone. */
export type LocalTime = (y: number, mo: number, d: number, h: number, mi: number, s: number) => number;

export const systemLocalTime: LocalTime = (y, mo, d, h, mi, s) => new Date(y, mo - 1, d, h, mi, s).getTime() / 1000;

function num(s: string): number {
    // Fields are short digit runs (maybe with a leading space): parse without allocation.
    let v = 0;
    for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i) - 48;
        if (c >= 0 && c <= 9) v = v * 10 + c;
    }
    return v;
}

/**
 * Epoch seconds for a match of template t. `now` (epoch seconds) fills a missing year or date the way fail2ban
 * does (a date in the future means last year / yesterday). `tzOffset` (minutes) applies when the line has no zone.
 */
export function dateOf(
    t: DateTemplate,
    m: RegExpExecArray,
    now: number,
    local: LocalTime,
    tzOffset?: number,
): number | undefined {
    const g = t.g;
    if (t.kind !== "pattern") {
        const v = m[g.epoch || t.span];
        if (v === undefined) return undefined;
        if (t.kind === "tai64n") return parseInt(v.slice(2, 17), 16);
        if (t.kind === "lepoch" && v.length >= 13)
            return v.length >= 16 && !v.includes(".") ? Number(v) / 1e6 : Number(v) / 1e3;
        return Number(v);
    }
    let year = -1,
        month = -1,
        day = -1,
        hour = 0,
        minute = 0,
        second = 0;
    let s: string | undefined;
    if (g.Y && (s = m[g.Y]) !== undefined) year = num(s);
    else if (g.y && (s = m[g.y]) !== undefined) {
        year = num(s);
        if (year <= 2000) year += 2000;
    }
    if (g.m && (s = m[g.m]) !== undefined) month = num(s);
    else if (g.b && (s = m[g.b]) !== undefined) month = MONTHS.indexOf(s.toLowerCase()) + 1;
    else if (g.B && (s = m[g.B]) !== undefined) month = FULL_MONTHS.indexOf(s.toLowerCase()) + 1;
    if (g.d && (s = m[g.d]) !== undefined) day = num(s);
    if (g.H && (s = m[g.H]) !== undefined) hour = num(s);
    else if (g.I && (s = m[g.I]) !== undefined) {
        hour = num(s);
        const ampm = g.p ? (m[g.p] ?? "").toLowerCase() : "";
        if (ampm === "pm") {
            if (hour !== 12) hour += 12;
        } else if (hour === 12) hour = 0;
    }
    if (g.M && (s = m[g.M]) !== undefined) minute = num(s);
    if (g.S && (s = m[g.S]) !== undefined) second = num(s);
    let offset = tzOffset;
    if (g.z && (s = m[g.z]) !== undefined) offset = zoneOffset(s);
    else if (g.Z && (s = m[g.Z]) !== undefined) offset = zoneOffset(s);
    const toEpoch = (y: number, mo: number, d: number) =>
        offset !== undefined
            ? Date.UTC(y, mo - 1, d, hour, minute, second) / 1000 - offset * 60
            : local(y, mo, d, hour, minute, second);
    let assumeYear = false,
        assumeToday = false;
    if (year < 0) {
        year = new Date(now * 1000).getFullYear();
        assumeYear = true;
    }
    if (month < 0 || day < 0) {
        if (g.j && (s = m[g.j]) !== undefined) {
            const dt = new Date(Date.UTC(year, 0, num(s)));
            month = dt.getUTCMonth() + 1;
            day = dt.getUTCDate();
        } else if (month < 0 && day < 0) {
            const n = new Date(now * 1000);
            month = n.getMonth() + 1;
            day = n.getDate();
            assumeToday = true;
        } else {
            return undefined;
        }
    }
    if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
    let t0 = toEpoch(year, month, day);
    if (assumeToday && t0 > now) t0 -= 86400;
    if (assumeYear && t0 > now + 86400) {
        if (month === 2 && day === 29 && daysIn(year - 1, 2) < 29) return undefined;
        t0 = toEpoch(year - 1, month, day);
    }
    return t0;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
function daysIn(y: number, m: number): number {
    if (m === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)) return 29;
    return MONTH_DAYS[m - 1];
}
