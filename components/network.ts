// Network: a VPC with one public subnet per availability zone in use (internet gateway + default route), or an
// existing VPC and subnets passed through unchanged; either way with an S3 gateway endpoint on the nodes' route
// tables (the nodes fetch jailwatch through it), created here or, in an existing VPC that has one, reused.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

export interface NetworkArgs {
    /** AWS region of the VPC, for the S3 gateway endpoint's service name (`com.amazonaws.<region>.s3`). */
    region: string;
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
    /** Route tables of the nodes' subnets (the created public one, or those of the existing subnets). */
    public readonly routeTableIds: pulumi.Output<string[]>;
    /**
     * The S3 gateway endpoint the nodes reach S3 through: its id resolves only once its routes are in the nodes'
     * route tables, and it carries the endpoint this network created (if any) as its dependency, so whatever uses
     * it (the bucket policy's aws:SourceVpce, the binary steps) waits for that.
     */
    public readonly s3EndpointId: pulumi.Output<string>;
    private readonly existingPerNode?: pulumi.Output<string>[];

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ha-wordpress:index:Network", name, args, opts);
        const tags = args.tags ?? {};
        this.subnetIdByZone = {};
        const serviceName = `com.amazonaws.${args.region}.s3`;

        if (args.existing) {
            const existing = args.existing;
            this.vpcId = pulumi.output(existing.vpcId);
            this.existingPerNode = existing.subnetIds.map(id => pulumi.output(id));
            this.subnetIds = this.existingPerNode;
            // Each subnet's route table (explicit association, else the VPC's main table).
            this.routeTableIds = pulumi
                .all(
                    [...new Set(existing.subnetIds)].map(
                        subnetId => aws.ec2.getRouteTableOutput({ subnetId }, { parent: this }).routeTableId,
                    ),
                )
                .apply(ids => [...new Set(ids)].sort());
            // A VPC that has an S3 gateway endpoint already cannot take a second one on the same route tables
            // (RouteAlreadyExists): use it. Otherwise create one on the subnets' tables. The lookup is an invoke,
            // which runs in preview too, so the plan shows the endpoint it will create.
            const found: Promise<string | undefined> = aws.ec2
                .getVpcEndpoint(
                    {
                        vpcId: existing.vpcId,
                        serviceName,
                        filters: [{ name: "vpc-endpoint-type", values: ["Gateway"] }],
                    },
                    { parent: this },
                )
                .then(
                    e => e.id,
                    (e: unknown) => {
                        // "no matching EC2 VPC Endpoint found" (the mock runtime drops the message: empty counts as none).
                        const message = e instanceof Error ? e.message : String(e ?? "");
                        if (message.trim() === "" || /no matching/i.test(message)) return undefined;
                        throw e;
                    },
                );
            const endpoint: Promise<aws.ec2.VpcEndpoint | undefined> = found.then(id =>
                id !== undefined
                    ? undefined
                    : new aws.ec2.VpcEndpoint(
                          `${name}-s3`,
                          {
                              vpcId: existing.vpcId,
                              serviceName,
                              vpcEndpointType: "Gateway",
                              routeTableIds: this.routeTableIds,
                              tags: { ...tags, Name: `${name}-s3` },
                          },
                          { parent: this },
                      ),
            );
            // Returning the created endpoint's id from apply keeps the endpoint among the output's resources.
            this.s3EndpointId = pulumi
                .output(Promise.all([found, endpoint]))
                .apply(([id, e]) => (e ? e.id : pulumi.output(id!)));
        } else {
            const vpc = new aws.ec2.Vpc(
                `${name}-vpc`,
                {
                    cidrBlock: args.vpcCidr,
                    enableDnsHostnames: true,
                    enableDnsSupport: true,
                    tags: { ...tags, Name: `${name}-vpc` },
                },
                { parent: this },
            );
            const igw = new aws.ec2.InternetGateway(
                `${name}-igw`,
                {
                    vpcId: vpc.id,
                    tags: { ...tags, Name: `${name}-igw` },
                },
                { parent: this },
            );
            const routes = new aws.ec2.RouteTable(
                `${name}-public`,
                {
                    vpcId: vpc.id,
                    routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }],
                    tags: { ...tags, Name: `${name}-public` },
                },
                { parent: this },
            );
            const cidrs = subnetCidrs(args.vpcCidr, args.zones.length);
            this.subnetIds = args.zones.map((zone, i) => {
                const subnet = new aws.ec2.Subnet(
                    `${name}-${zone}`,
                    {
                        vpcId: vpc.id,
                        availabilityZone: zone,
                        cidrBlock: cidrs[i],
                        // The nodes need a public address for SSH from the admin network and for package mirrors.
                        mapPublicIpOnLaunch: true,
                        tags: { ...tags, Name: `${name}-${zone}` },
                    },
                    { parent: this },
                );
                new aws.ec2.RouteTableAssociation(
                    `${name}-${zone}`,
                    {
                        subnetId: subnet.id,
                        routeTableId: routes.id,
                    },
                    { parent: this },
                );
                this.subnetIdByZone[zone] = subnet.id;
                return subnet.id;
            });
            this.vpcId = vpc.id;
            // The table the nodes' subnets use, from the resource itself: a lookup of the VPC's tables can run
            // before it exists and miss it, and the nodes' S3 reads then bypass the endpoint (403 from the policy).
            this.routeTableIds = routes.id.apply(id => [id]);
            const endpoint = new aws.ec2.VpcEndpoint(
                `${name}-s3`,
                {
                    vpcId: vpc.id,
                    serviceName,
                    vpcEndpointType: "Gateway",
                    routeTableIds: [routes.id],
                    tags: { ...tags, Name: `${name}-s3` },
                },
                { parent: this },
            );
            this.s3EndpointId = endpoint.id;
        }
        this.registerOutputs({ vpcId: this.vpcId, subnetIds: this.subnetIds, s3EndpointId: this.s3EndpointId });
    }

    /** The subnet for node `index`, which sits in zone `zone`. */
    subnetIdForNode(index: number, zone: string): pulumi.Output<string> {
        if (this.existingPerNode) return this.existingPerNode[index];
        const id = this.subnetIdByZone[zone];
        if (!id)
            throw new Error(
                `no subnet for zone ${zone}: zones of this network are ${Object.keys(this.subnetIdByZone).join(", ")}`,
            );
        return id;
    }
}
