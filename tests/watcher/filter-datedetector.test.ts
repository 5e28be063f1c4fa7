import * as assert from "assert";
import { DateDetector } from "../../watcher/src/filter/datedetector";
import { dateTemplates } from "../../watcher/src/filter/dates";

const NOW = Date.UTC(2016, 4, 16, 12, 0, 0) / 1000;
const utcLocal = (y: number, mo: number, d: number, h: number, mi: number, s: number) =>
    Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
const at = (y: number, mo: number, d: number, h: number, mi: number, s: number) =>
    Date.UTC(y, mo - 1, d, h, mi, s) / 1000;

const detector = (datepattern?: string) => new DateDetector(dateTemplates(datepattern), utcLocal);

describe("filter: the date detector", () => {
    it("finds the date's span, time and template", () => {
        const d = detector();
        const line = "1.2.3.4 - - [15/May/2016:22:40:37 +0200] GET /";
        assert.strictEqual(d.detect(line, NOW), true);
        assert.strictEqual(line.slice(d.ds, d.de), "15/May/2016:22:40:37 +0200");
        assert.strictEqual(d.time, at(2016, 5, 15, 20, 40, 37));
        assert.match(d.template!, /^Day\(\?P<_sep>\[-\/\]\)MON/);
        assert.strictEqual(d.timeFor(NOW), d.time);
    });

    it("follows the date when it moves along the line (a longer address before it), keeping the template", () => {
        const d = detector();
        d.detect("1.2.3.4 - - [15/May/2016:22:40:37 +0200] a", NOW);
        const first = d.template;
        const line = "203.0.113.200 - - [15/May/2016:22:40:38 +0200] b";
        assert.strictEqual(d.detect(line, NOW), true);
        assert.strictEqual(d.template, first);
        assert.strictEqual(line.slice(d.ds, d.de), "15/May/2016:22:40:38 +0200");
        assert.strictEqual(d.time, at(2016, 5, 15, 20, 40, 38));
    });

    it("recognises the last date text again at another place of the line, with the same time", () => {
        const d = detector();
        d.detect("1.2.3.4 - - [15/May/2016:22:40:37 +0200] a", NOW);
        const line = "2001:db8::1 - - [15/May/2016:22:40:37 +0200] b";
        assert.strictEqual(d.detect(line, NOW + 3600), true);
        assert.strictEqual(line.slice(d.ds, d.de), "15/May/2016:22:40:37 +0200");
        assert.strictEqual(d.time, at(2016, 5, 15, 20, 40, 37));
    });

    it("a date in the message farther into the line than before does not win over the usual place", () => {
        const d = detector();
        d.detect("2016-05-15 22:40:37 sshd: a", NOW);
        const line = "2016-05-15 22:40:38 sshd: user said 2016-01-01 00:00:00";
        assert.strictEqual(d.detect(line, NOW), true);
        assert.strictEqual(d.ds, 0);
        assert.strictEqual(d.time, at(2016, 5, 15, 22, 40, 38));
    });

    it("a line without a date gets the last date while it is recent, then none", () => {
        const d = detector();
        d.detect("2016-05-16 11:59:50 sshd: a", NOW);
        assert.strictEqual(d.detect("no date here", NOW), false);
        assert.strictEqual(d.template, undefined);
        assert.strictEqual(d.timeFor(NOW), at(2016, 5, 16, 11, 59, 50));
        assert.strictEqual(d.timeFor(NOW + 120), undefined);
        d.setLastDate(NOW + 100);
        assert.strictEqual(d.timeFor(NOW + 120), NOW + 100);
    });

    it("keeps the state of each detector to itself", () => {
        const a = detector();
        const b = detector();
        a.detect("2016-05-16 11:59:50 sshd: a", NOW);
        assert.strictEqual(b.detect("no date here", NOW), false);
        assert.strictEqual(b.timeFor(NOW), undefined);
    });

    it("lists its templates in search order, a custom datepattern alone", () => {
        assert.deepStrictEqual(detector("%Y-%m-%d %H:%M:%S").templateNames.length, 1);
        assert.ok(detector().templateNames[0].startsWith("{^LN-BEG}"));
    });
});
