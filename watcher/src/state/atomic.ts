// Crash-safe file replacement: write a temporary file beside the target, fsync it, rename it over the target,
// fsync the directory. A reader sees either the old or the new content, never a mix.

import * as fs from "fs";
import * as path from "path";

export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o600): void {
    const dir = path.dirname(file);
    const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
    const fd = fs.openSync(tmp, "w", mode);
    try {
        if (typeof data === "string") fs.writeSync(fd, data);
        else fs.writeSync(fd, data);
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    try {
        const dfd = fs.openSync(dir, "r");
        try {
            fs.fsyncSync(dfd);
        } finally {
            fs.closeSync(dfd);
        }
    } catch {
        // Some file systems refuse fsync on directories; the rename itself is still atomic.
    }
}
