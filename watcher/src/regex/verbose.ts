// What `jailwatch regex -v` adds to the report: each failregex's hits (id and time) and the prefregex's groups
// per matched line (the full date template list comes from run.ts's DateOrder, kept anyway). Built only when -v
// is given: the normal run keeps no per-hit data at all.

import { normalizeIP } from "../jail/ipaddr";
import type { Filter, LineResult } from "../types";
import { localTimeString, pyDictOfStr } from "./pyrepr";
import type { HostIds } from "./hostids";

/** The part of CompiledFilter the verbose report uses (absent on other Filter implementations). */
interface Inspectable {
    watchPrefregex?(cb: (groups: Array<[string, string | undefined]>) => void): void;
}

export interface VerboseData {
    /** Per failregex: its hit lines, already formatted. */
    failHitLines: string[][];
    /** The prefregex's group dicts, at most `maxlines` of them and then "...". */
    prefGroups: string[];
}

export class VerboseCollector {
    private readonly data: VerboseData;
    private readonly filter: Filter & Inspectable;
    private readonly now = Date.now() / 1000;

    constructor(
        filter: Filter,
        maxlines: number,
        private readonly hostIds: HostIds,
    ) {
        this.filter = filter as Filter & Inspectable;
        this.data = { failHitLines: filter.definition.failregex.map(() => []), prefGroups: [] };
        const pg = this.data.prefGroups;
        // fail2ban-regex keeps one dict past the limit, shown as "..." (the limit is -L, 20 by default).
        this.filter.watchPrefregex?.(groups => {
            if (pg.length < maxlines) pg.push(pyDictOfStr(groups));
            else if (pg.length === maxlines) pg.push("...");
        });
    }

    /** A counted failregex hit: the line's result `r` and, with every regex tried, the others that matched. */
    hits(r: LineResult): void {
        // fail2ban flags a hit "(multiple regex matched)" once two real failures of the line came before it.
        let failures = 0;
        const one = (h: LineResult) => {
            const i = h.failregexIndex;
            if (i === undefined) return;
            const when = localTimeString(h.time ?? this.now);
            // fail2ban records a failure per address a host name resolves to.
            for (const id of this.ids(h)) {
                this.data.failHitLines[i].push(`    ${id}  ${when}${failures > 1 ? " (multiple regex matched)" : ""}`);
                if (!h.noFail || h.pending) failures++;
            }
        };
        one(r);
        for (const h of r.alsoHits ?? []) one(h);
    }

    private ids(h: LineResult): string[] {
        if (h.pending) return ["None"];
        return this.hostIds.of(h)?.map(idText) ?? [idText(h.fid ?? h.host)];
    }

    finish(): VerboseData {
        return this.data;
    }
}

/**
 * An id as fail2ban prints it: an IPv6 address in its canonical form (a mapped IPv4 one as IPv4), other text as it
 * is (IPv4 too: fail2ban keeps "192.030.0.6", which Python's parser refuses, as text).
 */
function idText(id: string | undefined): string {
    if (id === undefined) return "None";
    return id.includes(":") ? (normalizeIP(id) ?? id) : id;
}
