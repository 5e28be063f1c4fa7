// The lab's Debian 12 image: built once with debootstrap from this machine's own mirror (lab/image.sh) and cached
// under IMAGE_CACHE by a hash of what goes into it, so a changed package list or build script builds a new one.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { webPackages } from "../components/wordpressPlan";
import { check, run } from "./proc";
import { IMAGE_CACHE } from "./state";

const IMAGE_SCRIPT = path.join(__dirname, "image.sh");

/**
 * What the image holds besides debootstrap's minbase: the packages the host steps install (lab hosts have no route
 * to a mirror, so the steps must find them installed, as they do on a re-run), what a Debian cloud image brings
 * (nftables; netbase, whose /etc/services lets nft read port names like `http`), and what the lab's own hosts need
 * (MariaDB for the database host standing in for RDS), and Debian's fail2ban as the yardstick the attack bench
 * (bench/attack.ts) runs against jailwatch: installed, never enabled by a host step; the bench starts it itself.
 */
export function imagePackages(): string[] {
    const gluster = ["glusterfs-server", "glusterfs-client", "xfsprogs", "attr"]; // scripts/gluster/install.sh
    const web = webPackages("8.2", { kind: "debian" });
    return [
        ...new Set([...gluster, ...web, "nftables", "netbase", "curl", "mariadb-server", "mariadb-client", "fail2ban"]),
    ].sort();
}

/** The cached image's directory for the current package list and build script. */
export function imageDir(): string {
    // Comments do not change what the script builds, so editing them keeps the cached image.
    const code = fs
        .readFileSync(IMAGE_SCRIPT, "utf8")
        .split("\n")
        .filter(l => !/^\s*#/.test(l))
        .join("\n");
    const hash = crypto.createHash("sha256").update(code).update(imagePackages().join(" ")).digest("hex").slice(0, 16);
    return path.join(IMAGE_CACHE, `bookworm-${hash}`);
}

export function imageReady(dir = imageDir()): boolean {
    return fs.existsSync(path.join(dir, "lib/systemd/systemd")) && fs.existsSync(path.join(dir, "etc/ha-lab-image"));
}

let building: Promise<string> | undefined;

/** The image directory, built first if it is missing (about 3 minutes; hosts made in parallel share one build). */
export function ensureImage(log: (line: string) => void = () => undefined): Promise<string> {
    const dir = imageDir();
    if (imageReady(dir)) return Promise.resolve(dir);
    if (!building) {
        building = (async () => {
            fs.mkdirSync(IMAGE_CACHE, { recursive: true });
            log(`lab: building the Debian 12 image ${dir} (once; about 3 minutes)`);
            const r = await run("bash", [IMAGE_SCRIPT, dir, ...imagePackages()], { timeoutMs: 1_800_000 });
            check("building the lab image (lab/image.sh)", r);
            for (const line of r.stdout.trim().split("\n")) log(`lab: ${line}`);
            return dir;
        })().finally(() => {
            building = undefined;
        });
    }
    return building;
}

/** Removes cached images other than the current one that no recorded host stands on. */
export function pruneImages(inUse: string[]): string[] {
    if (!fs.existsSync(IMAGE_CACHE)) return [];
    const keep = new Set([imageDir(), ...inUse]);
    const removed: string[] = [];
    for (const name of fs.readdirSync(IMAGE_CACHE)) {
        const dir = path.join(IMAGE_CACHE, name);
        if (keep.has(dir) || !name.startsWith("bookworm-")) continue;
        fs.rmSync(dir, { recursive: true, force: true });
        removed.push(dir);
    }
    return removed;
}
