<?php
// Health endpoint (/healthz) for Varnish's backend probe and the load balancer's HTTP check.
// Healthy = PHP-FPM runs this, and the shared volume is mounted with WordPress installed on it (wp-config.php
// readable under the web root). The database is deliberately NOT checked: it is shared by all nodes, so a DB outage
// would mark every node unhealthy at once and buy nothing (the load balancer has nowhere else to send traffic).
header('Content-Type: text/plain');
header('Cache-Control: no-store');
$root = isset($_SERVER['HA_WEB_ROOT']) ? $_SERVER['HA_WEB_ROOT'] : '';
if ($root === '' || !is_readable($root . '/wp-config.php')) {
    http_response_code(503);
    echo "unhealthy: WordPress not found under the web root (shared volume not mounted?)\n";
    exit;
}
echo "ok\n";
