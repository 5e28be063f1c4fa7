// The component package (PulumiPlugin.yaml, components/index.ts): the schema @pulumi/pulumi's analyzer infers from our
// sources, through the very provider the plugin host serves (components/provider.ts), and a component constructed
// through that provider's `construct` under the shared mocks, as the engine would ask for it.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { spawn, spawnSync } from "child_process";
import * as pulumi from "@pulumi/pulumi";
import { getPulumiComponents } from "@pulumi/pulumi/provider/experimental";
import { REPO, loadProgram, projectDefaults, pulumiRuntime, readYaml, settle, valueOf } from "./support/pulumiRuntime";
import { HaWordPressProvider, PACKAGE_COMPONENTS } from "../../components/provider";
import { HA_WORDPRESS_DEFAULTS } from "../../components/haWordPress";
import { validateWebConfig } from "../../components/webConfig";

const COMPONENTS = ["HaWordPress", "GlusterCluster", "WordPressTier", "Fail2BanJail"];
const token = (c: string) => `ha-wordpress:index:${c}`;
const typeRef = (t: string) => `#/types/ha-wordpress:index:${t}`;

interface Property {
    type?: string;
    $ref?: string;
    items?: Property;
    additionalProperties?: Property;
    description?: string;
    secret?: boolean;
    plain?: boolean;
}
interface Resource {
    description?: string;
    inputProperties: Record<string, Property>;
    requiredInputs: string[];
    properties: Record<string, Property>;
}
interface ObjectType {
    type: string;
    properties?: Record<string, Property>;
    required?: string[];
    enum?: { value: string }[];
}
interface Schema {
    name: string;
    resources: Record<string, Resource>;
    types: Record<string, ObjectType>;
}

describe("component package: the analyzer's schema and the provider (in-process)", function () {
    // The analyzer type-checks the whole project (tsconfig.json) once: tens of seconds on a loaded machine.
    this.timeout(600000);
    let provider: HaWordPressProvider;
    let schema: Schema;

    before(async () => {
        provider = new HaWordPressProvider(REPO);
        schema = JSON.parse(await provider.getSchema());
    });

    it("is served from package.json's main, named ha-wordpress, with PulumiPlugin.yaml runtime nodejs", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8"));
        assert.strictEqual(pkg.name, "ha-wordpress");
        assert.strictEqual(pkg.main, "components/pluginHost.ts");
        assert.strictEqual(readYaml("PulumiPlugin.yaml").runtime, "nodejs");
        // The same directory is the stack's program: Pulumi.yaml names it, as package.json's main is the plugin.
        assert.strictEqual(readYaml("Pulumi.yaml").main, "index.ts");
        assert.strictEqual(schema.name, "ha-wordpress");
    });

    it("has exactly the four components, each described, and the package entry exports exactly them", () => {
        assert.deepStrictEqual(Object.keys(schema.resources).sort(), COMPONENTS.map(token).sort());
        for (const c of COMPONENTS)
            assert.ok((schema.resources[token(c)].description ?? "").trim().length > 20, `${c} has a description`);
        const entry = require("../../components/index") as Record<string, unknown>;
        assert.deepStrictEqual(Object.keys(entry).sort(), [...COMPONENTS].sort());
        assert.deepStrictEqual(
            getPulumiComponents(entry)
                .map(c => c.name)
                .sort(),
            [...COMPONENTS].sort(),
        );
        assert.deepStrictEqual(PACKAGE_COMPONENTS.map(c => c.name).sort(), [...COMPONENTS].sort());
    });

    it("documents every input and output, of the components and of every type they use; optional inputs name their default", () => {
        const undocumented: string[] = [];
        const noDefault: string[] = [];
        const check = (
            where: string,
            props: Record<string, Property>,
            required: string[] | undefined,
            isInput: boolean,
        ) => {
            for (const [name, p] of Object.entries(props)) {
                if (!(p.description ?? "").trim()) undocumented.push(`${where}.${name}`);
                else if (isInput && !(required ?? []).includes(name) && !/default/i.test(p.description!))
                    noDefault.push(`${where}.${name}`);
            }
        };
        for (const [t, r] of Object.entries(schema.resources)) {
            check(`${t} input`, r.inputProperties, r.requiredInputs, true);
            check(`${t} output`, r.properties, undefined, false);
        }
        for (const [t, o] of Object.entries(schema.types)) if (o.properties) check(t, o.properties, o.required, true);
        assert.deepStrictEqual(undocumented, [], "every input/output has a JSDoc description");
        assert.deepStrictEqual(noDefault, [], "every optional input says its default");
        // not vacuous: the walk saw the nested types
        for (const t of [
            "SshArgs",
            "BrickVolumeArgs",
            "WordPressDatabaseArgs",
            "GlusterClusterInfo",
            "GlusterNodeInfo",
            "JailOverrides",
        ]) {
            assert.ok(schema.types[`ha-wordpress:index:${t}`]?.properties, `type ${t} in the schema`);
        }
    });

    it("requires exactly the inputs without a default", () => {
        const required = (c: string) => schema.resources[token(c)].requiredInputs;
        assert.deepStrictEqual(required("HaWordPress"), [
            "adminCidr",
            "adminEmail",
            "availabilityZones",
            "database",
            "keyName",
            "region",
            "ssh",
        ]);
        assert.deepStrictEqual(required("GlusterCluster"), [
            "adminCidr",
            "ami",
            "availabilityZones",
            "brickPath",
            "brickVolume",
            "instanceType",
            "keyName",
            "mountPoint",
            "nodeNames",
            "pingTimeout",
            "ssh",
            "subnetIds",
            "volumeName",
            "vpcId",
        ]);
        assert.deepStrictEqual(required("WordPressTier"), [
            "adminEmail",
            "cluster",
            "database",
            "ssh",
            "subnetIds",
            "vpcId",
        ]);
        assert.deepStrictEqual(required("Fail2BanJail"), ["binaryPath", "cluster", "ignoreIp", "s3EndpointId", "ssh"]);
        assert.deepStrictEqual(schema.types["ha-wordpress:index:SshArgs"].required, ["privateKey", "user"]);
    });

    it("types the key inputs as plain values, enums and shared object types", () => {
        const input = (c: string, n: string) => schema.resources[token(c)].inputProperties[n];
        assert.deepStrictEqual(input("HaWordPress", "availabilityZones"), {
            ...input("HaWordPress", "availabilityZones"),
            type: "array",
            items: { type: "string", plain: true },
            plain: true,
        });
        assert.strictEqual(input("HaWordPress", "pingTimeout").type, "number");
        assert.strictEqual(input("HaWordPress", "retainBricks").type, "boolean");
        assert.strictEqual(input("HaWordPress", "ssh").$ref, typeRef("SshArgs"));
        assert.strictEqual(input("HaWordPress", "database").$ref, typeRef("WordPressDatabaseArgs"));
        assert.strictEqual(input("HaWordPress", "jails").additionalProperties?.$ref, typeRef("JailOverrides"));
        // Enums, not free strings: other languages get them as named constants.
        assert.strictEqual(input("HaWordPress", "architecture").$ref, typeRef("Architecture"));
        assert.deepStrictEqual(
            schema.types["ha-wordpress:index:Architecture"].enum!.map(e => e.value),
            ["x86_64", "arm64"],
        );
        assert.deepStrictEqual(
            schema.types["ha-wordpress:index:ConnectVia"].enum!.map(e => e.value),
            ["public", "private"],
        );
        assert.deepStrictEqual(
            schema.types["ha-wordpress:index:WordPressSourceKind"].enum!.map(e => e.value),
            ["debian", "tarball"],
        );
        // Values that only exist once other resources do are inputs (not plain): they may be outputs of another resource.
        assert.strictEqual(input("GlusterCluster", "vpcId").plain, undefined);
        assert.deepStrictEqual(input("GlusterCluster", "subnetIds").items, { type: "string" });
        assert.strictEqual(input("Fail2BanJail", "s3EndpointId").plain, undefined);
        // The cluster GlusterCluster outputs is, type for type, what the tiers take.
        assert.strictEqual(
            schema.resources[token("GlusterCluster")].properties.cluster.$ref,
            typeRef("GlusterClusterInfo"),
        );
        assert.strictEqual(input("WordPressTier", "cluster").$ref, typeRef("GlusterClusterInfo"));
        assert.strictEqual(input("Fail2BanJail", "cluster").$ref, typeRef("GlusterClusterInfo"));
        const info = schema.types["ha-wordpress:index:GlusterClusterInfo"].properties!;
        assert.strictEqual(info.nodes.items?.$ref, typeRef("GlusterNodeInfo"));
        assert.deepStrictEqual(Object.keys(schema.types["ha-wordpress:index:GlusterNodeInfo"].properties!).sort(), [
            "brickVolumeId",
            "hostKey",
            "installed",
            "instanceId",
            "mounted",
            "name",
            "privateIp",
            "sshHost",
            "zone",
        ]);
        // Fail2BanJail waits on WordPressTier's nginxReady: the same map of strings on both sides.
        assert.deepStrictEqual(schema.resources[token("WordPressTier")].properties.nginxReady, {
            ...schema.resources[token("WordPressTier")].properties.nginxReady,
            type: "object",
            additionalProperties: { type: "string" },
        });
        assert.strictEqual(input("Fail2BanJail", "waitFor").additionalProperties?.type, "string");
    });

    it("marks the secrets secret: the passwords among the outputs, the SSH key among the inputs, and nothing else", () => {
        const secretOutputs = Object.entries(schema.resources).flatMap(([t, r]) =>
            Object.entries(r.properties)
                .filter(([, p]) => p.secret)
                .map(([n]) => `${t.split(":")[2]}.${n}`),
        );
        assert.deepStrictEqual(secretOutputs.sort(), [
            "HaWordPress.dbMasterPassword",
            "HaWordPress.wordpressAdminPassword",
            "WordPressTier.adminPassword",
            "WordPressTier.dbMasterPassword",
        ]);
        assert.strictEqual(schema.types["ha-wordpress:index:SshArgs"].properties!.privateKey.secret, true);
    });

    it("defaults HaWordPress's inputs as Pulumi.yaml defaults the stack's config", () => {
        const p = projectDefaults();
        const d = HA_WORDPRESS_DEFAULTS;
        assert.deepStrictEqual(
            [
                d.vpcCidr,
                d.instanceType,
                d.volumeName,
                d.brickPath,
                d.mountPoint,
                String(d.pingTimeout),
                String(d.retainBricks),
            ],
            [p.vpcCidr, p.instanceType, p.volumeName, p.brickPath, p.mountPoint, p.pingTimeout, p.retainBricks],
        );
        assert.deepStrictEqual(
            [d.brickVolume.sizeGiB, d.brickVolume.type, d.brickVolume.iops, d.brickVolume.throughput].map(String),
            [p.brickVolumeSize, p.brickVolumeType, p.brickVolumeIops, p.brickVolumeThroughput],
        );
        const web = validateWebConfig(p);
        assert.deepStrictEqual(
            [web.siteTitle, web.adminUser, web.webIngressCidr, web.varnishCacheSize, web.jailwatchPeerPort],
            ["HA WordPress", "wpadmin", "0.0.0.0/0", "256m", 7478],
            "WordPressTier's and Fail2BanJail's defaults",
        );
    });

    it("index.ts builds one HaWordPress; its parts keep the names and, by an alias, the identity they had at the top level", async () => {
        const rt = await pulumiRuntime();
        await loadProgram();
        assert.deepStrictEqual(
            rt.byType("ha-wordpress:index:HaWordPress").map(r => r.name),
            ["ha-wordpress"],
        );
        for (const c of ["net", "gluster", "web", "jail"]) {
            const r = rt.byName(c);
            assert.strictEqual(r.parent, "ha-wordpress", `${c} under HaWordPress`);
            assert.ok(
                r.aliasNoParent,
                `${c} is aliased to its old place at the top level (no replacement of an existing stack)`,
            );
        }
    });

    describe("construct, as the engine asks the plugin (mocks)", () => {
        let result: { urn: pulumi.Output<string>; state: Record<string, unknown> };
        before(async () => {
            await pulumiRuntime();
            const inputs = {
                region: "us-east-1",
                availabilityZones: ["us-east-1a", "us-east-1b", "us-east-1c"],
                keyName: "k",
                adminCidr: "192.0.2.0/24",
                adminEmail: "ops@example.com",
                ssh: {
                    user: "admin",
                    privateKey: pulumi.secret(
                        "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n",
                    ),
                },
                database: validateWebConfig({}).db,
                jailwatchBinary: path.join(REPO, "tests/unit/fixtures/jailwatch-linux-x64.stub"),
                namePrefix: "t-pkg-",
            };
            result = (await provider.construct("t-pkg", token("HaWordPress"), inputs, {})) as typeof result;
            await settle();
        });

        it("builds the whole stack under the component and returns every schema output", async () => {
            const rt = await pulumiRuntime();
            assert.match(await valueOf(result.urn), /ha-wordpress:index:HaWordPress::t-pkg$/);
            assert.deepStrictEqual(
                Object.keys(result.state).sort(),
                Object.keys(schema.resources[token("HaWordPress")].properties).sort(),
            );
            for (const c of ["t-pkg-net", "t-pkg-gluster", "t-pkg-web", "t-pkg-jail"]) {
                assert.strictEqual(rt.byName(c).parent, "t-pkg", `${c} is a child of the component`);
            }
            assert.strictEqual(
                rt.resources.filter(r => r.type === "aws:ec2/instance:Instance" && r.parent === "t-pkg-gluster").length,
                3,
            );
            assert.strictEqual(result.state.wordpressAdminUser, "wpadmin");
            assert.match(await valueOf(result.state.siteUrl as pulumi.Output<string>), /^http:\/\/t-pkg-web-nlb-/);
        });

        it("returns exactly the outputs the schema marks secret as secrets", async () => {
            const secret = async (v: unknown) =>
                pulumi.Output.isInstance(v) ? await (v as unknown as { isSecret: Promise<boolean> }).isSecret : false;
            const marked = Object.entries(schema.resources[token("HaWordPress")].properties)
                .filter(([, p]) => p.secret)
                .map(([n]) => n)
                .sort();
            const returned: string[] = [];
            for (const [n, v] of Object.entries(result.state)) if (await secret(v)) returned.push(n);
            assert.deepStrictEqual(returned.sort(), marked);
        });
    });

    it("starts as the Node.js language host starts a plugin (run-plugin <dir>) and serves that schema over gRPC", async () => {
        // What `pulumi package add` and a deployment do: `node @pulumi/pulumi/cmd/run-plugin <package dir> <engine>`
        // with TypeScript on; the plugin prints its port, the engine then calls GetSchema and Construct on it.
        const grpc = require("@grpc/grpc-js");
        const provrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
        const provproto = require("@pulumi/pulumi/proto/provider_pb");
        const child = spawn(process.execPath, [require.resolve("@pulumi/pulumi/cmd/run-plugin"), REPO, "127.0.0.1:1"], {
            cwd: REPO,
            env: { ...process.env, PULUMI_NODEJS_TYPESCRIPT: "true" },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stderr = "";
        child.stderr!.on("data", d => {
            stderr += d;
        });
        try {
            const port = await new Promise<string>((resolve, reject) => {
                let out = "";
                child.stdout!.on("data", d => {
                    out += d;
                    const m = /^(\d+)\n/.exec(out);
                    if (m) resolve(m[1]);
                });
                child.on("exit", code => reject(new Error(`plugin exited ${code}: ${stderr.slice(-2000)}`)));
            });
            const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
            const served: Schema = await new Promise((resolve, reject) =>
                client.getSchema(new provproto.GetSchemaRequest(), (e: Error | null, r: { getSchema(): string }) =>
                    e ? reject(e) : resolve(JSON.parse(r.getSchema())),
                ),
            );
            client.close();
            assert.deepStrictEqual(served, schema);
        } finally {
            child.kill();
        }
    });

    it("the example program typechecks against the package's components", () => {
        const r = spawnSync(
            process.execPath,
            [require.resolve("typescript/bin/tsc"), "--noEmit", "-p", "examples/minimal-ts"],
            { cwd: REPO, encoding: "utf8" },
        );
        assert.strictEqual(r.status, 0, r.stdout + r.stderr);
    });
});
