# Varnish in front of Nginx on every web node (seed: Varnish :80 -> Nginx :8080 -> PHP-FPM :9000).
#
# Listen addresses are varnishd arguments, not VCL: the web step starts `varnishd -a http=:80`, and with a
# certificate `-a redirect=:80 -a tls=:81`. The load balancer's TLS listener (443) forwards to :81, so a request that
# arrived over TLS is told apart by the listener name and WordPress sees X-Forwarded-Proto: https. Plain :80 never
# trusts a client-sent X-Forwarded-Proto; with a certificate it only sends visitors to HTTPS.
#
# X-Forwarded-For: varnishd itself appends the peer address (client.ip) to whatever X-Forwarded-For the client sent,
# before vcl_recv runs. The network load balancer keeps the client's own source address, so the RIGHTMOST entry of
# the header Nginx logs is always the real client; anything to its left is client-controlled and must not be trusted
# (the jail's filter takes the rightmost entry). We do not set the header again here: that would add it twice.
vcl 4.1;

import std;

backend default {
    .host = "127.0.0.1";
    .port = "8080";
    .connect_timeout = 2s;
    .first_byte_timeout = 120s;
    .between_bytes_timeout = 60s;
    # /healthz runs PHP and checks the shared volume, so a node whose PHP-FPM or Gluster mount is broken goes sick
    # here first and, through the load balancer's health check on the same path, leaves the pool.
    .probe = {
        .url = "/healthz";
        # Sick after 3 of the last 5 probes failed or took over 3 s: about 6-10 s of a slow or dead backend. Until
        # then a slow backend is hidden by the 10 s grace of vcl_recv (the refresh runs in the background).
        .interval = 2s;
        .timeout = 3s;
        .window = 5;
        .threshold = 3;
        .initial = 3;
    }
}

sub vcl_recv {
    # Grace: how long past its TTL a cached page may still be served while a fresh copy is fetched in the
    # background. While the backend is healthy that is at most 10 s (a visitor never waits for a slow PHP render of
    # a page we hold, and nobody sees a page more than 10 s past its TTL); once the probe says the backend is sick
    # (PHP-FPM restarting, the volume stalled by a lost node), every page we still hold is served for up to the
    # hour objects are kept (beresp.grace below) instead of an error.
    if (std.healthy(req.backend_hint)) {
        set req.grace = 10s;
    }

    if (local.socket == "tls") {
        set req.http.X-Forwarded-Proto = "https";
    } else {
        unset req.http.X-Forwarded-Proto;
    }

    # Health checks always reach the backend: a cached "ok" would hide a dead PHP-FPM.
    if (req.url ~ "^/healthz(\?.*)?$") {
        return (pass);
    }

    # With a certificate, plain HTTP only redirects (logins and cookies never travel in clear text). The load
    # balancer's health checks on /healthz are answered above.
    if (local.socket == "redirect") {
        return (synth(301, "Moved Permanently"));
    }

    # Only GET and HEAD are ever cached; everything else (POST comments, logins, uploads) goes straight through.
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }

    # Login, XML-RPC, admin, cron, previews and REST writes are per-user or have side effects: never cached.
    # xmlrpc.php and wp-login.php are also what the jail counts, so every attempt must reach Nginx's log.
    if (req.url ~ "^/(xmlrpc\.php|wp-login\.php|wp-cron\.php|wp-admin|wp-json/)" || req.url ~ "[?&]preview=") {
        return (pass);
    }

    # Logged-in users, password-protected posts and commenters get personalised pages.
    if (req.http.Cookie ~ "(wordpress_logged_in_|wordpress_sec_|wp-postpass_|comment_author_|woocommerce_)") {
        return (pass);
    }

    # Any other cookie (analytics and the like) would make every anonymous page uncacheable: drop them.
    unset req.http.Cookie;
    return (hash);
}

sub vcl_backend_response {
    # Keep every object an hour past its TTL, for grace (vcl_recv limits it to 10 s while the backend is healthy).
    set beresp.grace = 1h;

    # Errors are never stored: a 5xx (Nginx says 503 while the shared volume is not mounted) would otherwise be
    # served from cache after the node has recovered. A background refresh that fails keeps the stale copy.
    if (beresp.status >= 500) {
        if (bereq.is_bgfetch) {
            return (abandon);
        }
        set beresp.uncacheable = true;
        set beresp.ttl = 1s;
        return (deliver);
    }

    # Pages for logged-in users or that set cookies are never stored.
    if (beresp.http.Set-Cookie || bereq.url ~ "^/(wp-admin|wp-login\.php|xmlrpc\.php)") {
        set beresp.uncacheable = true;
        set beresp.ttl = 120s;
        return (deliver);
    }

    # Static files change rarely (uploads keep their names); pages for two minutes unless WordPress says otherwise.
    if (bereq.url ~ "\.(css|js|png|jpe?g|gif|webp|svg|ico|woff2?)(\?.*)?$") {
        unset beresp.http.Set-Cookie;
        set beresp.ttl = 1d;
    }
    return (deliver);
}

sub vcl_deliver {
    if (obj.hits > 0) {
        set resp.http.X-Cache = "hit";
    } else {
        set resp.http.X-Cache = "miss";
    }
    unset resp.http.Via;
    unset resp.http.X-Varnish;
}

sub vcl_synth {
    if (resp.status == 301 && local.socket == "redirect") {
        set resp.http.Location = "https://" + regsub(req.http.Host, ":[0-9]+$", "") + req.url;
        set resp.body = "";
        return (deliver);
    }
}
