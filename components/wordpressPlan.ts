// The web tier's host steps as a pure plan: which script runs on which node, with which parameters, after what.
// WordPressTier maps it onto remote.Commands (values are Pulumi inputs); the lab runs it over SSH (values are
// strings). No Pulumi here, so both share exactly this plan.
import { HostStep, readScript } from "./hostStep";

/** Where the WordPress files come from. */
export type WordPressSource =
    /** Debian's `wordpress` package (files under `dir`, default /usr/share/wordpress). Works without internet. */
    | { kind: "debian"; dir?: string }
    /** A release tarball, checksum-verified before use (e.g. https://wordpress.org/wordpress-6.8.3.tar.gz). */
    | { kind: "tarball"; url: string; sha256: string };

export interface WordPressPlanArgs<V> {
    /** Node names, in order; the first one also completes the database install. */
    nodes: string[];
    /** Mount point of the shared Gluster volume, e.g. /var/www/html. */
    mountPoint: string;
    /** Steps each node's web steps wait for: its Gluster mount (step ids of the Gluster plan), by node name. */
    afterMount: Record<string, string[]>;
    /** Steps each node's package installation waits for (e.g. the Gluster install step, so two apt runs never overlap). */
    afterInstall?: Record<string, string[]>;
    source: WordPressSource;
    /** Database endpoint `host` or `host:port`. */
    dbHost: V | string;
    dbName: V | string;
    /** The master user: only the db-user step logs in with it, to create `dbUser`. */
    dbMasterUser: V | string;
    /** Secret: the master user's password (reaches only the db-user step, on its stdin). */
    dbMasterPassword: V | string;
    /** WordPress's own database user (privileges on `dbName` only), created by the db-user step. */
    dbUser: V | string;
    /** Secret: its password. */
    dbPassword: V | string;
    /** MySQL host pattern `dbUser` may log in from. Default `%` (on RDS the security group admits only the nodes). */
    dbUserHost?: V | string;
    /** Secret: eight values for WordPress's keys and salts, joined by single spaces. */
    salts: V | string;
    /** Fixed public URL (e.g. https://www.example.com); empty: each node answers under the Host it was asked by. */
    siteUrl: V | string;
    /** URL recorded as home/siteurl at install time (the site URL, or the load balancer's address). */
    installUrl: V | string;
    /**
     * The load balancer terminates TLS (a certificate): Varnish listens on :81 for it, plain HTTP redirects to
     * HTTPS, and WordPress forces TLS for logins and the admin. Default false: plain HTTP on :80 only.
     */
    tls?: boolean;
    siteTitle: string;
    adminUser: string;
    /** Secret. */
    adminPassword: V | string;
    adminEmail: string;
    /** Optional SQL dump (https:// URL or path on the first node) imported into an empty database. */
    sqlDumpUrl?: V | string;
    /** SHA-256 of the dump (64 hex digits); required with `sqlDumpUrl`, checked on the node before the import. */
    sqlDumpSha256?: string;
    /** Table prefix. Default `wp_`. */
    tablePrefix?: string;
    /** Varnish cache size (varnishd -s malloc,SIZE). Default 256m. */
    cacheSize?: string;
    /** PHP version of the FPM packages. Default 8.2 (Debian 12). */
    phpVersion?: string;
    /** More Debian packages for every node (e.g. php8.2-curl, php8.2-imagick). */
    extraPackages?: string[];
    /**
     * PHP-FPM pool size, computed on each node from its memory (scripts/web/php-fpm.sh):
     * max_children = (memory - reserveMib) / childMib, at most 8 per CPU, 4..64. Default { reserveMib: 768,
     * childMib: 64 }.
     */
    fpmSizing?: { reserveMib: number; childMib: number };
    /** Install scripts/web/php-tuning.ini (opcache, realpath cache) for PHP-FPM. Default true. */
    phpTuning?: boolean;
}

/** Default PHP-FPM sizing: see WordPressPlanArgs.fpmSizing. */
export const DEFAULT_FPM_SIZING = { reserveMib: 768, childMib: 64 };

/**
 * Debian packages the web tier needs on every node: the stack, PHP's MySQL and image (media thumbnails) modules,
 * the CLI for the install step, the MySQL client for SQL imports, and the modules WordPress's Site Health asks for
 * (below: why not curl). More with `extraPackages`.
 */
export function webPackages(phpVersion: string, source: WordPressSource, extra: string[] = []): string[] {
    const pkgs = [
        "varnish",
        "nginx",
        `php${phpVersion}-fpm`,
        `php${phpVersion}-cli`,
        `php${phpVersion}-mysql`,
        `php${phpVersion}-gd`,
        `php${phpVersion}-opcache`,
        // What WordPress's Site Health asks for beyond the core: without ext/xml every XML-RPC call (the mobile app,
        // Jetpack, pingbacks) fails to parse, and feeds break; mbstring, zip and intl for text, plugin and theme
        // updates, and translations. Not curl: WordPress's HTTP API works without it, and with it a node that cannot
        // reach api.wordpress.org (a private subnet, the lab) keeps wp-admin waiting over 30 s on its update checks.
        // Add it with extraPackages where the nodes have a route out.
        `php${phpVersion}-xml`,
        `php${phpVersion}-mbstring`,
        `php${phpVersion}-zip`,
        `php${phpVersion}-intl`,
        "mariadb-client",
        "curl",
        ...extra,
    ];
    // Debian ships WordPress's default theme separately; without a theme every page is empty.
    if (source.kind === "debian") pkgs.push("wordpress", "wordpress-theme-twentytwentythree");
    return pkgs;
}

/** WordPress lives one level below the mount point; the lock/marker directory beside it is never served. */
export function webRootOf(mountPoint: string): string {
    return `${mountPoint.replace(/\/+$/, "")}/wordpress`;
}
export function stateDirOf(mountPoint: string): string {
    return `${mountPoint.replace(/\/+$/, "")}/.ha-wordpress`;
}

/** Step ids, for other plans and tests. */
export const webStepIds = {
    packages: (node: string) => `web-packages-${node}`,
    phpFpm: (node: string) => `php-fpm-${node}`,
    nginx: (node: string) => `nginx-${node}`,
    varnish: (node: string) => `varnish-${node}`,
    wordpress: (node: string) => `wordpress-${node}`,
    /** WordPress's own database user, made with the master user (first node). */
    dbUser: "db-user",
    site: "wordpress-site",
};

/** Config files shipped under scripts/web/, handed to the steps as parameters (one copy, no retyping). */
export function webConfigFiles(): { vcl: string; nginxSite: string; fpmPool: string; healthz: string; phpIni: string } {
    return {
        vcl: readScript("web/varnish.vcl"),
        nginxSite: readScript("web/nginx-site.conf"),
        fpmPool: readScript("web/php-fpm-pool.conf"),
        healthz: readScript("web/healthz.php"),
        phpIni: readScript("web/php-tuning.ini"),
    };
}

export function wordpressPlan<V>(args: WordPressPlanArgs<V>): HostStep<V | string>[] {
    if (args.nodes.length === 0) throw new Error("wordpressPlan: at least one node is required");
    if (!args.mountPoint.startsWith("/"))
        throw new Error(`wordpressPlan: mountPoint must be absolute, got '${args.mountPoint}'`);
    if (args.source.kind === "tarball" && !/^[0-9a-f]{64}$/.test(args.source.sha256)) {
        throw new Error("wordpressPlan: source.sha256 must be the tarball's SHA-256 (64 hex digits)");
    }
    if (args.sqlDumpUrl !== undefined && args.sqlDumpUrl !== "" && !/^[0-9a-f]{64}$/.test(args.sqlDumpSha256 ?? "")) {
        throw new Error("wordpressPlan: sqlDumpSha256 (64 hex digits) is required with sqlDumpUrl");
    }
    const php = args.phpVersion ?? "8.2";
    const prefix = args.tablePrefix ?? "wp_";
    const webRoot = webRootOf(args.mountPoint);
    const files = webConfigFiles();
    const ids = webStepIds;
    const sizing = args.fpmSizing ?? DEFAULT_FPM_SIZING;
    for (const [k, v] of Object.entries(sizing)) {
        if (!Number.isInteger(v) || v < (k === "childMib" ? 1 : 0))
            throw new Error(
                `wordpressPlan: fpmSizing.${k} must be a whole number of MiB${k === "childMib" ? " > 0" : ""}, got ${v}`,
            );
    }
    const steps: HostStep<V | string>[] = [];

    for (const node of args.nodes) {
        const mounted = args.afterMount[node];
        if (!mounted) throw new Error(`wordpressPlan: afterMount has no entry for node ${node}`);
        steps.push({
            id: ids.packages(node),
            host: node,
            script: "web/packages.sh",
            params: { PACKAGES: webPackages(php, args.source, args.extraPackages).join(" ") },
            dependsOn: [...(args.afterInstall?.[node] ?? [])],
        });
        steps.push({
            id: ids.phpFpm(node),
            host: node,
            script: "web/php-fpm.sh",
            params: {
                POOL_CONF: files.fpmPool,
                PHP_VERSION: php,
                PHP_INI: args.phpTuning === false ? "" : files.phpIni,
                FPM_RESERVE_MIB: String(sizing.reserveMib),
                FPM_CHILD_MIB: String(sizing.childMib),
            },
            dependsOn: [ids.packages(node)],
        });
        // Nginx serves from the volume: it waits for the mount so it never starts over an empty local directory.
        steps.push({
            id: ids.nginx(node),
            host: node,
            script: "web/nginx.sh",
            params: { SITE_CONF: files.nginxSite, WEB_ROOT: webRoot, HEALTHZ_PHP: files.healthz },
            dependsOn: [ids.phpFpm(node), ...mounted],
        });
        steps.push({
            id: ids.wordpress(node),
            host: node,
            script: "web/wordpress.sh",
            params: {
                MOUNT_POINT: args.mountPoint,
                WEB_ROOT: webRoot,
                STATE_DIR: stateDirOf(args.mountPoint),
                SOURCE: args.source.kind,
                SOURCE_DIR: args.source.kind === "debian" ? (args.source.dir ?? "/usr/share/wordpress") : "",
                TARBALL_URL: args.source.kind === "tarball" ? args.source.url : "",
                TARBALL_SHA256: args.source.kind === "tarball" ? args.source.sha256 : "",
                DB_HOST: args.dbHost,
                DB_NAME: args.dbName,
                DB_USER: args.dbUser,
                SITE_URL: args.siteUrl,
                TABLE_PREFIX: prefix,
                FORCE_SSL_ADMIN: args.tls ? "1" : "0",
            },
            secrets: { DB_PASSWORD: args.dbPassword, WP_SALTS: args.salts },
            dependsOn: [ids.packages(node), ...mounted],
        });
        steps.push({
            id: ids.varnish(node),
            host: node,
            script: "web/varnish.sh",
            // Port 81 exists only behind the TLS listener; without a certificate nothing listens there.
            params: {
                VCL: files.vcl,
                HTTP_PORT: "80",
                TLS_PORT: args.tls ? "81" : "",
                HTTPS_REDIRECT: args.tls ? "1" : "0",
                CACHE_SIZE: args.cacheSize ?? "256m",
            },
            dependsOn: [ids.nginx(node)],
        });
    }

    const first = args.nodes[0];
    steps.push({
        id: ids.dbUser,
        host: first,
        script: "web/db-user.sh",
        params: {
            DB_HOST: args.dbHost,
            DB_NAME: args.dbName,
            DB_MASTER_USER: args.dbMasterUser,
            DB_APP_USER: args.dbUser,
            DB_APP_HOST: args.dbUserHost ?? "%",
        },
        secrets: { DB_MASTER_PASSWORD: args.dbMasterPassword, DB_APP_PASSWORD: args.dbPassword },
        dependsOn: [ids.packages(first)],
    });
    steps.push({
        id: ids.site,
        host: first,
        script: "web/wp-site.sh",
        params: {
            WEB_ROOT: webRoot,
            DB_HOST: args.dbHost,
            DB_NAME: args.dbName,
            DB_USER: args.dbUser,
            INSTALL_URL: args.installUrl,
            SITE_TITLE: args.siteTitle,
            ADMIN_USER: args.adminUser,
            ADMIN_EMAIL: args.adminEmail,
            TABLE_PREFIX: prefix,
            SQL_DUMP_URL: args.sqlDumpUrl ?? "",
            SQL_DUMP_SHA256: args.sqlDumpSha256 ?? "",
        },
        secrets: { DB_PASSWORD: args.dbPassword, ADMIN_PASSWORD: args.adminPassword },
        dependsOn: [...args.nodes.map(ids.wordpress), ids.phpFpm(first), ids.dbUser],
    });
    return steps;
}
