// Checks that an executable runs on the nodes before it is uploaded: a 64-bit little-endian ELF for the nodes'
// machine. A single executable built on macOS or Windows, or for the other architecture, is refused here, not on the
// nodes after the upload. Pure: no Pulumi.

/** The CPU architectures of the nodes (EC2's names). */
export type Architecture = "x86_64" | "arm64";

/** ELF e_machine of each architecture. */
export const ELF_MACHINE: Record<Architecture, number> = { x86_64: 0x3e, arm64: 0xb7 };

/** The build's name for each architecture's executable (scripts/build/jailwatch.sh makes both). */
export const JAILWATCH_BUILDS: Record<Architecture, string> = {
    x86_64: "dist/jailwatch-linux-x64",
    arm64: "dist/jailwatch-linux-arm64",
};

/** What the first bytes say: "ELF64 LE x86_64", "Mach-O", "PE (Windows)", or undefined for anything else. */
export function describeExecutable(head: Buffer): string | undefined {
    if (head.length >= 20 && head.readUInt32BE(0) === 0x7f454c46) {
        const cls = head[4] === 2 ? "ELF64" : head[4] === 1 ? "ELF32" : "ELF?";
        const data = head[5] === 1 ? "LE" : head[5] === 2 ? "BE" : "?";
        const machine = data === "BE" ? head.readUInt16BE(18) : head.readUInt16LE(18);
        const arch = (Object.keys(ELF_MACHINE) as Architecture[]).find(a => ELF_MACHINE[a] === machine);
        return `${cls} ${data} ${arch ?? `machine 0x${machine.toString(16)}`}`;
    }
    if (head.length >= 4 && [0xfeedfacf, 0xcffaedfe, 0xcafebabe].includes(head.readUInt32BE(0)))
        return "Mach-O (macOS)";
    if (head.length >= 2 && head[0] === 0x4d && head[1] === 0x5a) return "PE (Windows)";
    return undefined;
}

/** Why `bytes` cannot run on `architecture` Linux nodes, or undefined when it can. */
export function executableProblem(bytes: Buffer, architecture: Architecture): string | undefined {
    const want = `ELF64 LE ${architecture}`;
    const got = describeExecutable(bytes.subarray(0, 64));
    if (got === want) return undefined;
    return `is ${got ?? "not an executable"}, the nodes need a Linux ${want} executable`;
}
