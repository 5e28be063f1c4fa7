// Turns a host-step plan into remote.Commands: one per step, command text from renderStep, dependencies from the
// plan (steps of other plans, e.g. the Gluster mounts, are looked up in `external`). Used by WordPressTier and
// Fail2BanJail.
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { HostStep, renderStep, topoOrder } from "./hostStep";

export type Connection = pulumi.Input<command.types.input.remote.ConnectionArgs>;

export interface PlanCommandsArgs {
    /** The plan (values are Pulumi inputs). */
    plan: HostStep<pulumi.Input<string>>[];
    /** SSH connection per node name (stored as a secret). */
    connections: Record<string, Connection>;
    /** Resources standing for step ids outside this plan (e.g. `mount-node-gfs1` -> GlusterCluster's command). */
    external?: Record<string, pulumi.Resource>;
    /** Extra triggers per step id: a change replaces the command, so its script runs again. */
    triggers?: Record<string, pulumi.Input<unknown>[]>;
    /** Triggers of every step on a host, by node name: its instance id, so a replaced instance gets every step again. */
    hostTriggers?: Record<string, pulumi.Input<unknown>[]>;
    /** Resource name prefix. */
    prefix: string;
}

/** The command text of a step: a secret whenever any parameter is. */
export function stepText(step: HostStep<pulumi.Input<string>>): pulumi.Output<string> {
    return pulumi.all(step.params as Record<string, pulumi.Input<string>>).apply(p => renderStep(step.script, p));
}

export function planCommands(parent: pulumi.Resource, args: PlanCommandsArgs): Record<string, command.remote.Command> {
    const out: Record<string, command.remote.Command> = {};
    // Order by the plan's own dependencies; the others are resources that exist already.
    const inPlan = new Set(args.plan.map(s => s.id));
    const ordered = topoOrder(args.plan.map(s => ({ ...s, dependsOn: s.dependsOn.filter(d => inPlan.has(d)) })));
    const byId = new Map(args.plan.map(s => [s.id, s]));
    for (const { id } of ordered) {
        const step = byId.get(id)!;
        const connection = args.connections[step.host];
        if (!connection) throw new Error(`no SSH connection for host ${step.host} (step ${step.id})`);
        const dependsOn = step.dependsOn.map(id => {
            const dep = out[id] ?? args.external?.[id];
            if (!dep) throw new Error(`step ${step.id} depends on ${id}, which is neither in the plan nor given as external`);
            return dep;
        });
        out[step.id] = new command.remote.Command(`${args.prefix}-${step.id}`, {
            connection: pulumi.secret(connection),
            create: stepText(step),
            triggers: [...(args.hostTriggers?.[step.host] ?? []), ...(args.triggers?.[step.id] ?? [])],
            // Parameters travel in the command text (a default sshd drops `environment`). No delete command:
            // removing the stack must never uninstall the site or wipe the volume.
            addPreviousOutputInEnv: false,
        }, { parent, dependsOn, customTimeouts: { create: "30m", update: "30m" } });
    }
    return out;
}
