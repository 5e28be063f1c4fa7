// The server's persistent state: bans with their expiry, repeat-offender history and log positions. Two files in the
// state dir, each replaced atomically: bans.json (changes on bans) and positions.json (changes with every batch of
// lines, written at most every few seconds). A file that cannot be read back is renamed aside with a clear error
// and the server starts with that part empty.

import * as fs from "fs";
import * as path from "path";
import type { SourcePosition } from "../follow/source";
import { writeFileAtomic } from "./atomic";

export const STATE_VERSION = 1;

/** One ban as persisted. `end` is null for a permanent ban (JSON has no Infinity). */
export interface PersistedBan {
    jail: string;
    ip: string;
    start: number;
    end: number | null;
    banCount: number;
}

/** How often an address was banned, per jail; drives bantime.increment across restarts. */
export interface OffenderRecord {
    count: number;
    /** Start and end (epoch seconds; end null = permanent) of the latest ban. */
    lastStart: number;
    lastEnd: number | null;
}

export interface BansState {
    bans: PersistedBan[];
    /** jail -> address -> record */
    history: Record<string, Record<string, OffenderRecord>>;
    /** Bans an operator lifted before their end: kept until that end so a peer cannot hand them back. */
    lifted?: PersistedBan[];
}

export interface PositionsState {
    /** log path (or journal key) -> position: an offset in a file, or the journal's cursor */
    positions: Record<string, SourcePosition>;
}

export class StateError extends Error {
    constructor(
        readonly file: string,
        message: string,
    ) {
        super(`${file}: ${message}`);
        this.name = "StateError";
    }
}

// On disk, bans are rows grouped by jail: [ip, start, end|null, banCount]. That keeps 100,000 bans at a few MB and
// parses quickly at start.
type BanRow = [string, number, number | null, number];
interface BansFile {
    version: number;
    bans: Record<string, BanRow[]>;
    history: Record<string, Record<string, [number, number, number | null]>>;
    lifted?: Record<string, BanRow[]>;
}
interface PositionsFile {
    version: number;
    positions: Record<string, SourcePosition>;
}

export function encodeBans(state: BansState): string {
    const bans: Record<string, BanRow[]> = {};
    for (const b of state.bans) (bans[b.jail] ??= []).push([b.ip, b.start, b.end, b.banCount]);
    const history: BansFile["history"] = {};
    for (const [jail, ips] of Object.entries(state.history)) {
        const h: Record<string, [number, number, number | null]> = (history[jail] = {});
        for (const [ip, r] of Object.entries(ips)) h[ip] = [r.count, r.lastStart, r.lastEnd];
    }
    const lifted: Record<string, BanRow[]> = {};
    for (const b of state.lifted ?? []) (lifted[b.jail] ??= []).push([b.ip, b.start, b.end, b.banCount]);
    return JSON.stringify({
        version: STATE_VERSION,
        bans,
        history,
        ...(state.lifted?.length ? { lifted } : {}),
    } satisfies BansFile);
}

const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function checkVersion(file: string, v: Record<string, unknown>): void {
    if (v.version !== STATE_VERSION)
        throw new StateError(
            file,
            `unsupported state version ${JSON.stringify(v.version)} (expected ${STATE_VERSION})`,
        );
}

function parseJson(file: string, text: string): Record<string, unknown> {
    let v: unknown;
    try {
        v = JSON.parse(text);
    } catch (e) {
        throw new StateError(file, `not valid JSON (${(e as Error).message})`);
    }
    if (!isObj(v)) throw new StateError(file, "expected a JSON object");
    checkVersion(file, v);
    return v;
}

export function decodeBans(text: string, file = "bans.json"): BansState {
    const v = parseJson(file, text);
    if (!isObj(v.bans)) throw new StateError(file, "`bans` must be an object of jail -> rows");
    if (!isObj(v.history)) throw new StateError(file, "`history` must be an object of jail -> addresses");
    const bans: PersistedBan[] = [];
    for (const [jail, rows] of Object.entries(v.bans)) {
        if (!Array.isArray(rows)) throw new StateError(file, `bans of jail ${jail} must be an array`);
        rows.forEach((r: unknown, i) => {
            if (
                !Array.isArray(r) ||
                typeof r[0] !== "string" ||
                !isNum(r[1]) ||
                !(r[2] === null || isNum(r[2])) ||
                !isNum(r[3])
            ) {
                throw new StateError(file, `ban #${i + 1} of jail ${jail} is malformed: ${JSON.stringify(r)}`);
            }
            bans.push({ jail, ip: r[0], start: r[1], end: r[2] as number | null, banCount: r[3] });
        });
    }
    const history: BansState["history"] = {};
    for (const [jail, ips] of Object.entries(v.history)) {
        if (!isObj(ips)) throw new StateError(file, `history of jail ${jail} must be an object`);
        const h: Record<string, OffenderRecord> = (history[jail] = {});
        for (const [ip, r] of Object.entries(ips)) {
            if (!Array.isArray(r) || !isNum(r[0]) || !isNum(r[1]) || !(r[2] === null || isNum(r[2]))) {
                throw new StateError(file, `history of ${ip} in jail ${jail} is malformed`);
            }
            h[ip] = { count: r[0], lastStart: r[1], lastEnd: r[2] as number | null };
        }
    }
    // Optional (older files have none); an unreadable entry only loses that entry's memory of an unban.
    const lifted: PersistedBan[] = [];
    if (isObj(v.lifted)) {
        for (const [jail, rows] of Object.entries(v.lifted)) {
            if (!Array.isArray(rows)) continue;
            for (const r of rows)
                if (Array.isArray(r) && typeof r[0] === "string" && isNum(r[1]) && (r[2] === null || isNum(r[2])))
                    lifted.push({ jail, ip: r[0], start: r[1], end: r[2] as number | null, banCount: 0 });
        }
    }
    return { bans, history, ...(lifted.length ? { lifted } : {}) };
}

export function encodePositions(state: PositionsState): string {
    return JSON.stringify({ version: STATE_VERSION, positions: state.positions } satisfies PositionsFile);
}

export function decodePositions(text: string, file = "positions.json"): PositionsState {
    const v = parseJson(file, text);
    if (!isObj(v.positions)) throw new StateError(file, "`positions` must be an object of path -> position");
    const positions: Record<string, SourcePosition> = {};
    for (const [p, pos] of Object.entries(v.positions)) {
        if (isObj(pos) && typeof pos.cursor === "string") {
            if (pos.cursor === "" || !isNum(pos.time)) throw new StateError(file, `position of ${p} is malformed`);
            positions[p] = { cursor: pos.cursor, time: pos.time };
            continue;
        }
        if (!isObj(pos) || !isNum(pos.dev) || !isNum(pos.ino) || !isNum(pos.offset) || pos.offset < 0) {
            throw new StateError(file, `position of ${p} is malformed`);
        }
        positions[p] = {
            dev: pos.dev,
            ino: pos.ino,
            offset: pos.offset,
            head: typeof pos.head === "string" ? pos.head : undefined,
            headLen: isNum(pos.headLen) ? pos.headLen : undefined,
        };
    }
    return { positions };
}

export interface LoadResult<T> {
    value: T;
    /** Set when the file was unreadable: the message, and where the bad file was moved. */
    error?: string;
    keptAs?: string;
}

export class StateStore {
    readonly bansFile: string;
    readonly positionsFile: string;

    constructor(readonly dir: string) {
        this.bansFile = path.join(dir, "bans.json");
        this.positionsFile = path.join(dir, "positions.json");
    }

    /** Creates the state dir (0700) if missing. */
    ensureDir(): void {
        fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    }

    loadBans(): LoadResult<BansState> {
        return this.load(this.bansFile, decodeBans, { bans: [], history: {} });
    }

    loadPositions(): LoadResult<PositionsState> {
        return this.load(this.positionsFile, decodePositions, { positions: {} });
    }

    saveBans(state: BansState): void {
        this.ensureDir();
        writeFileAtomic(this.bansFile, encodeBans(state));
    }

    savePositions(state: PositionsState): void {
        this.ensureDir();
        writeFileAtomic(this.positionsFile, encodePositions(state));
    }

    private load<T>(file: string, decode: (text: string, file: string) => T, empty: T): LoadResult<T> {
        let text: string;
        try {
            text = fs.readFileSync(file, "utf8");
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code === "ENOENT") return { value: empty };
            throw new StateError(file, `cannot read: ${(e as Error).message}`);
        }
        try {
            return { value: decode(text, file) };
        } catch (e) {
            if (!(e instanceof StateError)) throw e;
            const keptAs = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
            fs.renameSync(file, keptAs);
            return { value: empty, error: e.message, keptAs };
        }
    }
}
