// The nodes' metrics publisher (scripts/ops/publish-metrics.sh) run for real with bash against a stand-in health
// script: the payload it prints in --dry-run, the AWS CLI call it makes otherwise (a recording stand-in `aws` on
// PATH: no AWS here), garbage lines counted, never published, a failing health script publishing nothing. No test
// here reaches the instance metadata address: INSTANCE_ID is given, or `curl` is a stand-in that fails.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { REPO } from "./support/pulumiRuntime";
import { HEALTH_METRICS, METRICS_NAMESPACE } from "../../components/monitoringPlan";

const PUBLISHER = path.join(REPO, "scripts/ops/publish-metrics.sh");
const HEALTH = path.join(REPO, "tests/unit/fixtures/health-metrics.sh");

describe("metrics publisher (scripts/ops/publish-metrics.sh, run with bash)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-publisher-"));
    const bin = path.join(dir, "bin");
    const awsLog = path.join(dir, "aws-args");
    const config = path.join(dir, "metrics.env");
    before(() => {
        fs.mkdirSync(bin);
        // Records its arguments, one per line, as the AWS CLI would receive them.
        fs.writeFileSync(path.join(bin, "aws"), `#!/usr/bin/env bash\nprintf '%s\\n' "$@" >${awsLog}\n`, {
            mode: 0o755,
        });
        fs.writeFileSync(path.join(bin, "curl"), "#!/usr/bin/env bash\nexit 7\n", { mode: 0o755 });
        fs.writeFileSync(
            config,
            [
                "# test config, as scripts/ops/metrics.sh writes it",
                `NAMESPACE=${METRICS_NAMESPACE}`,
                "NODE=node-gfs2",
                "REGION=us-east-1",
                `HEALTH=bash ${HEALTH}`,
                "PUBLISH_MODE=aws",
            ].join("\n") + "\n",
        );
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const run = (args: string[], env: Record<string, string> = {}) =>
        spawnSync("bash", [PUBLISHER, ...args], {
            encoding: "utf8",
            timeout: 30000,
            env: {
                PATH: `${bin}:${process.env.PATH}`,
                HA_METRICS_CONFIG: config,
                INSTANCE_ID: "i-0123456789abcdef0",
                ...env,
            },
        });
    const payloadOf = (stdout: string) => JSON.parse(stdout.trim());

    it("--dry-run prints one PutMetricData payload: every health fact, dimensions InstanceId and Node, units", () => {
        const r = run(["--dry-run"]);
        assert.strictEqual(r.status, 0, r.stderr);
        const p = payloadOf(r.stdout);
        assert.strictEqual(p.Namespace, "HaWordPress");
        assert.deepStrictEqual(
            p.MetricData.map((m: any) => m.MetricName),
            Object.keys(HEALTH_METRICS),
        );
        for (const m of p.MetricData) {
            assert.deepStrictEqual(m.Dimensions, [
                { Name: "InstanceId", Value: "i-0123456789abcdef0" },
                { Name: "Node", Value: "node-gfs2" },
            ]);
            assert.strictEqual(m.Unit, HEALTH_METRICS[m.MetricName], m.MetricName);
        }
        const value = (n: string) => p.MetricData.find((m: any) => m.MetricName === n).Value;
        assert.deepStrictEqual(
            [value("VolumeMounted"), value("BrickDiskUsedPercent"), value("JailwatchBansLastMinute")],
            [1, 41.5, 3],
        );
        assert.ok(!fs.existsSync(awsLog), "a dry run calls no AWS");
    });

    it("publishes an unhealthy volume as values (VolumeMounted 0, a heal backlog), not as an error", () => {
        const r = run(["--dry-run"], { FIXTURE_HEALTH: "unmounted" });
        assert.strictEqual(r.status, 0, r.stderr);
        const p = payloadOf(r.stdout);
        assert.strictEqual(p.MetricData.find((m: any) => m.MetricName === "VolumeMounted").Value, 0);
        assert.strictEqual(p.MetricData.find((m: any) => m.MetricName === "HealPending").Value, 17);
    });

    it("without --dry-run sends exactly that payload with the AWS CLI, to the configured region", () => {
        const dry = payloadOf(run(["--dry-run"]).stdout);
        fs.rmSync(awsLog, { force: true });
        const r = run([]);
        assert.strictEqual(r.status, 0, r.stderr);
        const args = fs.readFileSync(awsLog, "utf8").trimEnd().split("\n");
        assert.deepStrictEqual(args.slice(0, 5), [
            "--region",
            "us-east-1",
            "cloudwatch",
            "put-metric-data",
            "--cli-input-json",
        ]);
        assert.deepStrictEqual(JSON.parse(args[5]), dry);
        assert.match(r.stdout, /published 7 metrics to HaWordPress for node-gfs2 \(i-0123456789abcdef0\)/);
    });

    it("PUBLISH_MODE=dry-run in the config (the lab's mode) never calls AWS", () => {
        const labConfig = path.join(dir, "lab.env");
        fs.writeFileSync(
            labConfig,
            fs.readFileSync(config, "utf8").replace("PUBLISH_MODE=aws", "PUBLISH_MODE=dry-run"),
        );
        fs.rmSync(awsLog, { force: true });
        const curlLog = path.join(dir, "curl-lab");
        fs.writeFileSync(path.join(bin, "curl"), `#!/usr/bin/env bash\necho "$*" >>${curlLog}\nexit 7\n`, {
            mode: 0o755,
        });
        try {
            const r = run([], { HA_METRICS_CONFIG: labConfig, INSTANCE_ID: "" });
            assert.strictEqual(r.status, 0, r.stderr);
            assert.strictEqual(payloadOf(r.stdout).MetricData.length, 7);
            assert.strictEqual(payloadOf(r.stdout).MetricData[0].Dimensions[0].Value, "unknown-instance");
            assert.ok(!fs.existsSync(awsLog));
            assert.ok(!fs.existsSync(curlLog), "no request to the metadata address from a host that is no instance");
        } finally {
            fs.writeFileSync(path.join(bin, "curl"), "#!/usr/bin/env bash\nexit 7\n", { mode: 0o755 });
        }
    });

    it("counts garbage lines and publishes only known names with numbers, once each, never running what a line holds", () => {
        const marker = "/tmp/ha-injected";
        fs.rmSync(marker, { force: true });
        const r = run(["--dry-run"], { FIXTURE_HEALTH: "garbage" });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.deepStrictEqual(
            payloadOf(r.stdout).MetricData.map((m: any) => [m.MetricName, m.Value]),
            [
                ["PeersConnected", 2],
                ["VolumeMounted", 1],
                ["HealPending", 0],
            ],
        );
        assert.match(r.stderr, /ignored 6 health line\(s\) that are not a known NAME and a number/);
        assert.ok(!fs.existsSync(marker), "a line's text is data, never run");
    });

    it("publishes nothing when the health command fails, and says where and why", () => {
        fs.rmSync(awsLog, { force: true });
        const r = run([], { FIXTURE_HEALTH: "fail" });
        assert.strictEqual(r.status, 1);
        assert.strictEqual(r.stdout, "");
        assert.match(
            r.stderr,
            new RegExp(
                `publish-metrics on ${os.hostname()}: health command 'bash .*health-metrics.sh --metrics' failed; nothing published`,
            ),
        );
        assert.ok(
            !fs.existsSync(awsLog),
            "no partial publish: VolumeMounted goes missing, which the alarm treats as breaching",
        );
    });

    it("needs the instance id from IMDSv2 to publish; a dry run without one still shows the payload", () => {
        const r = run([], { INSTANCE_ID: "" });
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /no instance id from the instance metadata service \(IMDSv2\)/);
        const d = run(["--dry-run"], { INSTANCE_ID: "" });
        assert.strictEqual(d.status, 0, d.stderr);
        assert.strictEqual(payloadOf(d.stdout).MetricData[0].Dimensions[0].Value, "unknown-instance");
    });

    it("asks IMDSv2 with a token (PUT, then the token header), never IMDSv1", () => {
        const log = path.join(dir, "curl-args");
        fs.writeFileSync(
            path.join(bin, "curl"),
            `#!/usr/bin/env bash
printf '%s\\n' "$*" >>${log}
case "$*" in *"-X PUT"*api/token*) echo tok-123 ;; *"X-aws-ec2-metadata-token: tok-123"*meta-data/instance-id*) echo i-0fedcba9876543210 ;; *) exit 22 ;; esac
`,
            { mode: 0o755 },
        );
        try {
            const r = run(["--dry-run"], { INSTANCE_ID: "" });
            assert.strictEqual(r.status, 0, r.stderr);
            assert.strictEqual(payloadOf(r.stdout).MetricData[0].Dimensions[0].Value, "i-0fedcba9876543210");
            const calls = fs.readFileSync(log, "utf8").trim().split("\n");
            assert.strictEqual(calls.length, 2);
            assert.match(
                calls[0],
                /-X PUT -H X-aws-ec2-metadata-token-ttl-seconds: 60 http:\/\/169\.254\.169\.254\/latest\/api\/token/,
            );
        } finally {
            fs.writeFileSync(path.join(bin, "curl"), "#!/usr/bin/env bash\nexit 7\n", { mode: 0o755 });
        }
    });

    it("refuses a bad config with the key and the file", () => {
        const bad = path.join(dir, "bad.env");
        fs.writeFileSync(bad, "NAMESPACE=HaWordPress\nNODE=node gfs1\nHEALTH=true\n");
        const r = run(["--dry-run"], { HA_METRICS_CONFIG: bad });
        assert.strictEqual(r.status, 1);
        assert.ok(r.stderr.includes(`NODE 'node gfs1' missing or invalid (config ${bad})`), r.stderr);
        assert.strictEqual(run(["--bogus"]).status, 2);
    });
});
