// Prometheus text exposition (format 0.0.4) of the daemon's counters and state, built on each scrape.
// Names follow Prometheus's conventions: `jailwatch_` prefix, snake_case, `_total` on counters, base units (bytes).

import type { JailCounters, PeerCounters } from "./counters";

/** What a scrape reads from the daemon (kept narrow so the renderer has no dependency on the server class). */
export interface MetricsSnapshot {
    jails: Array<{
        name: string;
        counters: JailCounters;
        failures: number;
        currentBans: number;
        totalBans: number;
        tracked: number;
    }>;
    /** Followed files: bytes in the file not yet read (size - position); undefined when the file is missing. */
    files: Array<{ path: string; lagBytes: number | undefined }>;
    peers?: PeerCounters;
    firewallErrors: number;
    stateSaveErrors: number;
    /** 1 while the last state save failed (read-only or full state directory). */
    stateSaveFailing: boolean;
}

/** Escapes a label value as the exposition format asks (backslash, quote, newline). */
export function labelValue(v: string): string {
    return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

class Writer {
    private out: string[] = [];
    family(name: string, type: "counter" | "gauge", help: string): void {
        this.out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    }
    sample(name: string, labels: Record<string, string>, value: number): void {
        const keys = Object.keys(labels);
        const l = keys.length ? `{${keys.map(k => `${k}="${labelValue(labels[k])}"`).join(",")}}` : "";
        this.out.push(`${name}${l} ${Number.isFinite(value) ? String(value) : value > 0 ? "+Inf" : "NaN"}`);
    }
    text(): string {
        return this.out.join("\n") + "\n";
    }
}

export function renderMetrics(s: MetricsSnapshot): string {
    const w = new Writer();
    const perJail = (
        name: string,
        type: "counter" | "gauge",
        help: string,
        get: (j: MetricsSnapshot["jails"][number]) => number,
    ) => {
        w.family(name, type, help);
        for (const j of s.jails) w.sample(name, { jail: j.name }, get(j));
    };
    perJail("jailwatch_lines_read_total", "counter", "Log lines read by the jail's filter.", j => j.counters.linesRead);
    perJail(
        "jailwatch_lines_matched_total",
        "counter",
        "Log lines the jail's failregex matched.",
        j => j.counters.linesMatched,
    );
    perJail(
        "jailwatch_lines_timed_out_total",
        "counter",
        "Log lines abandoned because matching them took longer than the per-line bound (a catastrophic regex).",
        j => j.counters.linesTimedOut,
    );
    perJail(
        "jailwatch_failures_total",
        "counter",
        "Failures counted from this node's logs (ignored and already banned addresses excluded).",
        j => j.failures,
    );
    perJail(
        "jailwatch_peer_failures_total",
        "counter",
        "Failures reported by peers and counted here (shared failures).",
        j => j.counters.peerFailures,
    );
    perJail(
        "jailwatch_failing_addresses",
        "gauge",
        "Addresses with failures inside findtime, not banned yet.",
        j => j.tracked,
    );
    perJail("jailwatch_bans", "gauge", "Bans in force.", j => j.currentBans);
    perJail(
        "jailwatch_bans_total",
        "counter",
        "Bans this node decided (from its logs, shared failures or the control socket).",
        j => j.totalBans,
    );

    w.family(
        "jailwatch_follower_lag_bytes",
        "gauge",
        "Bytes of a followed log not read yet (file size minus read position).",
    );
    for (const f of s.files)
        if (f.lagBytes !== undefined) w.sample("jailwatch_follower_lag_bytes", { file: f.path }, f.lagBytes);

    const p = s.peers;
    if (p) {
        w.family("jailwatch_peer_messages_sent_total", "counter", "Peer frames sent, by type (one per peer).");
        for (const [t, n] of Object.entries(p.sent)) w.sample("jailwatch_peer_messages_sent_total", { type: t }, n);
        w.family("jailwatch_peer_messages_received_total", "counter", "Authentic peer frames received, by type.");
        for (const [t, n] of Object.entries(p.received))
            w.sample("jailwatch_peer_messages_received_total", { type: t }, n);
        w.family("jailwatch_peer_messages_rejected_total", "counter", "Peer frames refused, by reason.");
        for (const [r, n] of Object.entries(p.rejected))
            w.sample("jailwatch_peer_messages_rejected_total", { reason: r }, n);
        w.family("jailwatch_peer_send_errors_total", "counter", "Peer frames that could not be delivered.");
        w.sample("jailwatch_peer_send_errors_total", {}, p.sendErrors);
        w.family("jailwatch_peer_failures_sent_total", "counter", "Address entries sent in shared-failure frames.");
        w.sample("jailwatch_peer_failures_sent_total", {}, p.failuresSent);
        w.family(
            "jailwatch_peer_failures_dropped_total",
            "counter",
            "Shared failures not sent because the pending table was full.",
        );
        w.sample("jailwatch_peer_failures_dropped_total", {}, p.failuresDropped);
    }
    w.family("jailwatch_firewall_errors_total", "counter", "Firewall commands that failed (failed bans are retried).");
    w.sample("jailwatch_firewall_errors_total", {}, s.firewallErrors);
    w.family(
        "jailwatch_state_save_errors_total",
        "counter",
        "State saves that failed (read-only or full state directory).",
    );
    w.sample("jailwatch_state_save_errors_total", {}, s.stateSaveErrors);
    w.family(
        "jailwatch_state_save_failing",
        "gauge",
        "1 while the last state save failed: bans and positions are not durable.",
    );
    w.sample("jailwatch_state_save_failing", {}, s.stateSaveFailing ? 1 : 0);
    return w.text();
}
