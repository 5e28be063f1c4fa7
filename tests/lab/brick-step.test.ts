// The brick and mount steps run for real on one booted lab host (systemd as PID 1), over SSH with the very text a
// remote.Command sends (renderHostStep), as lab/runner.ts runs them: formats only a blank device, mounts it by a
// native mount unit by UUID (no fstab line), keeps the filesystem and its data on a rerun, and refuses devices and
// mount points that are in use for something else without changing anything.
//
// It uses the lab as every lab suite does: it starts from `destroyLab()` and removes everything it made at the end.
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { renderHostStep } from "../../components/hostStep";
import * as labHosts from "../../lab/hosts";
import type { LabHost } from "../../lab/hosts";
import type { RunResult } from "../../lab/proc";

type LabModule = typeof labHosts;

/** Backing files of the extra disks: outside the lab's directory (destroyLab removes that), so a crashed run's
 * loops can still be found. */
const DISKS_DIR = "/tmp/ha-lab-scratch-disks";

const HOST_NAME = "scratch";
const VOLUME_ID = "vol-0lab0b0000000050";
const BRICK = "/glusterfs/bricks/brick1/gv";
const MOUNT = "/glusterfs/bricks/brick1";
const MOUNT_UNIT = "glusterfs-bricks-brick1.mount";
const UNIT_FILE = `/etc/systemd/system/${MOUNT_UNIT}`;
const BRICK_SERVICE = "/etc/systemd/system/ha-wordpress-brick.service";
const VOLUME_SERVICE = "/etc/systemd/system/ha-wordpress-volume.service";
const OTHER_VOLUME = "vol-0test0000000000001";
/** The fstab every case starts from: the lab's own header and an unrelated line, both kept by every step. */
const FSTAB = `# /etc/fstab of lab host ${HOST_NAME}\ntmpfs /mnt/scratch tmpfs defaults,noauto 0 0\n`;

describe("lab: brick.sh and mount.sh on a booted host (over SSH, real mkfs.xfs and mount units)", function () {
    this.timeout(300_000);
    let lab: LabModule;
    let host: LabHost;
    const loops: string[] = [];

    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    /** Runs a bash script on the host directly (nsenter): for setting up and checking, never for the steps. */
    const onHost = (script: string) => lab.sh(host, script, { timeoutMs: 60_000 });
    /** Runs a host step exactly as lab/runner.ts does: renderHostStep's text and stdin, over SSH as root. */
    const step = (script: string, params: Record<string, string>): Promise<RunResult> => {
        const { command, stdin } = renderHostStep({
            id: `test-${script}`,
            host: HOST_NAME,
            script,
            params,
            dependsOn: [],
        });
        return lab.ssh(host, command, { timeoutMs: 300_000, input: stdin || undefined });
    };
    const brick = (dev: string, extra: Record<string, string> = {}) =>
        step("gluster/brick.sh", { VOLUME_ID: OTHER_VOLUME, BRICK_PATH: BRICK, DEVICE_NAME: dev, ...extra });
    const out = (r: RunResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
    /** blkid on this machine (the loop device is the same one the host sees). */
    const blkid = (dev: string, tag: string) => {
        const r = spawnSync("blkid", ["-p", "-o", "value", "-s", tag, dev], { encoding: "utf8" });
        return r.stdout.trim();
    };
    const fstab = () => onHost("cat /etc/fstab");
    const exists = async (file: string) => (await onHost(`[ -e ${q(file)} ] && echo yes || echo no`)).trim() === "yes";
    /** SOURCE,FSTYPE of what is mounted at the mount point, "" when nothing is. */
    const mountedAt = async (mp: string) =>
        (await onHost(`findmnt -rno SOURCE,FSTYPE --mountpoint ${q(mp)} | head -n1 || true`)).trim();

    /** A blank sparse disk on a new loop device, plugged into the running host. */
    const newDisk = async (name: string, sizeMiB = 320): Promise<string> => {
        const image = path.join(DISKS_DIR, `${name}.img`);
        const fd = fs.openSync(image, "w", 0o600);
        fs.ftruncateSync(fd, sizeMiB * 1024 * 1024);
        fs.closeSync(fd);
        const loop = execFileSync("losetup", ["--find", "--show", image], { encoding: "utf8" }).trim();
        loops.push(loop);
        await lab.plugDevice(host, loop);
        return loop;
    };

    /** Detaches the loop devices of earlier runs' backing files (a run that crashed before its after()). */
    const detachLeftovers = () => {
        if (!fs.existsSync(DISKS_DIR)) return;
        for (const f of fs.readdirSync(DISKS_DIR)) {
            const r = spawnSync(
                "losetup",
                ["--noheadings", "--output", "NAME", "--associated", path.join(DISKS_DIR, f)],
                { encoding: "utf8" },
            );
            for (const loop of r.stdout
                .split("\n")
                .map(s => s.trim())
                .filter(Boolean))
                spawnSync("losetup", ["--detach", loop]);
        }
    };

    before(async function () {
        assert.strictEqual(process.getuid?.(), 0, "lab tests must run as root (namespaces, mounts, loop devices)");
        lab = labHosts;
        await lab.destroyLab();
        detachLeftovers();
        fs.rmSync(DISKS_DIR, { recursive: true, force: true });
        fs.mkdirSync(DISKS_DIR, { recursive: true, mode: 0o700 });
        host = await lab.createHost({ name: HOST_NAME, ip: "10.77.0.50", disk: { volumeId: VOLUME_ID, sizeMiB: 512 } });
    });

    after(async function () {
        if (lab) await lab.destroyLab();
        for (const loop of loops) spawnSync("losetup", ["--detach", loop]);
        fs.rmSync(DISKS_DIR, { recursive: true, force: true });
    });

    // Every case starts from a host without the steps' units, mounts and files, and with the same fstab.
    beforeEach(async function () {
        if (!host) this.skip();
        await onHost(`set -u
            systemctl disable --quiet ${MOUNT_UNIT} ha-wordpress-brick.service ha-wordpress-volume.service 2>/dev/null || true
            systemctl stop ${MOUNT_UNIT} ha-wordpress-volume.service 2>/dev/null || true
            for mp in ${MOUNT} /mnt/www; do for _ in 1 2 3 4; do mountpoint -q $mp && umount $mp; done; ! mountpoint -q $mp; done
            rm -f ${UNIT_FILE} ${BRICK_SERVICE} ${VOLUME_SERVICE} /etc/systemd/system/glusterd.service.d/ha-wordpress-brick.conf
            rm -rf /usr/local/lib/ha-wordpress
            printf %s ${q(FSTAB)} >/etc/fstab
            systemctl daemon-reload
            systemctl reset-failed 2>/dev/null || true
            rm -rf --one-file-system /glusterfs /mnt/www`);
    });

    it("formats a blank device as xfs (-i size=512), writes one mount unit by UUID (What=UUID=...), no fstab line for the brick, the mount is active, makes the brick dir", async () => {
        const dev = host.disk!.loop;
        // A host that ran an earlier version of the step has an fstab line for the brick: it goes, the rest stays.
        await onHost(
            `echo 'UUID=0e0e0e0e-0000-4000-8000-000000000000 ${MOUNT} xfs defaults,noatime,nofail 0 0' >>/etc/fstab && systemctl daemon-reload`,
        );
        // Found by its Nitro by-id name, as on EC2: no DEVICE_NAME.
        const r = await step("gluster/brick.sh", { VOLUME_ID, BRICK_PATH: BRICK });
        assert.strictEqual(r.code, 0, out(r));
        assert.match(r.stdout, new RegExp(`volume ${VOLUME_ID} is ${dev}\\b`));
        assert.match(r.stdout, /no filesystem on \S+: mkfs\.xfs -i size=512/);
        assert.match(r.stdout, /fstab: removed the old line/);
        const uuid = blkid(dev, "UUID");
        assert.match(uuid, /^[0-9a-f-]{36}$/);
        assert.strictEqual(blkid(dev, "TYPE"), "xfs");

        const unit = await onHost(`cat ${UNIT_FILE}`);
        assert.deepStrictEqual(
            unit.split("\n").filter(l => /^(What|Where|Type|Options)=/.test(l)),
            [`What=UUID=${uuid}`, `Where=${MOUNT}`, "Type=xfs", "Options=defaults,noatime"],
        );
        // One unit for the mount point: the only unit file that mounts it.
        assert.strictEqual(
            (await onHost(`grep -lx 'Where=${MOUNT}' /etc/systemd/system/*.mount || true`)).trim(),
            UNIT_FILE,
        );
        assert.strictEqual(await fstab(), FSTAB);
        assert.strictEqual((await onHost(`systemctl is-active ${MOUNT_UNIT} || true`)).trim(), "active");
        assert.strictEqual((await onHost(`systemctl is-enabled ${MOUNT_UNIT} || true`)).trim(), "enabled");
        assert.strictEqual(await mountedAt(MOUNT), `${dev} xfs`);
        assert.strictEqual((await onHost(`test -d ${BRICK} && findmnt -rno TARGET -T ${BRICK}`)).trim(), MOUNT);
        assert.match(await onHost(`xfs_info ${MOUNT}`), /isize=512\b/);
        // glusterd is bound to that mount, and the late-disk service is enabled.
        assert.match(
            await onHost("cat /etc/systemd/system/glusterd.service.d/ha-wordpress-brick.conf"),
            new RegExp(`^BindsTo=${MOUNT_UNIT}$`, "m"),
        );
        assert.strictEqual((await onHost("systemctl is-enabled ha-wordpress-brick.service || true")).trim(), "enabled");
    });

    it("on a rerun keeps the filesystem UUID and its data, and duplicates neither the mount unit nor an fstab line", async () => {
        const dev = await newDisk("rerun");
        const first = await brick(dev);
        assert.strictEqual(first.code, 0, out(first));
        const uuid = blkid(dev, "UUID");
        await onHost(`echo precious >${BRICK}/keep`);
        const unitBefore = await onHost(`stat -c %i ${UNIT_FILE}; cat ${UNIT_FILE}`);

        const second = await brick(dev);
        assert.strictEqual(second.code, 0, out(second));
        assert.match(second.stdout, /already carries xfs; keeping it/);
        assert.match(second.stdout, new RegExp(`${MOUNT} already mounted`));
        assert.doesNotMatch(second.stdout, /mkfs/);
        assert.strictEqual(blkid(dev, "UUID"), uuid);
        assert.strictEqual((await onHost(`cat ${BRICK}/keep`)).trim(), "precious");
        // The unit file was not even rewritten (same inode, same text), and it is still the only one.
        assert.strictEqual(await onHost(`stat -c %i ${UNIT_FILE}; cat ${UNIT_FILE}`), unitBefore);
        assert.strictEqual(
            (await onHost(`grep -lx 'Where=${MOUNT}' /etc/systemd/system/*.mount || true`)).trim(),
            UNIT_FILE,
        );
        assert.strictEqual((await onHost(`grep -c '^What=' ${UNIT_FILE}`)).trim(), "1");
        assert.strictEqual(await fstab(), FSTAB);
        assert.strictEqual(await mountedAt(MOUNT), `${dev} xfs`);
        assert.strictEqual((await onHost(`findmnt -rn --mountpoint ${MOUNT} | wc -l`)).trim(), "1");
        assert.strictEqual((await onHost(`systemctl is-active ${MOUNT_UNIT} || true`)).trim(), "active");
    });

    it("refuses a device that carries another filesystem, and changes nothing", async () => {
        const dev = await newDisk("ext4");
        execFileSync("mkfs.ext4", ["-q", "-F", dev]);
        const uuidBefore = blkid(dev, "UUID");
        const r = await brick(dev);
        assert.notStrictEqual(r.code, 0, out(r));
        assert.match(r.stderr, new RegExp(`${dev} carries a ext4 filesystem, expected xfs; refusing to format it`));
        assert.strictEqual(await mountedAt(MOUNT), "");
        assert.strictEqual(await exists(UNIT_FILE), false);
        assert.strictEqual(await exists(BRICK_SERVICE), false);
        assert.strictEqual(await fstab(), FSTAB);
        assert.strictEqual(blkid(dev, "TYPE"), "ext4");
        assert.strictEqual(blkid(dev, "UUID"), uuidBefore);
    });

    it("refuses a device that carries a partition table, and changes nothing", async () => {
        const dev = await newDisk("mbr");
        // An MBR with one Linux partition (sectors 2048-6143), written by hand: the loop device has no partition
        // scanning, so the host sees no partition device, only the table.
        const mbr = Buffer.alloc(512);
        mbr[446 + 4] = 0x83;
        mbr.writeUInt32LE(2048, 446 + 8);
        mbr.writeUInt32LE(4096, 446 + 12);
        mbr[510] = 0x55;
        mbr[511] = 0xaa;
        const fd = fs.openSync(dev, "r+");
        try {
            fs.writeSync(fd, mbr, 0, 512, 0);
            fs.fsyncSync(fd);
        } finally {
            fs.closeSync(fd);
        }
        const r = await brick(dev);
        assert.notStrictEqual(r.code, 0, out(r));
        assert.match(r.stderr, new RegExp(`${dev} carries a dos partition table; refusing to format it`));
        assert.strictEqual(blkid(dev, "PTTYPE"), "dos");
        assert.strictEqual(blkid(dev, "TYPE"), "");
        assert.strictEqual(await mountedAt(MOUNT), "");
        assert.strictEqual(await exists(UNIT_FILE), false);
        assert.strictEqual(await fstab(), FSTAB);
    });

    it("refuses a brick mount point that already holds another filesystem, before writing a unit or touching fstab", async () => {
        const dev = await newDisk("occupied");
        await onHost(`mkdir -p ${MOUNT} && mount -t tmpfs other ${MOUNT} && echo mine >${MOUNT}/theirs`);
        const r = await brick(dev);
        assert.notStrictEqual(r.code, 0, out(r));
        assert.match(r.stderr, new RegExp(`${MOUNT} is already a mount of .*, not of ${dev}`));
        assert.strictEqual(await mountedAt(MOUNT), "other tmpfs");
        assert.strictEqual((await onHost(`cat ${MOUNT}/theirs`)).trim(), "mine");
        assert.strictEqual(await exists(UNIT_FILE), false);
        assert.strictEqual(await exists(BRICK_SERVICE), false);
        assert.strictEqual(await fstab(), FSTAB);
    });

    it("identity.sh never rewrites the identity of a glusterd that already has peers (brick saved by another node)", async () => {
        const dev = await newDisk("identity");
        // First run formats and mounts; then the brick gets a saved identity, as the identity step's save leaves it.
        const first = await brick(dev);
        assert.strictEqual(first.code, 0, out(first));
        await onHost(`mkdir -p ${MOUNT}/.ha-wordpress/glusterd/peers &&
            echo UUID=11111111-1111-1111-1111-111111111111 >${MOUNT}/.ha-wordpress/glusterd/glusterd.info`);
        // This host's glusterd is someone else, with a peer already (kept aside and put back afterwards).
        await onHost(`rm -rf /root/glusterd.saved && cp -a /var/lib/glusterd /root/glusterd.saved
            mkdir -p /var/lib/glusterd/peers && echo UUID=22222222-2222-2222-2222-222222222222 >/var/lib/glusterd/glusterd.info
            echo hostname1=node-gfs9 >/var/lib/glusterd/peers/33333333-3333-3333-3333-333333333333`);
        try {
            // The plan's order: the brick step (mounted already), then the identity step's restore, each on its own.
            const again = await brick(dev);
            assert.strictEqual(again.code, 0, out(again));
            const r = await step("gluster/identity.sh", { ACTION: "restore", BRICK_PATH: BRICK });
            assert.notStrictEqual(r.code, 0, out(r));
            assert.match(
                r.stderr,
                new RegExp(
                    `brick on ${MOUNT} belongs to glusterd 11111111-1111-1111-1111-111111111111, ` +
                        "but this host is glusterd 22222222-2222-2222-2222-222222222222 and already has peers or volumes; refusing",
                ),
            );
            assert.strictEqual(
                (await onHost("sed -n 's/^UUID=//p' /var/lib/glusterd/glusterd.info")).trim(),
                "22222222-2222-2222-2222-222222222222",
            );
            assert.strictEqual(
                (await onHost("ls /var/lib/glusterd/peers")).trim(),
                "33333333-3333-3333-3333-333333333333",
            );
            assert.strictEqual(
                (await onHost(`cat ${MOUNT}/.ha-wordpress/glusterd/glusterd.info`)).trim(),
                "UUID=11111111-1111-1111-1111-111111111111",
            );
            // It refused before touching glusterd (the brick keeper may be starting glusterd meanwhile: not this step).
            assert.doesNotMatch(r.stdout, /taking that identity back/);
        } finally {
            await onHost("rm -rf /var/lib/glusterd && mv /root/glusterd.saved /var/lib/glusterd");
        }
    });

    it("gives up with a clear message when the volume never appears", async () => {
        // No by-id link, no NVMe serial, and a DEVICE_NAME that does not exist: the step waits, then names the volume.
        const r = await step("gluster/brick.sh", {
            VOLUME_ID: "vol-0nothere00000000",
            BRICK_PATH: BRICK,
            DEVICE_NAME: "/dev/sdzz",
            DEVICE_TIMEOUT: "1",
        });
        assert.notStrictEqual(r.code, 0, out(r));
        assert.match(
            r.stderr,
            /timed out after 1s waiting for: EBS volume vol-0nothere00000000 to appear as a block device/,
        );
        assert.ok(r.durationMs < 30_000, `took ${r.durationMs} ms`);
        assert.strictEqual(await exists(UNIT_FILE), false);
        assert.strictEqual(await fstab(), FSTAB);
    });

    it("mount.sh refuses a mount point that already holds another filesystem, before touching fstab", async () => {
        await onHost("mkdir -p /mnt/www && mount -t tmpfs other /mnt/www");
        const r = await step("gluster/mount.sh", {
            VOLUME_NAME: "wp",
            MOUNT_POINT: "/mnt/www",
            SERVER: "node-gfs2",
            BACKUP_SERVERS: "node-gfs3:node-gfs1",
            NODE_NAME: "node-gfs1",
            BRICK_PATH: BRICK,
            // The mount step also installs the health script (one copy: the file the plan sends).
            HEALTH_SCRIPT: fs.readFileSync(path.join(__dirname, "../../scripts/gluster/health.sh"), "utf8"),
        });
        assert.notStrictEqual(r.code, 0, out(r));
        assert.match(r.stderr, /\/mnt\/www is already a tmpfs mount; unmount it first/);
        assert.strictEqual(await fstab(), FSTAB);
        assert.strictEqual(await mountedAt("/mnt/www"), "other tmpfs");
        assert.strictEqual(await exists(VOLUME_SERVICE), false);
        assert.strictEqual(await exists("/usr/local/lib/ha-wordpress/volume-watchdog"), false);
    });
});
