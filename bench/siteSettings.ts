// Which tuning setting moves the volume/local ratio most: the site bench's "settings" part takes one setting (or
// group of settings that only make sense together) back to its default on the running lab, measures the uncached
// page, and puts it back. Each entry names what is reverted and how; the deployed values come from the same
// sources the host steps use (PHP_VOLUME_TUNING, scripts/web/php-tuning.ini), so the bench never tunes by itself.
import { PHP_VOLUME_TUNING } from "../components/glusterPlan";

/** A setting taken back to its default for one measurement. */
export interface Reverted {
    /** What the table row says, e.g. "nl-cache (negative lookups)". */
    name: string;
    /** Gluster volume options set to their default (`volume reset`), or to a value where the default is ours. */
    gluster?: ReadonlyArray<readonly [string, string | "reset"]>;
    /** php.ini lines for PHP-FPM on every node (a conf.d file read after ours), removed afterwards. */
    php?: string;
}

const options = (prefix: RegExp) => PHP_VOLUME_TUNING.filter(([o]) => prefix.test(o)).map(([o]) => o);
const reset = (names: string[]) => names.map(n => [n, "reset"] as const);

/** PHP 8.2's defaults for what scripts/web/php-tuning.ini raises. */
const PHP_DEFAULT_REVALIDATE = "opcache.revalidate_freq = 2\n";
const PHP_DEFAULT_REALPATH = "realpath_cache_ttl = 120\n";
const PHP_DEFAULT_OPCACHE_SIZE = "opcache.max_accelerated_files = 10000\nopcache.interned_strings_buffer = 8\n";
const PHP_DEFAULT_FILE_OVERRIDE = "opcache.enable_file_override = 0\n";

/**
 * The settings measured one at a time, then all of them at once. Gluster groups follow the translators: md-cache's
 * options act only together, nl-cache's likewise; the upcall switch (features.cache-invalidation) stays on when only
 * one cache is reverted, since the other cache relies on it.
 */
export const REVERTED: ReadonlyArray<Reverted> = [
    {
        name: "md-cache: 600 s stat cache with invalidation -> 1 s",
        gluster: reset(["performance.md-cache-timeout", "performance.cache-invalidation"]),
    },
    { name: "nl-cache (negative lookups) -> off", gluster: reset(options(/^performance\.nl-cache/)) },
    {
        name: "all client caches and upcalls -> off",
        gluster: [...reset(options(/cache-invalidation|md-cache|nl-cache/)), ["performance.stat-prefetch", "off"]],
    },
    { name: "readdir-ahead -> off", gluster: [["performance.readdir-ahead", "off"]] },
    { name: "event threads 3 -> 2", gluster: reset(options(/event-threads$/)) },
    { name: "inode-lru-limit 200000 -> 16384", gluster: reset(options(/inode-lru-limit/)) },
    { name: "opcache.revalidate_freq 10 s -> 2 s", php: PHP_DEFAULT_REVALIDATE },
    { name: "realpath_cache_ttl 600 s -> 120 s", php: PHP_DEFAULT_REALPATH },
    { name: "opcache file slots and string buffer -> defaults", php: PHP_DEFAULT_OPCACHE_SIZE },
    { name: "opcache.enable_file_override -> off", php: PHP_DEFAULT_FILE_OVERRIDE },
];

/** Every setting above reverted at once: what the tuning as a whole is worth. */
export const ALL_REVERTED: Reverted = {
    name: "all of the above",
    gluster: [...new Map(REVERTED.flatMap(r => r.gluster ?? []).map(([o, v]) => [o, v] as const)).entries()],
    php: REVERTED.map(r => r.php ?? "").join(""),
};

/** The deployed value of each gluster option a reverted setting touches (from PHP_VOLUME_TUNING). */
export function deployedValue(option: string): string {
    const v = PHP_VOLUME_TUNING.find(([o]) => o === option)?.[1];
    if (v === undefined) throw new Error(`bench: ${option} is not in PHP_VOLUME_TUNING`);
    return v;
}

/** Shell text for node 1: gluster options set to `value` (or reset), each a volume set/reset. */
export function glusterCommands(volume: string, opts: ReadonlyArray<readonly [string, string]>): string {
    return opts
        .map(([o, v]) =>
            v === "reset"
                ? `gluster --mode=script volume reset ${volume} ${o} >/dev/null`
                : `gluster --mode=script volume set ${volume} ${o} ${v} >/dev/null`,
        )
        .join(" && ");
}
