// What `backend = systemd[...]` and `journalmatch` ask for, and the journalctl command that reads it. Pure.
//
// journalmatch is written as journalctl takes matches: `FIELD=value` terms, `+` between alternatives; each line of
// the value is one more alternative (fail2ban adds every line as its own match group). Within a group, terms on
// different fields must all hold and terms on the same field are alternatives: journalctl's own rule, so passing
// the terms through gives fail2ban's result.

/** The journal a jail reads. */
export interface JournalSpec {
    /** `journalpath`: a directory of journal files (journalctl --directory); default: the system journal. */
    directory?: string;
    /** `journalfiles`: journal files or globs (journalctl --file); default: none. */
    files?: string[];
    /** `journalflags` (sd_journal_open flags) when given; default: system journal only, like fail2ban (4). */
    flags?: number;
    /** `namespace`: a journald namespace (journalctl --namespace); default: the default namespace. */
    namespace?: string;
    /** Match groups (OR between groups, journalctl semantics within one); empty: every entry. */
    matches: string[][];
}

/** Where reading starts: after a saved cursor, or at a time (epoch s). */
export type JournalStart = { cursor: string } | { since: number };

const KNOWN = new Set(["journalpath", "journalfiles", "journalflags", "namespace"]);
// sd_journal_open flags: LOCAL_ONLY 1, RUNTIME_ONLY 2, SYSTEM 4, CURRENT_USER 8. journalctl reads local journals
// by default and has --system/--user for the other two; RUNTIME_ONLY and OS_ROOT (16) it cannot express.
const FLAG_LOCAL = 1;
const FLAG_SYSTEM = 4;
const FLAG_USER = 8;

/** Splits words as shlex does for the simple cases journal matches use (quotes, backslash escapes). */
export function splitWords(s: string): string[] {
    const out: string[] = [];
    let cur = "";
    let has = false;
    let q: string | undefined;
    for (let i = 0; i < s.length; i++) {
        const c = s[i];
        if (q) {
            if (c === q) q = undefined;
            else if (c === "\\" && q === '"' && i + 1 < s.length) cur += s[++i];
            else cur += c;
        } else if (c === "'" || c === '"') {
            q = c;
            has = true;
        } else if (c === "\\" && i + 1 < s.length) {
            cur += s[++i];
            has = true;
        } else if (/\s/.test(c)) {
            if (has) out.push(cur);
            cur = "";
            has = false;
        } else {
            cur += c;
            has = true;
        }
    }
    if (q) throw new Error(`unterminated quote in ${JSON.stringify(s)}`);
    if (has) out.push(cur);
    return out;
}

/** journalmatch into groups; throws Error naming the bad term. */
export function parseJournalMatch(value: string | undefined): string[][] {
    const groups: string[][] = [];
    for (const line of (value ?? "").split("\n")) {
        if (line.trim() === "") continue;
        let group: string[] = [];
        for (const w of splitWords(line)) {
            if (w === "+") {
                if (group.length) groups.push(group);
                group = [];
                continue;
            }
            // A field name is upper case letters, digits and underscores, not starting with a digit (journald's rule).
            if (!/^[A-Z_][A-Z0-9_]*=/.test(w))
                throw new Error(`journalmatch: ${JSON.stringify(w)} is not FIELD=value (or "+")`);
            group.push(w);
        }
        if (group.length) groups.push(group);
    }
    return groups;
}

/** The `systemd[...]` arguments into a spec; throws Error naming the option it cannot honour. */
export function journalSpec(args: Record<string, string>, journalmatch: string | undefined): JournalSpec {
    for (const k of Object.keys(args))
        if (!KNOWN.has(k))
            throw new Error(
                `backend option ${JSON.stringify(k)} is not known (systemd takes journalpath, journalfiles, journalflags, namespace)`,
            );
    const spec: JournalSpec = { matches: parseJournalMatch(journalmatch) };
    if (args.journalpath !== undefined && args.journalpath.trim() !== "") spec.directory = args.journalpath.trim();
    if (args.journalfiles !== undefined) {
        const files = splitWords(args.journalfiles);
        if (files.length) spec.files = files;
    }
    if (spec.directory && spec.files)
        throw new Error("journalpath and journalfiles together: journalctl reads either a directory or files");
    if (args.journalflags !== undefined) {
        const t = args.journalflags.trim();
        const n = /^\d+$/.test(t) ? Number(t) : NaN;
        if (!Number.isInteger(n)) throw new Error(`journalflags ${JSON.stringify(t)} is not an integer`);
        const unsupported = n & ~(FLAG_LOCAL | FLAG_SYSTEM | FLAG_USER);
        if (unsupported)
            throw new Error(
                `journalflags ${n}: flag(s) ${unsupported} (RUNTIME_ONLY 2, OS_ROOT 16, ...) cannot be read through journalctl; jailwatch supports 0, 1 (local only), 4 (system), 8 (current user) and their sums`,
            );
        if ((spec.directory || spec.files) && n & (FLAG_SYSTEM | FLAG_USER))
            throw new Error(
                `journalflags ${n} (system/user journals) with journalpath or journalfiles: give one or the other`,
            );
        spec.flags = n;
    }
    if (args.namespace !== undefined && args.namespace.trim() !== "") {
        const ns = args.namespace.trim();
        if (!/^[A-Za-z0-9_.*-]+$/.test(ns)) throw new Error(`namespace ${JSON.stringify(ns)} is not a namespace name`);
        spec.namespace = ns;
    }
    return spec;
}

/** A stable name for the state file (the cursor is saved under it) and for sharing one reader among jails. */
export function journalKey(spec: JournalSpec): string {
    return `journal:${JSON.stringify([spec.directory ?? null, spec.files ?? null, spec.flags ?? null, spec.namespace ?? null, spec.matches])}`;
}

/** Arguments for `journalctl` reading `spec` from `start` and following it. */
export function journalctlArgs(spec: JournalSpec, start: JournalStart): string[] {
    // --all: fields over 4 KiB would otherwise come as null, and fail2ban matches long messages too.
    const a = ["--output=json", "--all", "--follow", "--no-tail", "--no-pager", "--quiet"];
    if (spec.directory) a.push(`--directory=${spec.directory}`);
    for (const f of spec.files ?? []) a.push(`--file=${f}`);
    // Without a path or files, fail2ban opens the system journal only (flags 4): user sessions are left out.
    const flags = spec.flags ?? (spec.directory || spec.files ? 0 : FLAG_SYSTEM);
    if (flags & FLAG_SYSTEM) a.push("--system");
    if (flags & FLAG_USER) a.push("--user");
    if (spec.namespace) a.push(`--namespace=${spec.namespace}`);
    // journalctl opens the system journal LOCAL_ONLY unless --merge; fail2ban asks for LOCAL_ONLY only with flag 1.
    // LOCAL_ONLY also ties following to the boot ID the reader sees: under ProtectKernelTunables (a fresh /proc)
    // in a container that is the host kernel's, not the container's that journald stamps, and --follow then
    // never shows a new entry (seen on systemd 252 in systemd-nspawn). Directories and files are never LOCAL_ONLY.
    if (!spec.directory && !spec.files && !(flags & FLAG_LOCAL)) a.push("--merge");
    if ("cursor" in start) a.push(`--after-cursor=${start.cursor}`);
    else a.push(`--since=@${Math.max(0, Math.floor(start.since))}`);
    spec.matches.forEach((g, i) => {
        if (i > 0) a.push("+");
        a.push(...g);
    });
    return a;
}
