// Day-two helpers for the lab tests: the nodes' own health report, the runbooks' steps, extra disks.
import * as assert from "assert";
import * as fs from "fs";
import { execFileSync, spawnSync } from "child_process";
import { HostStep } from "../../../components/hostStep";
import { exec } from "../../../lab/hosts";
import { host, onHost } from "./lab";

/** Where the mount step installs scripts/gluster/health.sh. */
export const HEALTH_COMMAND = "/usr/local/lib/ha-wordpress/gluster-health";

/** The metric names, in the order the report prints them: the interface the metrics publisher reads. */
export const HEALTH_METRICS = [
    "PeersConnected",
    "BricksOnline",
    "HealPending",
    "SplitBrainEntries",
    "VolumeMounted",
    "BrickDiskUsedPercent",
    "JailwatchBansLastMinute",
] as const;
export type HealthMetrics = Record<(typeof HEALTH_METRICS)[number], number>;

/**
 * `gluster-health --metrics` on a host: exits 0 and prints exactly one integer `NAME VALUE` line per metric, in
 * order (asserted: a publisher depends on it).
 */
export async function healthMetrics(name: string, timeoutMs = 120_000): Promise<HealthMetrics> {
    const r = await exec(host(name), [HEALTH_COMMAND, "--metrics"], { timeoutMs });
    assert.strictEqual(r.code, 0, `${name}: gluster-health --metrics exit ${r.code}: ${r.stderr}`);
    const lines = r.stdout.trimEnd().split("\n");
    assert.deepStrictEqual(
        lines.map(l => l.split(" ")[0]),
        [...HEALTH_METRICS],
        `${name}: metric names\n${r.stdout}`,
    );
    const out = {} as HealthMetrics;
    for (const l of lines) {
        assert.match(l, /^[A-Za-z]+ -?\d+$/, `${name}: metric line '${l}'`);
        const [k, v] = l.split(" ");
        out[k as keyof HealthMetrics] = Number(v);
    }
    return out;
}

/** `gluster-health --text` on a host (exit 0 asserted). */
export async function healthText(name: string): Promise<string> {
    const r = await exec(host(name), [HEALTH_COMMAND, "--text"], { timeoutMs: 120_000 });
    assert.strictEqual(r.code, 0, `${name}: gluster-health --text exit ${r.code}: ${r.stderr}`);
    return r.stdout;
}

/** A one-off step of a runbook (a script under scripts/), run through lab/runner.ts like any plan step. */
export function opsStep(
    id: string,
    hostName: string,
    script: string,
    params: Record<string, string>,
): HostStep<string> {
    return { id, host: hostName, script, params, dependsOn: [] };
}

/** Puts a disk image on a new loop device and makes its node inside a running host (as a late EBS attachment). */
export async function plugImage(hostName: string, image: string): Promise<string> {
    const loop = execFileSync("losetup", ["--find", "--show", image], { encoding: "utf8" }).trim();
    const rdev = fs.statSync(loop).rdev;
    const major = (rdev >> 8) & 0xfff,
        minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
    await onHost(hostName, `[ -b ${loop} ] || mknod -m 660 ${loop} b ${major} ${minor}`);
    return loop;
}

/** Detaches every loop device backed by the given file (a test's extra disk; also after a crashed run). */
export function detachImage(image: string): void {
    const r = spawnSync("losetup", ["--noheadings", "--output", "NAME", "--associated", image], { encoding: "utf8" });
    for (const loop of (r.stdout || "")
        .split("\n")
        .map(s => s.trim())
        .filter(Boolean))
        spawnSync("losetup", ["--detach", loop]);
}
