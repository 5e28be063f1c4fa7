// Network: a VPC with one public subnet per availability zone in use (internet gateway + default route), or an
// existing VPC and subnets passed through unchanged.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

export interface NetworkArgs {
    /** Availability zones in use, distinct, in order of first use; one subnet each. */
    zones: string[];
    /** CIDR block of the VPC to create, e.g. `10.20.0.0/16` (prefix /16 to /24). Ignored with `existing`. */
    vpcCidr: string;
    /**
     * Use this VPC and these subnets instead of creating any. `subnetIds` holds one id per node in node order, so
     * `subnetIdForNode(i)` is the node's subnet. The subnets must give instances a public address if `connectVia`
     * is public.
     */
    existing?: { vpcId: string; subnetIds: string[] };
    /** Tags for every resource. */
    tags?: Record<string, string>;
}

/** Splits `vpcCidr` into `count` equal subnets four bits longer (a /16 gives /20s), capped at /28. */
export function subnetCidrs(vpcCidr: string, count: number): string[] {
    const [base, prefixText] = vpcCidr.split("/");
    const prefix = Number(prefixText);
    const newPrefix = Math.min(prefix + 4, 28);
    if (count > 2 ** (newPrefix - prefix)) throw new Error(`${vpcCidr} cannot hold ${count} /${newPrefix} subnets`);
    const o = base.split(".").map(Number);
    const start = ((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) >>> 0;
    const size = 2 ** (32 - newPrefix);
    return Array.from({ length: count }, (_, i) => {
        const a = (start + i * size) >>> 0;
        return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/${newPrefix}`;
    });
}

export class Network extends pulumi.ComponentResource {
    /** The VPC id. */
    public readonly vpcId: pulumi.Output<string>;
    /** Subnet id per zone in use (created subnets), or per node (existing subnets). */
    public readonly subnetIds: pulumi.Output<string>[];
    /** Zone -> subnet id, for created subnets. */
    public readonly subnetIdByZone: Record<string, pulumi.Output<string>>;
    private readonly existingPerNode?: pulumi.Output<string>[];

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ha-wordpress:index:Network", name, args, opts);
        const tags = args.tags ?? {};
        this.subnetIdByZone = {};

        if (args.existing) {
            this.vpcId = pulumi.output(args.existing.vpcId);
            this.existingPerNode = args.existing.subnetIds.map(id => pulumi.output(id));
            this.subnetIds = this.existingPerNode;
        } else {
            const vpc = new aws.ec2.Vpc(`${name}-vpc`, {
                cidrBlock: args.vpcCidr,
                enableDnsHostnames: true,
                enableDnsSupport: true,
                tags: { ...tags, Name: `${name}-vpc` },
            }, { parent: this });
            const igw = new aws.ec2.InternetGateway(`${name}-igw`, {
                vpcId: vpc.id,
                tags: { ...tags, Name: `${name}-igw` },
            }, { parent: this });
            const routes = new aws.ec2.RouteTable(`${name}-public`, {
                vpcId: vpc.id,
                routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }],
                tags: { ...tags, Name: `${name}-public` },
            }, { parent: this });
            const cidrs = subnetCidrs(args.vpcCidr, args.zones.length);
            this.subnetIds = args.zones.map((zone, i) => {
                const subnet = new aws.ec2.Subnet(`${name}-${zone}`, {
                    vpcId: vpc.id,
                    availabilityZone: zone,
                    cidrBlock: cidrs[i],
                    // The nodes need a public address for SSH from the admin network and for package mirrors.
                    mapPublicIpOnLaunch: true,
                    tags: { ...tags, Name: `${name}-${zone}` },
                }, { parent: this });
                new aws.ec2.RouteTableAssociation(`${name}-${zone}`, {
                    subnetId: subnet.id,
                    routeTableId: routes.id,
                }, { parent: this });
                this.subnetIdByZone[zone] = subnet.id;
                return subnet.id;
            });
            this.vpcId = vpc.id;
        }
        this.registerOutputs({ vpcId: this.vpcId, subnetIds: this.subnetIds });
    }

    /** The subnet for node `index`, which sits in zone `zone`. */
    subnetIdForNode(index: number, zone: string): pulumi.Output<string> {
        if (this.existingPerNode) return this.existingPerNode[index];
        const id = this.subnetIdByZone[zone];
        if (!id) throw new Error(`no subnet for zone ${zone}: zones of this network are ${Object.keys(this.subnetIdByZone).join(", ")}`);
        return id;
    }
}
