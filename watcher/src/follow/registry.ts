// Backends by name: which sources a jail reads and how each is followed. `auto`, `polling`, `pyinotify` and `gamin`
// follow the jail's logpath files (follower.ts; polling only when the server is told to poll); `systemd` reads the
// journal (journal.ts) and ignores logpath, as fail2ban does. Sources are shared by key: jails on the same file,
// or on the same journal with the same matches, are fed by one reader.

import { LogFollower } from "./follower";
import { expandGlob } from "./glob";
import { JournalFollower } from "./journal";
import { journalKey, JournalSpec } from "./journal-spec";
import { isJournalPosition, LineSource, SourceOptions } from "./source";

/** What the registry needs of a jail. */
export interface SourceJail {
    /** `backend` as written, e.g. `auto` or `systemd[journalpath=/var/log/journal]`. */
    backend: string;
    logpath: string[];
    /** The journal the jail reads, when its backend is systemd (resolved by the settings stage). */
    journal?: JournalSpec;
}

export interface Backend {
    /** The keys of the sources a jail reads. */
    keys(jail: SourceJail): string[];
    /** A reader for one of those keys. */
    create(key: string, opts: SourceOptions, jail: SourceJail): LineSource;
}

const files: Backend = {
    keys: j => [...new Set(j.logpath.flatMap(expandGlob))],
    create: (key, opts) =>
        new LogFollower({ ...opts, path: key, start: isJournalPosition(opts.start) ? undefined : opts.start }),
};

const journal: Backend = {
    keys: j => (j.journal ? [journalKey(j.journal)] : []),
    create: (key, opts, j) => new JournalFollower({ ...opts, key, spec: j.journal! }),
};

const backends = new Map<string, Backend>([
    ["auto", files],
    ["polling", files],
    ["pyinotify", files],
    ["gamin", files],
    ["systemd", journal],
]);

/** Adds (or replaces) a backend under `name`. */
export function registerBackend(name: string, b: Backend): void {
    backends.set(name.toLowerCase(), b);
}

/** The backend name of a `backend` value (`systemd[...]` -> `systemd`). */
export function backendName(value: string): string {
    const v = value.trim().toLowerCase();
    const open = v.indexOf("[");
    return (open < 0 ? v : v.slice(0, open)).trim() || "auto";
}

export function backendFor(value: string): Backend | undefined {
    return backends.get(backendName(value));
}

/** Source keys of a jail (file paths after glob expansion, or one journal key). */
export function sourceKeys(jail: SourceJail): string[] {
    return (backendFor(jail.backend) ?? files).keys(jail);
}

/** A reader for `key` as `jail`'s backend follows it. */
export function createSource(key: string, jail: SourceJail, opts: Omit<SourceOptions, "key">): LineSource {
    return (backendFor(jail.backend) ?? files).create(key, { ...opts, key }, jail);
}
