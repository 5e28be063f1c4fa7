// The web stack of one server host for the end-to-end test: Varnish :80 -> Nginx :8080 -> PHP-FPM :9000 and
// sshd, configured from the very files the WordPressTier installs (scripts/web/), plus jailwatch with the shipped
// configuration (watcher/config) and the nftables action.

import { ChildProcess, execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Namespace, run, startService } from "./netns";

export const REPO = path.resolve(__dirname, "../../..");
export const WEB = path.join(REPO, "scripts/web");
export const WEB_ROOT = "/var/www/html";

export function jailwatchCommand(): string[] {
    const sea = path.join(REPO, "dist/jailwatch");
    if (fs.existsSync(sea)) return [sea];
    const js = path.join(REPO, "dist/jailwatch.js");
    if (fs.existsSync(js)) return [process.execPath, js];
    throw new Error("dist/jailwatch(.js) missing: run `npm run build` first");
}

/** Private mounts of the server host: logs, web root, the health script's dir and /run are its own. */
export function prepareServerFiles(ns: Namespace, work: string): void {
    // /usr/local/lib/ha-wordpress does not exist on this machine: its parent is covered (nothing there is needed).
    for (const dir of ["/var/log/nginx", "/var/www", "/usr/local/lib", "/run"])
        run(ns, ["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", dir]);
    run(ns, ["mkdir", "-p", WEB_ROOT, "/run/sshd", "/usr/local/lib/ha-wordpress"]);
    run(
        ns,
        ["sh", "-c", `cat > ${WEB_ROOT}/xmlrpc.php`],
        '<?php header("Content-Type: text/xml"); echo "<?xml version=\\"1.0\\"?><methodResponse/>\\n";\n',
    );
    run(ns, ["sh", "-c", `cat > ${WEB_ROOT}/index.php`], '<?php echo "hello\\n";\n');
    // healthz.php only checks that WordPress's config is on the volume.
    run(ns, ["sh", "-c", `cat > ${WEB_ROOT}/wp-config.php`], "<?php // test stand-in\n");
    run(ns, ["cp", path.join(WEB, "healthz.php"), "/usr/local/lib/ha-wordpress/healthz.php"]);

    // The same substitution scripts/web/nginx.sh makes; the rest of the site file is used as it is.
    const site = fs.readFileSync(path.join(WEB, "nginx-site.conf"), "utf8").split("@@WEB_ROOT@@").join(WEB_ROOT);
    fs.writeFileSync(path.join(work, "site.conf"), site);
    fs.writeFileSync(
        path.join(work, "nginx.conf"),
        `user www-data;\nworker_processes 1;\npid ${work}/nginx.pid;\nerror_log ${work}/nginx-error.log;\n` +
            `events { worker_connections 256; }\nhttp {\n  include /etc/nginx/mime.types;\n  default_type application/octet-stream;\n  include ${work}/site.conf;\n}\n`,
    );
    // The shipped pool with the sizes the php-fpm step would choose for a small host (it fills them from memory).
    const pool = fs
        .readFileSync(path.join(WEB, "php-fpm-pool.conf"), "utf8")
        .replace(/@@MAX_CHILDREN@@/g, "4")
        .replace(/@@START_SERVERS@@/g, "2")
        .replace(/@@MIN_SPARE@@/g, "2")
        .replace(/@@MAX_SPARE@@/g, "2");
    fs.writeFileSync(path.join(work, "php-fpm-pool.conf"), pool);
    fs.writeFileSync(
        path.join(work, "php-fpm.conf"),
        `[global]\npid = ${work}/php-fpm.pid\nerror_log = ${work}/php-fpm.log\ndaemonize = no\ninclude = ${path.join(work, "php-fpm-pool.conf")}\n`,
    );
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(work, "host_key")]);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(work, "client_key")]);
    fs.copyFileSync(path.join(work, "client_key.pub"), path.join(work, "authorized_keys"));
}

export interface Services {
    phpfpm: ChildProcess;
    nginx: ChildProcess;
    varnish: ChildProcess;
    sshd: ChildProcess;
}

export function startWebStack(ns: Namespace, work: string, addr: string): Services {
    const log = (n: string) => path.join(work, `${n}.out`);
    const phpfpm = startService(ns, ["php-fpm8.2", "-F", "-y", path.join(work, "php-fpm.conf")], log("php-fpm"));
    const nginx = startService(ns, ["nginx", "-c", path.join(work, "nginx.conf"), "-g", "daemon off;"], log("nginx"));
    const varnish = startService(
        ns,
        [
            "varnishd",
            "-F",
            "-a",
            `http=${addr}:80`,
            "-f",
            path.join(WEB, "varnish.vcl"),
            "-n",
            path.join(work, "varnish"),
            "-s",
            "malloc,32m",
        ],
        log("varnish"),
    );
    const sshd = startService(
        ns,
        [
            "/usr/sbin/sshd",
            "-D",
            "-e",
            "-f",
            "/dev/null",
            "-o",
            `ListenAddress=${addr}:22`,
            "-o",
            `HostKey=${path.join(work, "host_key")}`,
            "-o",
            `AuthorizedKeysFile=${path.join(work, "authorized_keys")}`,
            "-o",
            "StrictModes=no",
            "-o",
            "PidFile=none",
            "-o",
            "UsePAM=no",
            "-o",
            "PermitRootLogin=prohibit-password",
        ],
        log("sshd"),
    );
    return { phpfpm, nginx, varnish, sshd };
}

export function startJailwatch(ns: Namespace, work: string): ChildProcess {
    return startService(
        ns,
        [
            ...jailwatchCommand(),
            "server",
            "-f",
            "-c",
            path.join(REPO, "watcher/config"),
            "-s",
            path.join(work, "jw.sock"),
            "--state",
            path.join(work, "state"),
            "--loglevel",
            "debug",
        ],
        path.join(work, "jailwatch.out"),
    );
}
