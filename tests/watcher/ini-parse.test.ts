import * as assert from "assert";
import { parseIni } from "../../watcher/src/config/ini";
import { ConfigError } from "../../watcher/src/types";

const get = (text: string, section: string, key: string, hash = false) =>
    parseIni(text, "t.conf", { hashComments: () => hash })
        .sections.find(s => s.name === section)
        ?.entries.get(key)?.raw;

describe("ini dialect (fail2ban's configparser)", () => {
    it("reads sections, lower-cases keys, accepts = and :", () => {
        const ini = parseIni("[Definition]\nFailRegex = a\nport: ssh\n", "t.conf");
        assert.deepStrictEqual(
            ini.sections.map(s => s.name),
            ["Definition"],
        );
        assert.strictEqual(ini.sections[0].entries.get("failregex")?.raw, "a");
        assert.strictEqual(ini.sections[0].entries.get("port")?.raw, "ssh");
        assert.deepStrictEqual(ini.sections[0].entries.get("port")?.origin, { file: "t.conf", line: 3, key: "port" });
    });

    it("joins indented continuation lines and skips comment lines inside them", () => {
        const text =
            "[D]\nfailregex = ^one <HOST>$\n            ^two <HOST>$\n# a comment\n    ; another\n            ^three <HOST>$\n\nnext = x\n";
        assert.strictEqual(get(text, "D", "failregex"), "^one <HOST>$\n^two <HOST>$\n^three <HOST>$");
        assert.strictEqual(get(text, "D", "next"), "x");
    });

    it("keeps a value starting on the next line", () => {
        assert.strictEqual(
            get("[D]\nfailregex =\n    ^a <HOST>\n    ^b <HOST>\n", "D", "failregex"),
            "^a <HOST>\n^b <HOST>",
        );
    });

    it("strips ` ;` comments always, ` #` only where asked", () => {
        const text = "[j]\nbantime = 43200 # In secs. Or negative for permanent.\nmaxretry = 20 ; twenty\nx = a;b#c\n";
        assert.strictEqual(get(text, "j", "bantime", false), "43200 # In secs. Or negative for permanent.");
        assert.strictEqual(get(text, "j", "bantime", true), "43200");
        assert.strictEqual(get(text, "j", "maxretry", false), "20");
        assert.strictEqual(get(text, "j", "x", true), "a;b#c");
    });

    it("strips comments on continuation lines too", () => {
        assert.strictEqual(
            get("[j]\nignoreip = 127.0.0.1/8 # me\n           ::1 # me too\n", "j", "ignoreip", true),
            "127.0.0.1/8\n::1",
        );
    });

    it("rejects a repeated key in one section, naming file, line and key", () => {
        assert.throws(
            () => parseIni("[j]\nport = 1\nport = 2\n", "/x/jail.local"),
            (e: unknown) => e instanceof ConfigError && /^\/x\/jail\.local:3: port: duplicate option/.test(e.message),
        );
    });

    it("rejects options before any section and unparsable lines", () => {
        assert.throws(() => parseIni("port = 1\n", "a.conf"), /a\.conf:1: port: option outside of any \[section\]/);
        assert.throws(() => parseIni("[j]\njust words\n", "a.conf"), /a\.conf:2: cannot parse line "just words"/);
    });
});
