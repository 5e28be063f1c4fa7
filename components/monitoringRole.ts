// MonitoringRole: the nodes' IAM role and instance profile, with exactly what the metrics publisher needs
// (cloudwatch:PutMetricData into its own namespace). Its own small component, created BEFORE GlusterCluster, because
// the instances take the profile at creation (GlusterClusterArgs.iamInstanceProfile) while Monitoring needs the
// cluster's instance ids: one component holding both would be a cycle. Giving GlusterCluster a profile name is the
// least invasive way: it stays free of monitoring, and EC2 associates a profile with a running instance in place
// (AssociateIamInstanceProfile; the provider updates `iamInstanceProfile` without replacing the instance), so an
// existing stack gets the role on its next `pulumi up` with no node replaced or stopped.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { METRICS_NAMESPACE, ec2AssumeRolePolicy, metricsPublisherPolicy } from "./monitoringPlan";

export interface MonitoringRoleArgs {
    /** Region of the stack (the trust policy's EC2 principal differs in China). */
    region: string;
    /** The one CloudWatch namespace the nodes may publish into. Default `HaWordPress` (METRICS_NAMESPACE). */
    namespace?: string;
    /** Tags for every AWS resource. Default none. */
    tags?: Record<string, string>;
}

export class MonitoringRole extends pulumi.ComponentResource {
    /** The nodes' role. */
    public readonly role!: aws.iam.Role;
    /** The instance profile holding it: give its name to GlusterClusterArgs.iamInstanceProfile. */
    public readonly instanceProfile!: aws.iam.InstanceProfile;
    /** The profile's name. */
    public readonly instanceProfileName!: pulumi.Output<string>;
    /** The namespace the role may publish into. */
    public readonly namespace!: string;
    /** The role's policy: the publisher steps wait for it. */
    public readonly policy!: aws.iam.RolePolicy;

    constructor(name: string, args: MonitoringRoleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ha-wordpress:index:MonitoringRole", name, args, opts);
        Object.assign(this, createMonitoringRole(this, name, args));
        this.registerOutputs({ instanceProfileName: this.instanceProfileName });
    }
}

function createMonitoringRole(parent: pulumi.Resource, name: string, args: MonitoringRoleArgs) {
    const namespace = args.namespace ?? METRICS_NAMESPACE;
    const tags = args.tags ?? {};
    const role = new aws.iam.Role(
        `${name}-nodes`,
        {
            description: `ha-wordpress nodes: publish their health metrics to CloudWatch namespace ${namespace}, nothing else`,
            assumeRolePolicy: JSON.stringify(ec2AssumeRolePolicy(args.region)),
            tags,
        },
        { parent },
    );
    // An inline policy: it lives and dies with the role, and no other principal can be given it by mistake.
    const policy = new aws.iam.RolePolicy(
        `${name}-put-metric-data`,
        {
            role: role.name,
            policy: JSON.stringify(metricsPublisherPolicy(namespace)),
        },
        { parent },
    );
    const instanceProfile = new aws.iam.InstanceProfile(`${name}-nodes`, { role: role.name, tags }, { parent });
    return { role, instanceProfile, instanceProfileName: instanceProfile.name, namespace, policy };
}
