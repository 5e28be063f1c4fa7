// The one builder that turns a host-step plan into remote.Commands, for GlusterCluster, WordPressTier and
// Fail2BanJail alike: one command per step, its text from renderStep, its secret parameters on stdin (renderSecrets),
// its dependencies from the plan (steps of other plans are resources given in `external`).
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { HostStep, renderSecrets, renderStep, topoOrder } from "./hostStep";

export type Connection = pulumi.Input<command.types.input.remote.ConnectionArgs>;

export interface HostCommandsArgs {
    /** The plan (values are Pulumi inputs). */
    plan: HostStep<pulumi.Input<string>>[];
    /** SSH connection per node name (stored as a secret). */
    connections: Record<string, Connection>;
    /**
     * Step ids outside this plan, each a resource or a value whose producer the step waits for (e.g. `mount-node-gfs1`
     * -> the `mounted` value of GlusterCluster's node). Default none.
     */
    external?: Record<string, pulumi.Resource | pulumi.Input<string>>;
    /** More resources a step waits for, by step id (e.g. the brick step waits for its volume attachment). Default none. */
    extraDependsOn?: Record<string, pulumi.Resource[] | Promise<pulumi.Resource[]>>;
    /** Extra triggers per step id: a change replaces the command, so its script runs again. Default none. */
    triggers?: Record<string, pulumi.Input<unknown>[]>;
    /** Triggers of every step on a host, by node name: its instance id, so a replaced instance gets every step again. Default none. */
    hostTriggers?: Record<string, pulumi.Input<unknown>[]>;
    /** Resource name prefix: a step's command is `<prefix>-<step id>`. */
    prefix: string;
}

/** The command text of a step (secret parameters are not in it). */
export function stepText(step: HostStep<pulumi.Input<string>>): pulumi.Output<string> {
    const secretNames = Object.keys(step.secrets ?? {});
    return pulumi
        .all(step.params as Record<string, pulumi.Input<string>>)
        .apply(p => renderStep(step.script, p, secretNames));
}

/** The stdin of a step: its secret parameters, always a Pulumi secret; undefined when it has none. */
export function stepStdin(step: HostStep<pulumi.Input<string>>): pulumi.Output<string> | undefined {
    if (!step.secrets || Object.keys(step.secrets).length === 0) return undefined;
    return pulumi.secret(pulumi.all(step.secrets as Record<string, pulumi.Input<string>>).apply(renderSecrets));
}

/**
 * A `dependsOn` entry that waits for whatever produced `value` (an output keeps the resources it came from): how a
 * step waits for another component's step it only knows by an output value.
 */
export function waitFor(value: pulumi.Input<string>): pulumi.Resource {
    return pulumi.output(value).apply((): pulumi.Resource[] => []) as unknown as pulumi.Resource;
}

export function hostCommands(parent: pulumi.Resource, args: HostCommandsArgs): Record<string, command.remote.Command> {
    const out: Record<string, command.remote.Command> = {};
    // Order by the plan's own dependencies; the others are resources that exist already.
    const inPlan = new Set(args.plan.map(s => s.id));
    const ordered = topoOrder(args.plan.map(s => ({ ...s, dependsOn: s.dependsOn.filter(d => inPlan.has(d)) })));
    const byId = new Map(args.plan.map(s => [s.id, s]));
    for (const { id } of ordered) {
        const step = byId.get(id)!;
        const connection = args.connections[step.host];
        if (!connection) throw new Error(`no SSH connection for host ${step.host} (step ${step.id})`);
        const dependsOn = step.dependsOn.map(d => {
            const dep = out[d] ?? args.external?.[d];
            if (!dep)
                throw new Error(`step ${step.id} depends on ${d}, which is neither in the plan nor given as external`);
            return pulumi.Resource.isInstance(dep) ? dep : waitFor(dep);
        });
        const extra = args.extraDependsOn?.[step.id];
        out[step.id] = new command.remote.Command(
            `${args.prefix}-${step.id}`,
            {
                connection: pulumi.secret(connection),
                create: stepText(step),
                stdin: stepStdin(step),
                triggers: [...(args.hostTriggers?.[step.host] ?? []), ...(args.triggers?.[step.id] ?? [])],
                // `environment` needs AcceptEnv, which a default sshd lacks: parameters are in the text, secrets on stdin.
                // No delete command: removing the stack must never uninstall the site, unmount or wipe a brick.
                addPreviousOutputInEnv: false,
            },
            {
                parent,
                dependsOn: extra
                    ? (Promise.resolve(extra).then((e): pulumi.Resource[] => [...dependsOn, ...e]) as Promise<
                          pulumi.Resource[]
                      > as unknown as pulumi.Input<pulumi.Resource[]>)
                    : dependsOn,
                customTimeouts: { create: "30m", update: "30m" },
            },
        );
    }
    return out;
}
