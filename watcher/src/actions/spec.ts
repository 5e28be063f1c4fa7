// fail2ban's `action` value: one action per line, each `name` or `name[key=value, key="value", ...]`, the
// brackets possibly continued over lines. Pure parsing; which actions can run is decided by the settings stage.

export interface ActionSpec {
    name: string;
    args: Record<string, string>;
}

/** Splits an `action` value into its actions; throws Error with a reason for unbalanced brackets or quotes. */
export function parseActionSpecs(text: string): ActionSpec[] {
    const out: ActionSpec[] = [];
    let i = 0;
    const n = text.length;
    while (i < n) {
        while (i < n && /\s/.test(text[i])) i++;
        if (i >= n) break;
        const start = i;
        while (i < n && !/[\s[]/.test(text[i])) i++;
        const name = text.slice(start, i);
        const args: Record<string, string> = {};
        // `name[a=1][b=2]`: later groups add to (and override) earlier ones, as an interpolated `%(action_)s[...]` does.
        for (;;) {
            let j = i;
            while (j < n && (text[j] === " " || text[j] === "\t")) j++;
            if (text[j] !== "[") break;
            {
                i = j + 1;
                for (;;) {
                    while (i < n && /[\s,]/.test(text[i])) i++;
                    if (i >= n) throw new Error(`action ${name}: "[" without "]"`);
                    if (text[i] === "]") {
                        i++;
                        break;
                    }
                    const k0 = i;
                    while (i < n && !/[=\],]/.test(text[i])) i++;
                    const key = text.slice(k0, i).trim();
                    if (text[i] !== "=")
                        throw new Error(`action ${name}: argument ${JSON.stringify(key)} has no value`);
                    i++;
                    while (i < n && (text[i] === " " || text[i] === "\t")) i++;
                    let value: string;
                    const q = text[i];
                    if (q === '"' || q === "'") {
                        const end = text.indexOf(q, i + 1);
                        if (end < 0) throw new Error(`action ${name}: unterminated quote in ${key}`);
                        value = text.slice(i + 1, end);
                        i = end + 1;
                    } else {
                        const v0 = i;
                        while (i < n && text[i] !== "," && text[i] !== "]") i++;
                        value = text.slice(v0, i).trim();
                    }
                    args[key] = value;
                }
            }
        }
        out.push({ name, args });
    }
    return out;
}
