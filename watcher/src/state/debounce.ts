// The debounced save of the bans file: with 100,000 bans one save is a few MB, so a burst of bans is written once,
// at most `delayMs` after its first change, instead of once per ban. `dirty` tells whether something changed since
// the last save that worked: the daemon saves a log position only once the bans of the lines before it are on disk.

export interface DebouncedSaveHooks {
    /** Writes the file; false when it could not (the write reports why itself). Dirty state then stays dirty. */
    write(): boolean;
    /** Whether changes should schedule a save (false while the server is not running: stop saves anyway). */
    active(): boolean;
}

export class DebouncedSave {
    private timer: NodeJS.Timeout | undefined;
    private changed = false;

    constructor(
        private readonly hooks: DebouncedSaveHooks,
        readonly delayMs: number,
    ) {}

    /** True while a change has not reached the disk. */
    get dirty(): boolean {
        return this.changed;
    }

    /** Something changed: save within delayMs (one timer for a whole burst). */
    mark(): void {
        this.changed = true;
        if (this.timer || !this.hooks.active()) return;
        this.timer = setTimeout(() => {
            this.timer = undefined;
            this.flush();
        }, this.delayMs);
    }

    /** Saves now, changed or not, and cancels the pending timer. */
    flush(): void {
        this.cancel();
        if (this.hooks.write()) this.changed = false;
    }

    /** Drops the pending timer (a later mark() or flush() still saves). */
    cancel(): void {
        if (this.timer) clearTimeout(this.timer);
        this.timer = undefined;
    }
}
