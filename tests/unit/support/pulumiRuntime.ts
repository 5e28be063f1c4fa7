// Shared Pulumi mock runtime for every file under tests/unit (mocha runs them all in one process, and the SDK holds
// one global runtime): mocks set once, config = Pulumi.yaml defaults + Pulumi.prod.yaml + test-only keys, every
// registered resource recorded WITH its dependencies (MockResourceArgs lacks them, so the monitor's
// registerResource is wrapped), the program (index.ts) imported once.
//
// Use:  const rt = await pulumiRuntime();          // mocks + config ready, nothing registered yet
//       const prog = await loadProgram();           // index.ts imported, all its resources registered
//       rt.byType("aws:ec2/instance:Instance")      // recorded resources
// Components under test may also be constructed directly after pulumiRuntime(): name them `t-...` (their children
// then are `t-...` too) and call `await settle()` before reading the recording. `byType` leaves `t-*` resources out,
// so tests of the program see only what index.ts declared; find test-built ones in `resources`.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

// js-yaml ships with @pulumi/pulumi and mocha; tests only.
const yaml: { load(text: string): unknown } = require("js-yaml");

export const REPO = path.join(__dirname, "..", "..", "..");
export const PROJECT = "ha-wordpress";
export const STACK = "prod";

/** Secret wrapper the SDK puts around secret values handed to mocks. */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";
export const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";
export function isSecretWrapped(v: unknown): v is { value: unknown } {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG] === SECRET_VALUE;
}
export function unwrapSecret(v: unknown): unknown {
    return isSecretWrapped(v) ? v.value : v;
}

/** A test-only key pair half: never a real key. */
export const TEST_PRIVATE_KEY =
    "-----BEGIN OPENSSH PRIVATE KEY-----\nZmFrZS10ZXN0LWtleS1ub3QtcmVhbA==\n-----END OPENSSH PRIVATE KEY-----\n";
/** Keys a real operator sets on the command line (no safe default); the tests set them the same way. */
export const OPERATOR_CONFIG: Record<string, string> = {
    adminCidr: "198.51.100.7/32",
    keyName: "ha-wordpress-test",
    sshPrivateKey: TEST_PRIVATE_KEY,
    // A small stand-in for dist/jailwatch, so the unit tests need no build (Fail2BanJail hashes the file).
    jailwatchBinary: "tests/unit/fixtures/jailwatch-linux-x64.stub",
};

export interface Recorded {
    type: string;
    name: string;
    custom: boolean;
    inputs: Record<string, any>;
    /** Names of the resources this one depends on (explicit dependsOn and implicit, from the engine request). */
    deps: string[];
    parent: string;
    retainOnDelete: boolean;
    protect: boolean;
    deleteBeforeReplace: boolean;
    additionalSecretOutputs: string[];
    /** An alias to "no parent" (the resource moved under a component from the stack's top level). */
    aliasNoParent: boolean;
    ignoreChanges: string[];
    id: string;
    state: Record<string, any>;
}

export interface Runtime {
    resources: Recorded[];
    calls: { token: string; inputs: Record<string, any> }[];
    /** Resources of this type that index.ts declared (test-built `t-*` resources left out). */
    byType(type: string): Recorded[];
    byName(name: string): Recorded;
}

/** Reads a YAML file of the repo. */
export function readYaml(file: string): any {
    return yaml.load(fs.readFileSync(path.join(REPO, file), "utf8"));
}

/** Project defaults (Pulumi.yaml `config:` defaults) as raw config strings, as the CLI would hand them over. */
export function projectDefaults(): Record<string, string> {
    const project = readYaml("Pulumi.yaml");
    const out: Record<string, string> = {};
    for (const [key, decl] of Object.entries<any>(project.config ?? {})) out[key] = toRaw(decl.default);
    return out;
}

/** A stack file's `ha-wordpress:` keys as raw config strings. */
export function stackConfig(stack: string): Record<string, string> {
    const file = readYaml(`Pulumi.${stack}.yaml`);
    const out: Record<string, string> = {};
    for (const [key, v] of Object.entries<any>(file.config ?? {})) {
        if (key.startsWith(`${PROJECT}:`)) out[key.slice(PROJECT.length + 1)] = toRaw(v);
    }
    return out;
}

/** What `pulumi.Config.get` returns for a stack: Pulumi.yaml defaults overlaid by the stack file. */
export function effectiveConfig(stack: string, extra: Record<string, string> = {}): Record<string, string> {
    return { ...projectDefaults(), ...stackConfig(stack), ...extra };
}

function toRaw(v: unknown): string {
    return typeof v === "string" ? v : JSON.stringify(v);
}

const MOCK_ZONE_NUMBER: Record<string, number> = {};
let counter = 0;
const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");

/** Mock ids and computed outputs AWS would assign. */
function mockState(
    type: string,
    name: string,
    inputs: Record<string, any>,
): { id: string; state: Record<string, any> } {
    counter++;
    switch (type) {
        case "aws:ec2/instance:Instance": {
            const zone = String(inputs.availabilityZone ?? "zone");
            MOCK_ZONE_NUMBER[zone] ??= Object.keys(MOCK_ZONE_NUMBER).length;
            return {
                id: `i-0${hex(counter, 16)}`,
                state: {
                    ...inputs,
                    privateIp: `10.20.${MOCK_ZONE_NUMBER[zone] * 16}.${10 + (counter % 200)}`,
                    publicIp: `203.0.113.${counter % 250}`,
                    arn: `arn:aws:ec2:::instance/${name}`,
                },
            };
        }
        case "aws:ebs/volume:Volume":
            return { id: `vol-0${hex(counter, 16)}`, state: { ...inputs } };
        case "aws:ec2/securityGroup:SecurityGroup":
            return { id: `sg-0${hex(counter, 16)}`, state: { ...inputs, arn: `arn:aws:ec2:::security-group/${name}` } };
        case "aws:ec2/vpc:Vpc":
            return { id: `vpc-0${hex(counter, 16)}`, state: { ...inputs } };
        case "aws:ec2/subnet:Subnet":
            return { id: `subnet-0${hex(counter, 16)}`, state: { ...inputs } };
        case "command:remote:Command":
            return { id: `${name}-id`, state: { ...inputs, stdout: "", stderr: "" } };
        // Web tier and jail: the computed outputs their consumers read.
        case "random:index/randomPassword:RandomPassword":
            return { id: `${name}-id`, state: { ...inputs, result: `mock-${name}-${hex(counter, 8)}` } };
        case "aws:rds/instance:Instance":
            return {
                id: `db-${hex(counter, 26).toUpperCase()}`,
                state: {
                    ...inputs,
                    identifier: inputs.identifier ?? `${name}-${hex(counter, 7)}`,
                    address: `${name}.c0ffee.us-east-1.rds.amazonaws.com`,
                    port: 3306,
                    arn: `arn:aws:rds:::db/${name}`,
                },
            };
        case "aws:lb/loadBalancer:LoadBalancer":
            return {
                id: `${name}-id`,
                state: {
                    ...inputs,
                    dnsName: `${name}-0123456789.elb.us-east-1.amazonaws.com`,
                    arn: `arn:aws:elasticloadbalancing:::loadbalancer/net/${name}/${hex(counter, 16)}`,
                    arnSuffix: `net/${name}/${hex(counter, 16)}`,
                },
            };
        case "aws:lb/targetGroup:TargetGroup":
            return {
                id: `${name}-id`,
                state: {
                    ...inputs,
                    arn: `arn:aws:elasticloadbalancing:::targetgroup/${name}/${hex(counter, 16)}`,
                    arnSuffix: `targetgroup/${name}/${hex(counter, 16)}`,
                },
            };
        case "tls:index/privateKey:PrivateKey":
            return {
                id: `${name}-id`,
                state: {
                    ...inputs,
                    publicKeyOpenssh: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA${hex(counter, 12)} \n`,
                    privateKeyOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\nmock-host-key-${name}-${hex(counter, 8)}\n-----END OPENSSH PRIVATE KEY-----\n`,
                },
            };
        case "random:index/randomId:RandomId":
            return { id: `${name}-id`, state: { ...inputs, hex: hex((counter * 2654435761) % 4294967296, 8) } };
        case "aws:s3/bucket:Bucket":
        case "aws:s3/bucketV2:BucketV2":
            return {
                id: `${name}-bucket`,
                state: {
                    ...inputs,
                    bucket: `${name}-bucket`,
                    arn: `arn:aws:s3:::${name}-bucket`,
                    bucketRegionalDomainName: `${name}-bucket.s3.us-east-1.amazonaws.com`,
                },
            };
        case "aws:ec2/vpcEndpoint:VpcEndpoint":
            return { id: `vpce-0${hex(counter, 16)}`, state: { ...inputs } };
        // Monitoring: the names and ARNs alarms, dashboards, backups and instances refer to.
        case "aws:sns/topic:Topic":
            return {
                id: `arn:aws:sns:us-east-1:123456789012:${name}-${hex(counter, 7)}`,
                state: { ...inputs, arn: `arn:aws:sns:us-east-1:123456789012:${name}-${hex(counter, 7)}` },
            };
        case "aws:iam/role:Role":
        case "aws:iam/instanceProfile:InstanceProfile": {
            const n = inputs.name ?? `${name}-${hex(counter, 7)}`;
            const kind = type === "aws:iam/role:Role" ? "role" : "instance-profile";
            return { id: n, state: { ...inputs, name: n, arn: `arn:aws:iam::123456789012:${kind}/${n}` } };
        }
        case "aws:backup/vault:Vault":
            return {
                id: inputs.name,
                state: { ...inputs, arn: `arn:aws:backup:us-east-1:123456789012:backup-vault:${inputs.name}` },
            };
        case "aws:backup/plan:Plan":
            return {
                id: `plan-${hex(counter, 12)}`,
                state: { ...inputs, arn: `arn:aws:backup:us-east-1:123456789012:backup-plan:plan-${hex(counter, 12)}` },
            };
        case "aws:cloudwatch/metricAlarm:MetricAlarm":
            return {
                id: inputs.name,
                state: { ...inputs, arn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${inputs.name}` },
            };
        default:
            return { id: `${name}-id`, state: { ...inputs } };
    }
}

let runtime: Promise<Runtime> | undefined;

/** Sets up mocks, config and recording once per process. */
export function pulumiRuntime(): Promise<Runtime> {
    runtime ??= (async () => {
        const resources: Recorded[] = [];
        const calls: Runtime["calls"] = [];
        const pending = new Map<string, Partial<Recorded>>();
        const config = effectiveConfig(STACK, OPERATOR_CONFIG);
        const all: Record<string, string> = {};
        for (const [k, v] of Object.entries(config)) all[`${PROJECT}:${k}`] = v;
        pulumi.runtime.setAllConfig(all, [`${PROJECT}:sshPrivateKey`]);

        await pulumi.runtime.setMocks(
            {
                newResource(args: pulumi.runtime.MockResourceArgs) {
                    const { id, state } = mockState(args.type, args.name, args.inputs);
                    const meta = pending.get(`${args.type}::${args.name}`) ?? {};
                    resources.push({
                        type: args.type,
                        name: args.name,
                        custom: args.custom ?? true,
                        inputs: args.inputs,
                        deps: meta.deps ?? [],
                        parent: meta.parent ?? "",
                        retainOnDelete: meta.retainOnDelete ?? false,
                        protect: meta.protect ?? false,
                        ignoreChanges: meta.ignoreChanges ?? [],
                        id,
                        state,
                        deleteBeforeReplace: meta.deleteBeforeReplace ?? false,
                        additionalSecretOutputs: meta.additionalSecretOutputs ?? [],
                        aliasNoParent: meta.aliasNoParent ?? false,
                    });
                    return { id, state };
                },
                call(args: pulumi.runtime.MockCallArgs) {
                    calls.push({ token: args.token, inputs: args.inputs });
                    if (args.token === "aws:ec2/getAmi:getAmi") {
                        return {
                            id: "ami-0d3b1a4e5c6f70812",
                            name: "debian-12-amd64-20260101-0000",
                            architecture: "x86_64",
                        };
                    }
                    if (args.token === "aws:ec2/getRouteTables:getRouteTables")
                        return { id: "rtbs", ids: ["rtb-0aaaaaaaaaaaaaaa1"] };
                    if (args.token === "aws:ec2/getVpc:getVpc")
                        return { id: args.inputs.id, cidrBlock: "10.99.0.0/16" };
                    // An existing VPC: each subnet's route table; an S3 gateway endpoint only in the VPCs named "...5e...".
                    if (args.token === "aws:ec2/getRouteTable:getRouteTable") {
                        return {
                            id: `rtb-of-${args.inputs.subnetId}`,
                            routeTableId: `rtb-0${String(args.inputs.subnetId).slice(-16)}`,
                        };
                    }
                    if (args.token === "aws:ec2/getVpcEndpoint:getVpcEndpoint") {
                        if (String(args.inputs.vpcId).includes("5e"))
                            return {
                                id: "vpce-0existing00000001",
                                vpcId: args.inputs.vpcId,
                                serviceName: args.inputs.serviceName,
                            };
                        throw new Error("no matching EC2 VPC Endpoint found");
                    }
                    return {};
                },
            },
            PROJECT,
            STACK,
            false,
        );

        // Record what the engine would be told, dependencies included, before the mock monitor handles it.
        const monitor = pulumi.runtime.getMonitor() as any;
        const register = monitor.registerResource.bind(monitor);
        monitor.registerResource = (req: any, callback: any) => {
            pending.set(`${req.getType()}::${req.getName()}`, {
                deps: (req.getDependenciesList() as string[]).map(urnName),
                parent: req.getParent() ? urnName(req.getParent()) : "",
                retainOnDelete: Boolean(req.getRetainondelete?.()),
                protect: Boolean(req.getProtect?.()),
                ignoreChanges: req.getIgnorechangesList?.() ?? [],
                deleteBeforeReplace: Boolean(req.getDeletebeforereplace?.()),
                additionalSecretOutputs: req.getAdditionalsecretoutputsList?.() ?? [],
                aliasNoParent: (req.getAliasesList?.() ?? []).some((a: any) => Boolean(a.getSpec?.()?.getNoparent?.())),
            });
            return register(req, callback);
        };

        return {
            resources,
            calls,
            byType: (type: string) => resources.filter(r => r.type === type && !r.name.startsWith("t-")),
            byName: (name: string) => {
                const r = resources.find(x => x.name === name);
                if (!r) throw new Error(`no resource named ${name}; have ${resources.map(x => x.name).join(", ")}`);
                return r;
            },
        };
    })();
    return runtime;
}

function urnName(urn: string): string {
    return urn.split("::").pop() ?? urn;
}

/** Resolves when the number of recorded resources has stopped changing (all pending registrations done). */
export async function settle(): Promise<void> {
    const rt = await pulumiRuntime();
    let last = -1,
        stable = 0;
    while (stable < 10) {
        await new Promise(r => setTimeout(r, 10));
        if (rt.resources.length === last) stable++;
        else {
            stable = 0;
            last = rt.resources.length;
        }
    }
}

let program: Promise<Record<string, any>> | undefined;

/** Imports index.ts once (after the mocks exist) and waits until everything it declares is registered. */
export function loadProgram(): Promise<Record<string, any>> {
    program ??= (async () => {
        await pulumiRuntime();
        const mod = await import("../../../index");
        await settle();
        return mod;
    })();
    return program;
}

/** The value of an Output (mocks run applies, so this resolves). */
export function valueOf<T>(o: pulumi.Input<T>): Promise<T> {
    return new Promise<T>(resolve =>
        pulumi.output(o).apply(v => {
            resolve(v as T);
            return v;
        }),
    );
}
