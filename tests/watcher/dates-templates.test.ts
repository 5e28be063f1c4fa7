import * as assert from "assert";
import { dateTemplates, zoneOffset } from "../../watcher/src/filter/dates";
import { compileFilter } from "../../watcher/src/filter/filter";
import { FilterDefinition } from "../../watcher/src/types";

const NOW = Date.UTC(2016, 4, 16, 12, 0, 0) / 1000;
const utcLocal = (y: number, mo: number, d: number, h: number, mi: number, s: number) =>
    Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
const at = (y: number, mo: number, d: number, h: number, mi: number, s: number) =>
    Date.UTC(y, mo - 1, d, h, mi, s) / 1000;

function when(line: string, datepattern?: string, now = NOW) {
    const def: FilterDefinition = { name: "d", failregex: ["<HOST>"], ignoreregex: [], options: {}, datepattern };
    const r = compileFilter(def, { localTime: utcLocal }).processLine(line, now);
    return { time: r.time, template: r.dateTemplate, kind: r.kind, host: r.host };
}

describe("date templates", () => {
    it("uses fail2ban's template names (what the regex tester prints)", () => {
        const names = dateTemplates().map(t => t.name);
        assert.ok(
            names.includes(
                "Day(?P<_sep>[-/])MON(?P=_sep)ExYear[ :]?24hour:Minute:Second(?:\\.Microseconds)?(?: Zone offset)?",
            ),
        );
        assert.ok(
            names.includes(
                "{^LN-BEG}ExYear(?P<_sep>[-/.])Month(?P=_sep)Day(?:T|  ?)24hour:Minute:Second(?:[.,]Microseconds)?(?:\\s*Zone offset)?",
            ),
        );
        assert.ok(names.includes("(?:DAY )?MON Day %k:Minute:Second(?:\\.Microseconds)?(?: ExYear)?"));
        assert.ok(names.includes("Epoch") && names.includes("TAI64N") && names.includes("{^LN-BEG}Epoch"));
        // line-start variants are tried first
        assert.ok(names[0].startsWith("{^LN-BEG}"));
    });

    it("reads Apache/Nginx dates with their zone", () => {
        assert.strictEqual(when("1.2.3.4 - - [15/May/2016:22:40:37 +0200] x").time, at(2016, 5, 15, 20, 40, 37));
        assert.strictEqual(when("1.2.3.4 - - [15/May/2016:22:40:37 -0130] x").time, at(2016, 5, 16, 0, 10, 37));
        assert.strictEqual(when("[15/may/2016:22:40:37] 1.2.3.4").time, at(2016, 5, 15, 22, 40, 37));
    });

    it("reads ISO dates, with Z and fractions, at line start", () => {
        const r = when("2016-05-15T22:40:37.123Z host 1.2.3.4");
        assert.strictEqual(r.time, at(2016, 5, 15, 22, 40, 37));
        assert.strictEqual(
            r.template,
            "{^LN-BEG}ExYear(?P<_sep>[-/.])Month(?P=_sep)Day(?:T|  ?)24hour:Minute:Second(?:[.,]Microseconds)?(?:\\s*Zone offset)?",
        );
        assert.strictEqual(when("2016/05/15 22:40:37 x 1.2.3.4").time, at(2016, 5, 15, 22, 40, 37));
    });

    it("assumes the current year for syslog dates, last year when that would be in the future", () => {
        assert.strictEqual(when("May 15 22:40:37 host sshd: 1.2.3.4").time, at(2016, 5, 15, 22, 40, 37));
        assert.strictEqual(when("Dec 31 23:59:59 host sshd: 1.2.3.4").time, at(2015, 12, 31, 23, 59, 59));
        assert.strictEqual(when("May  5 01:02:03 host sshd: 1.2.3.4").time, at(2016, 5, 5, 1, 2, 3));
    });

    it("reads epoch, long epoch and TAI64N stamps", () => {
        assert.strictEqual(when("1463352037 1.2.3.4").time, 1463352037);
        assert.strictEqual(when("[1463352037.250] 1.2.3.4").time, 1463352037.25);
        assert.strictEqual(when("1463352037250 1.2.3.4", "LEPOCH").time, 1463352037.25);
        assert.strictEqual(when("@4000000037c219bf2ef02e94 1.2.3.4").time, 0x37c219bf - 0);
    });

    it("applies a datepattern with %-codes and keeps its name", () => {
        const r = when("L 15/05/2016 - 22:40:37: 1.2.3.4", "^L %d/%m/%Y - %H:%M:%S");
        assert.strictEqual(r.time, at(2016, 5, 15, 22, 40, 37));
        assert.strictEqual(r.template, "^L Day/Month/Year - 24hour:Minute:Second");
        assert.strictEqual(when("15.05.16 22:40:37 1.2.3.4", "%d.%m.%y %H:%M:%S").time, at(2016, 5, 15, 22, 40, 37));
        assert.strictEqual(
            when("May 15, 2016 10:40:37 PM 1.2.3.4", "%b %d, %Y %I:%M:%S %p").time,
            at(2016, 5, 15, 22, 40, 37),
        );
    });

    it("understands {^LN-BEG}, {DATE} and {NONE}", () => {
        // {^LN-BEG}: only dates at line start count
        assert.strictEqual(when("x 2016-05-15 22:40:37 1.2.3.4", "{^LN-BEG}").time, undefined);
        assert.strictEqual(when("2016-05-15 22:40:37 1.2.3.4", "{^LN-BEG}").time, at(2016, 5, 15, 22, 40, 37));
        // {DATE}: any default date, at the place the pattern gives
        assert.strictEqual(
            when("srv [15/May/2016:22:40:37 +0000] 1.2.3.4", "^[^\\[]*\\[({DATE})").time,
            at(2016, 5, 15, 22, 40, 37),
        );
        // {NONE}: no date in the line; the time is "now"
        const n = when("2016-05-15 22:40:37 1.2.3.4", "{NONE}");
        assert.deepStrictEqual([n.kind, n.time, n.template], ["matched", NOW, "^"]);
    });

    it("cuts the date out of the line before the failregex runs", () => {
        // The host regex would otherwise see the year as a host name.
        const r = when("2016-05-15 22:40:37 1.2.3.4");
        assert.strictEqual(r.host, "1.2.3.4");
    });

    it("knows fail2ban's zone spellings", () => {
        assert.strictEqual(zoneOffset("UTC"), 0);
        assert.strictEqual(zoneOffset("+0200"), 120);
        assert.strictEqual(zoneOffset("-05:30"), -330);
        assert.strictEqual(zoneOffset("CEST"), 120);
        assert.strictEqual(zoneOffset("CET+01"), 120);
        assert.strictEqual(zoneOffset("Mars"), undefined);
    });

    it("rejects broken datepatterns", () => {
        assert.throws(() => dateTemplates("%Y-%m-%d %Q"), /unknown %-code/);
        assert.throws(() => dateTemplates("(%Y"), /missing \)/);
    });
});
