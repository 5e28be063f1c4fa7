// The installer of "Try it locally": its checks say what is wrong, one message per failure, and the Debian package
// list lives in one place that CI uses through the installer.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";

const ROOT = path.join(__dirname, "..", "..");
const INSTALL = path.join(ROOT, "scripts", "install", "install.sh");
const LIST = path.join(ROOT, "scripts", "install", "packages.txt");

function install(args: string[], asUser?: string) {
    const argv = asUser
        ? ["setpriv", `--reuid=${asUser}`, "--regid=nogroup", "--clear-groups", "bash", INSTALL, ...args]
        : ["bash", INSTALL, ...args];
    const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", cwd: "/" });
    return { code: r.status, out: r.stdout, err: r.stderr };
}

const names = () =>
    fs
        .readFileSync(LIST, "utf8")
        .split("\n")
        .map(l => l.replace(/#.*/, "").trim())
        .filter(Boolean);

describe("scripts/install/install.sh", () => {
    it("--check passes on this machine (root, Debian 12, loop devices, FUSE, cgroups) and changes nothing", () => {
        assert.strictEqual(process.getuid?.(), 0, "runs as root, like the installer");
        const r = install(["--check"]);
        assert.strictEqual(r.code, 0, r.err);
        assert.match(r.out, /^install: \[checks\] \.\.\.$/m);
        assert.match(r.out, /root, Debian 12, node v\d+\.\d+\.\d+, \/dev\/loop-control, \/dev\/fuse, cgroups: ok/);
        assert.match(r.out, /^install: \[checks\] done in \d+\.\ds$/m);
        assert.doesNotMatch(r.out, /\[packages\]/);
    });

    it("not root: a message per failed check, exit 1, no later phase", () => {
        const r = install(["--check"], "nobody");
        assert.strictEqual(r.code, 1);
        assert.match(r.err, /check failed: not root: .*run as root/);
        // nobody cannot write the cgroup tree either: each hierarchy gets its own line.
        assert.match(r.err, /check failed: no writable \/sys\/fs\/cgroup\/systemd/);
        assert.match(r.err, /check failed: no writable \/sys\/fs\/cgroup\/unified/);
        assert.match(r.err, /this machine cannot run the lab/);
        assert.match(r.err, /\[checks\] FAILED \(exit 1\)/);
        assert.doesNotMatch(r.out + r.err, /\[packages\]/);
    });

    it("refuses an unknown option", () => {
        const r = install(["--bogus"]);
        assert.strictEqual(r.code, 2);
        assert.match(r.err, /usage: .*install\.sh \[--no-up \| --check\]/);
    });

    it("one package list: packages.txt has what the lab and the browser test need; .ci/run has no list of its own", () => {
        const list = names();
        for (const p of [
            "systemd-container",
            "debootstrap",
            "xfsprogs",
            "glusterfs-server",
            "chromium",
            "shellcheck",
        ]) {
            assert.ok(list.includes(p), `${p} in packages.txt`);
        }
        assert.strictEqual(new Set(list).size, list.length, "no package twice");
        const ci = fs.readFileSync(path.join(ROOT, ".ci", "run"), "utf8");
        assert.doesNotMatch(ci, /apt-get|npm ci/, ".ci/run installs only through the installer");
        assert.match(ci, /^\.\/scripts\/install\/install\.sh$/m);
        assert.match(ci, /^npm test$/m);
    });
});
