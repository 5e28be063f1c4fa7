// Prometheus metrics: counters (counters.ts), their text exposition (render.ts) and the scrape endpoint (http.ts).
export { JailCounters, Metrics, PeerCounters, PEER_TYPES, REJECT_REASONS } from "./counters";
export type { PeerType, RejectReason } from "./counters";
export { MetricsServer } from "./http";
export { renderMetrics } from "./render";
export type { MetricsSnapshot } from "./render";
