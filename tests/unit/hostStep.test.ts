// renderStep and the host scripts, checked with a real bash: quoting round trips, syntax of every step script,
// and the hosts step run for real on a private copy of /etc/hosts.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { execFileSync, spawnSync } from "child_process";
import { SCRIPTS_DIR, renderStep, shellQuote, topoOrder } from "../../components/hostStep";
import { glusterPlan, healedStep } from "../../components/glusterPlan";

const NASTY = [
    "",
    " ",
    "plain",
    "it's",
    "'",
    "''",
    '"double"',
    "$HOME",
    "$(touch /tmp/ha-pwned)",
    "`id`",
    "a\nb",
    "tab\there",
    "back\\slash",
    "*",
    "?",
    "[x]",
    "~",
    "!bang",
    "semi;colon",
    "a&b|c",
    "-n",
    "--",
    "ünïcødé ✓",
    "#hash",
    "%",
    "{a,b}",
];

describe("renderStep and shellQuote", () => {
    let dir: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "hostStep-"));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("round-trips nasty values through a real bash, byte for byte", () => {
        for (const v of NASTY) {
            const out = execFileSync("bash", ["-c", `printf '%s' ${shellQuote(v)}`], { encoding: "utf8" });
            assert.strictEqual(out, v, JSON.stringify(v));
        }
        assert.ok(!fs.existsSync("/tmp/ha-pwned"), "no command substitution ran");
    });

    it("delivers every parameter to the script unchanged (through common.sh), and names them in HA_PARAMS", () => {
        // The fixture lives under tests/; renderStep resolves script paths relative to scripts/.
        const params: Record<string, string> = {};
        NASTY.forEach((v, i) => {
            params[`P${i}`] = v;
        });
        const text = renderStep("../tests/unit/fixtures/echo-params.sh", params);
        const r = spawnSync("bash", ["-c", text], { encoding: "utf8" });
        assert.strictEqual(r.status, 0, r.stderr);
        const got = Object.fromEntries(
            r.stdout
                .split("\0")
                .filter(Boolean)
                .map(kv => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
        );
        assert.deepStrictEqual(got, params);
    });

    it("as a non-root SSH user, re-runs the step under sudo, carrying its parameters across the environment reset", () => {
        // Fake `id` (reports uid 1000 until "sudo" ran) and fake `sudo` (drops the environment as sudo does, then
        // records that it ran): the re-exec path in common.sh that every AWS step (user admin) goes through.
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "fake-sudo-"));
        try {
            fs.writeFileSync(
                path.join(bin, "id"),
                '#!/bin/sh\nif [ "$1" = -u ] && [ -z "${FAKE_ROOT:-}" ]; then echo 1000; else exec /usr/bin/id "$@"; fi\n',
                { mode: 0o755 },
            );
            // Like sudo: the environment is reset except for the names given with --preserve-env=A,B; its command line is
            // recorded (sudo logs it), so the test can check that no parameter value appears there.
            fs.writeFileSync(
                path.join(bin, "sudo"),
                [
                    "#!/bin/bash",
                    '[ "$1" = -n ] || exit 7; shift',
                    'printf "%s\\n" "$@" > ' + bin + "/sudo-argv",
                    "keep=()",
                    'case "$1" in --preserve-env=*) IFS=, read -ra names <<<"${1#--preserve-env=}"',
                    '  for v in "${names[@]}"; do [ -n "${!v+x}" ] && keep+=("$v=${!v}"); done; shift ;; esac',
                    "echo ran > " + bin + "/sudo-ran",
                    'exec env -i FAKE_ROOT=1 PATH="' + bin + ':/usr/bin:/bin" "${keep[@]}" "$@"',
                    "",
                ].join("\n"),
                { mode: 0o755 },
            );
            const params: Record<string, string> = { SECRET_SAFE: "it's $(not) run", MULTI: "a\nb", EMPTY: "" };
            const text = renderStep("../tests/unit/fixtures/echo-params.sh", params);
            const r = spawnSync("bash", ["-c", text], {
                encoding: "utf8",
                env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, LEAK: "x" },
            });
            assert.strictEqual(r.status, 0, r.stderr);
            assert.ok(fs.existsSync(path.join(bin, "sudo-ran")), "the step went through sudo");
            const sudoArgv = fs.readFileSync(path.join(bin, "sudo-argv"), "utf8");
            assert.ok(!sudoArgv.includes("it's $(not) run"), "parameter values stay off sudo's command line");
            assert.match(sudoArgv, /--preserve-env=HA_STEP,HA_PARAMS,.*SECRET_SAFE/);
            const got = Object.fromEntries(
                r.stdout
                    .split("\0")
                    .filter(Boolean)
                    .map(kv => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
            );
            assert.deepStrictEqual(got, params);
        } finally {
            fs.rmSync(bin, { recursive: true, force: true });
        }
    });

    it("refuses lower-case and reserved parameter names, and missing scripts", () => {
        assert.throws(() => renderStep("gluster/hosts.sh", { lower: "x" }), /UPPER_CASE/);
        assert.throws(() => renderStep("gluster/hosts.sh", { HA_STEP: "x" }), /HA_/);
        assert.throws(() => renderStep("gluster/nope.sh", {}), /not found/);
    });

    it("a failing step names its host, its step and the failing command", () => {
        const r = spawnSync("bash", ["-c", renderStep("gluster/volume.sh", {})], { encoding: "utf8" });
        assert.notStrictEqual(r.status, 0);
        assert.match(
            r.stderr,
            new RegExp(`step gluster/volume.sh failed on host ${os.hostname()}: parameter VOLUME_NAME is missing`),
        );
    });

    it("topoOrder rejects cycles and unknown dependencies", () => {
        const s = (id: string, dependsOn: string[]) => ({ id, host: "h", script: "x", params: {}, dependsOn });
        assert.throws(() => topoOrder([s("a", ["b"]), s("b", ["a"])]), /cycle/);
        assert.throws(() => topoOrder([s("a", ["zzz"])]), /unknown step zzz/);
        assert.deepStrictEqual(
            topoOrder([s("b", ["a"]), s("a", [])]).map(x => x.id),
            ["a", "b"],
        );
    });
});

describe("gluster step scripts", () => {
    const scripts = fs
        .readdirSync(path.join(SCRIPTS_DIR, "gluster"))
        .filter(f => f.endsWith(".sh"))
        .map(f => `gluster/${f}`);

    it("every plan step names an existing script, and every script is used by the plan (run, or installed by a step)", () => {
        const plan = glusterPlan({
            nodes: [
                { name: "a", privateIp: "1", brickVolumeId: "v" },
                { name: "b", privateIp: "2", brickVolumeId: "w" },
            ],
            volumeName: "wp",
            brickPath: "/b/b1/gv",
            mountPoint: "/m",
            pingTimeout: 5,
        });
        const used = new Set(plan.map(s => s.script));
        used.add(healedStep("a", "wp").script);
        // A host script a step installs (gluster-health) travels as a parameter holding its text, byte for byte.
        const values = new Set(plan.flatMap(s => Object.values(s.params)));
        for (const f of scripts) if (values.has(fs.readFileSync(path.join(SCRIPTS_DIR, f), "utf8"))) used.add(f);
        assert.deepStrictEqual([...used].sort(), [...scripts].sort());
    });

    it("every step script and the common library pass `bash -n`, alone and as rendered", () => {
        for (const f of [...scripts, "lib/common.sh"]) {
            const r = spawnSync("bash", ["-n", path.join(SCRIPTS_DIR, f)], { encoding: "utf8" });
            assert.strictEqual(r.status, 0, `${f}: ${r.stderr}`);
        }
        for (const f of scripts) {
            const body = extractBody(renderStep(f, { X: "1" }));
            assert.ok(body.includes("set -Eeuo pipefail"), `${f}: common.sh is prepended`);
            const r = spawnSync("bash", ["-n"], { input: body, encoding: "utf8" });
            assert.strictEqual(r.status, 0, `${f} rendered: ${r.stderr}`);
        }
    });

    describe("hosts.sh on a private /etc/hosts (real run in a mount namespace)", function () {
        let dir: string;
        before(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "hosts-step-"));
        });
        after(() => {
            if (dir) fs.rmSync(dir, { recursive: true, force: true });
        });

        const run = (file: string, ips: string[]) => {
            const params: Record<string, string> = { NODE_COUNT: String(ips.length) };
            ips.forEach((ip, i) => {
                params[`NODE_NAME_${i + 1}`] = `node-gfs${i + 1}`;
                params[`NODE_IP_${i + 1}`] = ip;
            });
            const text = renderStep("gluster/hosts.sh", params);
            return spawnSync(
                "unshare",
                [
                    "-m",
                    "--propagation",
                    "private",
                    "bash",
                    "-c",
                    `mount --bind "$1" /etc/hosts && exec bash -c "$2"`,
                    "_",
                    file,
                    text,
                ],
                { encoding: "utf8" },
            );
        };

        it("writes the block at the top, drops stale entries for our names, keeps the rest, and resolves", () => {
            const file = path.join(dir, "hosts");
            fs.writeFileSync(
                file,
                "127.0.0.1 localhost\n192.0.2.99 node-gfs2\n# 192.0.2.98 node-gfs1\n192.0.2.50 other node-gfs3 # note\n",
            );
            const r = run(file, ["10.9.0.1", "10.9.0.2", "10.9.0.3"]);
            assert.strictEqual(r.status, 0, r.stderr);
            const lines = fs.readFileSync(file, "utf8").trimEnd().split("\n");
            assert.match(lines[0], /^# BEGIN ha-wordpress/);
            assert.deepStrictEqual(lines.slice(1, 4), [
                "10.9.0.1 node-gfs1",
                "10.9.0.2 node-gfs2",
                "10.9.0.3 node-gfs3",
            ]);
            assert.match(lines[4], /^# END ha-wordpress/);
            // stale entries for our names are gone (getaddrinfo would return them too); other names and comments stay
            assert.deepStrictEqual(lines.slice(5), [
                "127.0.0.1 localhost",
                "# 192.0.2.98 node-gfs1",
                "192.0.2.50 other # note",
            ]);
        });

        it("is idempotent, and rewrites the block in place when an address changes", () => {
            const file = path.join(dir, "hosts2");
            fs.writeFileSync(file, "127.0.0.1 localhost\n");
            assert.strictEqual(run(file, ["10.9.0.1", "10.9.0.2", "10.9.0.3"]).status, 0);
            const first = fs.readFileSync(file, "utf8");
            const again = run(file, ["10.9.0.1", "10.9.0.2", "10.9.0.3"]);
            assert.strictEqual(again.status, 0, again.stderr);
            assert.match(again.stdout, /already up to date/);
            assert.strictEqual(fs.readFileSync(file, "utf8"), first);
            assert.strictEqual(run(file, ["10.9.0.1", "10.9.0.22", "10.9.0.3"]).status, 0);
            const text = fs.readFileSync(file, "utf8");
            assert.strictEqual(text.split("# BEGIN ha-wordpress").length, 2, "exactly one block");
            assert.ok(text.includes("10.9.0.22 node-gfs2\n") && !text.includes("10.9.0.2 node-gfs2\n"));
            assert.ok(text.endsWith("127.0.0.1 localhost\n"));
        });

        it("rejects an address that is not IPv4 without touching the file", () => {
            const file = path.join(dir, "hosts3");
            fs.writeFileSync(file, "127.0.0.1 localhost\n");
            const r = run(file, ["10.9.0.1", "10.9.0.256", "10.9.0.3"]);
            assert.notStrictEqual(r.status, 0);
            assert.match(r.stderr, /NODE_IP_2 '10\.9\.0\.256' is not an IPv4 address/);
            assert.strictEqual(fs.readFileSync(file, "utf8"), "127.0.0.1 localhost\n");
        });
    });
});

/** The script body inside a rendered command: the single-quoted argument after `bash -c`. */
function extractBody(text: string): string {
    // Let bash itself undo the quoting: print the argument that follows `bash -c`.
    const probe = text.replace(/ bash -c /, " printf-args ");
    const out = execFileSync("bash", ["-c", `printf-args() { printf '%s' "$1"; }; ${probe}`], { encoding: "utf8" });
    return out;
}
