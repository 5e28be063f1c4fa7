// The brick step run for real on loop devices, inside a private mount namespace (its own /etc/fstab and a tmpfs
// /mnt), so nothing outside the test changes: formats only a blank device, mounts by UUID, keeps data on a rerun,
// and refuses a device that carries another filesystem.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { execFileSync, spawnSync } from "child_process";
import { renderStep } from "../../components/hostStep";

const BRICK = "/mnt/bricks/brick1/gv";
const MOUNT = "/mnt/bricks/brick1";

describe("brick.sh on a loop device (real mkfs.xfs, mount, fstab in a mount namespace)", function () {
    this.timeout(60_000);
    let dir: string;
    const loops: string[] = [];

    /** A sparse file on a new loop device (mkfs.xfs needs 300 MiB). */
    const newDisk = (name: string): string => {
        const image = path.join(dir, `${name}.img`);
        fs.closeSync(fs.openSync(image, "w"));
        fs.truncateSync(image, 320 * 1024 * 1024);
        const loop = execFileSync("losetup", ["-f", "--show", image], { encoding: "utf8" }).trim();
        loops.push(loop);
        return loop;
    };

    /** Runs the step (device found through DEVICE_NAME, the last-resort lookup) and then `after` in the namespace. */
    const runStep = (dev: string, fstab: string, after = "") => {
        const text = renderStep("gluster/brick.sh", { VOLUME_ID: "vol-0test0000000000001", BRICK_PATH: BRICK, DEVICE_NAME: dev });
        const inner = `mount --bind "$1" /etc/fstab && mount -t tmpfs brick-step-test /mnt || exit 99
bash -c "$2"; rc=$?
echo "@@mounted=$(findmnt -rno SOURCE,FSTYPE --mountpoint ${MOUNT} | tr ' ' ,)"
${after}
exit $rc`;
        return spawnSync("unshare", ["-m", "--propagation", "private", "bash", "-c", inner, "_", fstab, text], { encoding: "utf8" });
    };

    before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "brick-step-")); });
    after(() => {
        for (const loop of loops) spawnSync("losetup", ["-d", loop]);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("formats a blank device as xfs (-i size=512), adds one fstab line by UUID, mounts it, makes the brick dir", () => {
        const dev = newDisk("blank");
        const fstab = path.join(dir, "fstab1");
        fs.writeFileSync(fstab, "# test fstab\nUUID=0000 / ext4 defaults 0 1\n");
        const r = runStep(dev, fstab, `test -d ${BRICK} && echo @@brickdir; xfs_info ${MOUNT} | grep -o 'isize=[0-9]*' | head -n1 | sed 's/^/@@/'`);
        assert.strictEqual(r.status, 0, r.stderr + r.stdout);
        const uuid = execFileSync("blkid", ["-p", "-o", "value", "-s", "UUID", dev], { encoding: "utf8" }).trim();
        assert.match(r.stdout, new RegExp(`@@mounted=${dev},xfs`));
        assert.match(r.stdout, /@@brickdir/);
        assert.match(r.stdout, /@@isize=512/);
        assert.strictEqual(fs.readFileSync(fstab, "utf8"),
            `# test fstab\nUUID=0000 / ext4 defaults 0 1\nUUID=${uuid} ${MOUNT} xfs defaults,noatime,nofail 0 0\n`);
    });

    it("on a rerun keeps the filesystem and its data, and does not duplicate the fstab line", () => {
        const dev = newDisk("rerun");
        const fstab = path.join(dir, "fstab2");
        fs.writeFileSync(fstab, "");
        const first = runStep(dev, fstab, `echo precious > ${BRICK}/keep`);
        assert.strictEqual(first.status, 0, first.stderr);
        const uuid = execFileSync("blkid", ["-p", "-o", "value", "-s", "UUID", dev], { encoding: "utf8" }).trim();
        const second = runStep(dev, fstab, `cat ${BRICK}/keep | sed 's/^/@@keep=/'`);
        assert.strictEqual(second.status, 0, second.stderr);
        assert.match(second.stdout, /already carries xfs; keeping it/);
        assert.match(second.stdout, /@@keep=precious/);
        assert.strictEqual(execFileSync("blkid", ["-p", "-o", "value", "-s", "UUID", dev], { encoding: "utf8" }).trim(), uuid);
        assert.strictEqual(fs.readFileSync(fstab, "utf8"), `UUID=${uuid} ${MOUNT} xfs defaults,noatime,nofail 0 0\n`);
    });

    it("refuses a device that carries another filesystem, and changes nothing", () => {
        const dev = newDisk("ext4");
        execFileSync("mkfs.ext4", ["-q", "-F", dev]);
        const before = execFileSync("blkid", ["-p", "-o", "value", "-s", "UUID", dev], { encoding: "utf8" }).trim();
        const fstab = path.join(dir, "fstab3");
        fs.writeFileSync(fstab, "# untouched\n");
        const r = runStep(dev, fstab);
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr, new RegExp(`${dev} carries a ext4 filesystem, expected xfs; refusing to format it`));
        assert.match(r.stdout, /@@mounted=\s*$/m);
        assert.strictEqual(fs.readFileSync(fstab, "utf8"), "# untouched\n");
        assert.strictEqual(execFileSync("blkid", ["-p", "-o", "value", "-s", "TYPE", dev], { encoding: "utf8" }).trim(), "ext4");
        assert.strictEqual(execFileSync("blkid", ["-p", "-o", "value", "-s", "UUID", dev], { encoding: "utf8" }).trim(), before);
    });

    it("refuses a brick mount point that already holds another filesystem, before touching fstab", () => {
        const dev = newDisk("occupied");
        const fstab = path.join(dir, "fstab5");
        fs.writeFileSync(fstab, "# untouched\n");
        const text = renderStep("gluster/brick.sh", { VOLUME_ID: "vol-0test0000000000001", BRICK_PATH: BRICK, DEVICE_NAME: dev });
        const r = spawnSync("unshare", ["-m", "--propagation", "private", "bash", "-c",
            `mount --bind "$1" /etc/fstab && mount -t tmpfs t /mnt && mkdir -p ${MOUNT} && mount -t tmpfs other ${MOUNT} && bash -c "$2"`,
            "_", fstab, text], { encoding: "utf8" });
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr, new RegExp(`${MOUNT} is already a mount of .*, not of ${dev}`));
        assert.strictEqual(fs.readFileSync(fstab, "utf8"), "# untouched\n");
    });

    it("never rewrites the identity of a glusterd that already has peers (brick saved by another node)", () => {
        const dev = newDisk("identity");
        const fstab = path.join(dir, "fstab4");
        fs.writeFileSync(fstab, "");
        // First run formats and mounts; then the brick gets a saved identity, as the peers step leaves it.
        const first = runStep(dev, fstab, `mkdir -p ${MOUNT}/.ha-wordpress/glusterd/peers && echo UUID=11111111-1111-1111-1111-111111111111 > ${MOUNT}/.ha-wordpress/glusterd/glusterd.info`);
        assert.strictEqual(first.status, 0, first.stderr);
        // Second run on a "host" whose glusterd (a private /var/lib/glusterd) is someone else with a peer already.
        // The brick step mounts; the identity step (its own plan step now) then refuses to mix identities.
        const text = renderStep("gluster/brick.sh", { VOLUME_ID: "vol-0test0000000000001", BRICK_PATH: BRICK, DEVICE_NAME: dev }) +
            " && " + renderStep("gluster/identity.sh", { ACTION: "restore", BRICK_PATH: BRICK });
        const inner = `mount --bind "$1" /etc/fstab && mount -t tmpfs t /mnt && mount -t tmpfs gd /var/lib/glusterd || exit 99
mkdir /var/lib/glusterd/peers && echo UUID=22222222-2222-2222-2222-222222222222 > /var/lib/glusterd/glusterd.info
echo hostname1=node-gfs9 > /var/lib/glusterd/peers/33333333-3333-3333-3333-333333333333
bash -c "$2"; rc=$?; echo "@@uuid=$(sed -n 's/^UUID=//p' /var/lib/glusterd/glusterd.info)"; exit $rc`;
        const r = spawnSync("unshare", ["-m", "--propagation", "private", "bash", "-c", inner, "_", fstab, text], { encoding: "utf8" });
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr, /brick on \S+ belongs to glusterd 11111111-1111-1111-1111-111111111111, but this host is glusterd 22222222-2222-2222-2222-222222222222 and already has peers or volumes; refusing/);
        assert.match(r.stdout, /@@uuid=22222222-2222-2222-2222-222222222222/);
    });

    it("gives up with a clear message when the volume never appears", () => {
        // No by-id link, no NVMe serial, and a DEVICE_NAME that does not exist: the step waits, then names the volume.
        const text = renderStep("gluster/brick.sh", {
            VOLUME_ID: "vol-0nothere00000000", BRICK_PATH: BRICK, DEVICE_NAME: "/dev/sdzz", DEVICE_TIMEOUT: "1",
        });
        const r = spawnSync("unshare", ["-m", "--propagation", "private", "bash", "-c", `mount -t tmpfs t /mnt && bash -c "$1"`, "_", text], { encoding: "utf8" });
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr, /timed out after 1s waiting for: EBS volume vol-0nothere00000000 to appear as a block device/);
    });
});

describe("mount.sh in a mount namespace", () => {
    it("refuses a mount point that already holds another filesystem, before touching fstab", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mount-step-"));
        try {
            const fstab = path.join(dir, "fstab");
            fs.writeFileSync(fstab, "# untouched\n");
            const text = renderStep("gluster/mount.sh", {
                VOLUME_NAME: "wp", MOUNT_POINT: "/mnt/www", SERVER: "node-gfs2", BACKUP_SERVERS: "node-gfs3:node-gfs1", NODE_NAME: "node-gfs1",
            });
            const r = spawnSync("unshare", ["-m", "--propagation", "private", "bash", "-c",
                `mount --bind "$1" /etc/fstab && mount -t tmpfs t /mnt && mkdir /mnt/www && mount -t tmpfs other /mnt/www && bash -c "$2"`,
                "_", fstab, text], { encoding: "utf8" });
            assert.notStrictEqual(r.status, 0);
            assert.match(r.stderr, /\/mnt\/www is already a tmpfs mount; unmount it first/);
            assert.strictEqual(fs.readFileSync(fstab, "utf8"), "# untouched\n");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
