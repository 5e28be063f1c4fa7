// The order fail2ban-regex -v lists date templates in. fail2ban moves a template that found a date up its search
// list ("bubbling"), so its verbose report shows that reshuffled list, not the configured one. jailwatch's own
// detector keeps a fixed order (it finds the same dates), so the report replays fail2ban's moves from the
// sequence of winning templates.

/** One template as fail2ban's detector keeps it. */
interface Slot {
    name: string;
    /** The template's own weight (100 for the line-start copies of the defaults, else 1). */
    base: number;
    hits: number;
    /** Whether it ever found a date: a run lasts less than fail2ban's 5 minute "long unused", so that is all. */
    used: boolean;
    /** Where its last match began in its line. */
    distance: number;
}

export class DateOrder {
    private readonly slots: Slot[];
    private readonly byName = new Map<string, Slot>();
    private firstUnused = 0;
    private lastIdx = Number.MAX_SAFE_INTEGER;

    constructor(templates: ReadonlyArray<{ name: string; weight?: number }>) {
        this.slots = templates.map(t => ({
            name: t.name,
            base: t.weight ?? 1,
            hits: 0,
            used: false,
            distance: 0x7fffffff,
        }));
        for (const s of this.slots) if (!this.byName.has(s.name)) this.byName.set(s.name, s);
    }

    /**
     * A line's date was found by template `name`, its match beginning at `distance`, the previous dated line's by
     * another template (repeat() counts the lines after it that the same template found).
     */
    hit(name: string, distance: number): void {
        const slot = this.byName.get(name);
        if (!slot) return;
        let i = this.slots.indexOf(slot);
        if (i === this.lastIdx) {
            this.repeat(1, distance);
            return;
        }
        slot.hits++;
        slot.used = true;
        slot.distance = distance;
        if (this.firstUnused === i) this.firstUnused++;
        if (i && i !== this.lastIdx) i = this.bubble(i);
        this.lastIdx = i;
    }

    /**
     * `n` more lines dated by the last template, the last of them at `distance`. fail2ban moves a template only
     * when another one found the line before, so these just add hits (no search per line needed).
     */
    repeat(n: number, distance: number): void {
        const i = this.lastIdx;
        const slot = this.slots[i];
        if (n === 0 || !slot) return;
        slot.hits += n;
        slot.distance = distance;
        if (this.firstUnused === i) this.firstUnused++;
    }

    private weight(s: Slot): number {
        return (s.hits * s.base) / Math.max(1, s.distance);
    }

    /** fail2ban's move: far up (to the first unused place, or halfway) if it outweighs the target, else by one. */
    private bubble(num: number): number {
        const T = this.slots;
        const t = T[num];
        const w = this.weight(t);
        let pos = this.firstUnused < num ? this.firstUnused : num >> 1;
        const movable = () => w > this.weight(T[pos]) || !T[pos].used;
        if (!movable()) {
            if (pos === num - 1) return num;
            pos = num - 1;
            if (!movable()) return num;
        }
        T.splice(num, 1);
        T.splice(pos, 0, t);
        while (this.firstUnused < T.length && T[this.firstUnused].hits) this.firstUnused++;
        return pos;
    }

    /** Every template with its hits, in fail2ban's final order. */
    list(): Array<[string, number]> {
        return this.slots.map(s => [s.name, s.hits]);
    }
}
