// Fail2BanJail redeploys when — and only when — the binary or the configuration changes: three jails built side by
// side under mocks (same binary and config, a changed binary, a changed jail setting) and their triggers compared.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Recorded, Runtime, loadProgram, pulumiRuntime, settle, unwrapSecret } from "./support/pulumiRuntime";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { Fail2BanJail } from "../../components/fail2banJail";
import { SEED_XMLRPC_JAIL, defaultJails, jailStepIds } from "../../components/fail2banPlan";

const NODES = ["node-gfs1", "node-gfs2", "node-gfs3"];
/** An x86-64 ELF header: the jail refuses anything the nodes cannot run. */
const ELF_X64 = fs.readFileSync(path.join(__dirname, "fixtures/jailwatch-linux-x64.stub")).subarray(0, 64);

describe("Fail2BanJail triggers: redeploy on a changed binary or config, and only then (mocks)", () => {
    let rt: Runtime;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jail-"));
    const binA = path.join(dir, "a"),
        binA2 = path.join(dir, "a-copy"),
        binB = path.join(dir, "b");

    const build = (name: string, binary: string, maxretry = 20) =>
        new Fail2BanJail(name, {
            cluster: {
                nodes: NODES.map((n, i) => ({
                    name: n,
                    zone: "us-east-1a",
                    privateIp: pulumi.output(`10.30.0.${i + 1}`),
                    instanceId: pulumi.output(`i-0${name}${i}`),
                    sshHost: `192.0.2.${i + 1}`,
                    hostKey: "ssh-ed25519 AAAAtrig",
                    installed: new random.RandomPet(`${name}-install-${n}`, {}).id,
                    mounted: new random.RandomPet(`${name}-mount-${n}`, {}).id,
                })),
                securityGroupId: pulumi.output("sg-0trig"),
                mountPoint: "/var/www/html",
                architecture: "x86_64",
            },
            ssh: { user: "admin", privateKey: "test-key" },
            binaryPath: binary,
            s3EndpointId: "vpce-0trig",
            ignoreIp: ["10.30.0.0/16"],
            jails: defaultJails({ ...SEED_XMLRPC_JAIL, maxretry }),
            tags: { project: "ha-wordpress", stack: "prod" },
        });
    const trig = (name: string, step: string): unknown => {
        const c: Recorded = rt.byName(`${name}-${step}`);
        // The instance id differs per build by construction: compare what the content contributes.
        const t = unwrapSecret(c.inputs.triggers) as unknown[];
        return t.slice(1).map(unwrapSecret).slice(0, 2);
    };

    before(async () => {
        rt = await pulumiRuntime();
        await loadProgram();
        fs.writeFileSync(binA, Buffer.concat([ELF_X64, Buffer.from("jailwatch build A\n")]));
        fs.copyFileSync(binA, binA2);
        fs.writeFileSync(binB, Buffer.concat([ELF_X64, Buffer.from("jailwatch build B\n")]));
        build("trig-same1", binA);
        build("trig-same2", binA2);
        build("trig-newbin", binB);
        build("trig-newcfg", binA, 10);
        await settle();
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("the same binary bytes and config give the same triggers on every step (no redeploy)", () => {
        for (const n of NODES) {
            for (const step of [jailStepIds.binary(n), jailStepIds.config(n), jailStepIds.service(n)]) {
                assert.deepStrictEqual(trig("trig-same2", step), trig("trig-same1", step), step);
            }
        }
    });

    it("a changed binary changes the binary and service triggers, not the config's", () => {
        for (const n of NODES) {
            assert.notDeepStrictEqual(
                trig("trig-newbin", jailStepIds.binary(n)),
                trig("trig-same1", jailStepIds.binary(n)),
            );
            assert.notDeepStrictEqual(
                trig("trig-newbin", jailStepIds.service(n)),
                trig("trig-same1", jailStepIds.service(n)),
            );
            assert.deepStrictEqual(
                trig("trig-newbin", jailStepIds.config(n)),
                trig("trig-same1", jailStepIds.config(n)),
            );
        }
        // and it is a new S3 object (the key holds the hash); the old one is replaced, not overwritten in place
        const key = (name: string) =>
            rt.byType("aws:s3/bucketObjectv2:BucketObjectv2").find(o => o.name === `${name}-jailwatch`)!.inputs.key;
        assert.notStrictEqual(key("trig-newbin"), key("trig-same1"));
        assert.strictEqual(key("trig-same2"), key("trig-same1"));
    });

    it("a changed jail setting changes the config and service triggers, not the binary's", () => {
        for (const n of NODES) {
            assert.notDeepStrictEqual(
                trig("trig-newcfg", jailStepIds.config(n)),
                trig("trig-same1", jailStepIds.config(n)),
            );
            assert.notDeepStrictEqual(
                trig("trig-newcfg", jailStepIds.service(n)),
                trig("trig-same1", jailStepIds.service(n)),
            );
            assert.deepStrictEqual(
                trig("trig-newcfg", jailStepIds.binary(n)),
                trig("trig-same1", jailStepIds.binary(n)),
            );
        }
    });

    it("refuses to deploy a binary that does not exist, naming the build step", () => {
        assert.throws(() => build("trig-missing", path.join(dir, "nope")), /not found .*npm run build/);
    });
});
