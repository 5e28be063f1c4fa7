// The provider of the ha-wordpress component package (run by components/pluginHost.ts): @pulumi/pulumi's
// analyzer-based ComponentProvider over the four components of components/index.ts, plus what the analyzer cannot
// infer: which outputs are secrets, so the generated SDKs mark them secret as well.
import * as path from "path";
import { ComponentProvider, ComponentResourceConstructor } from "@pulumi/pulumi/provider/experimental";
import * as components from "./index";

/** The package name: the first part of every component's type token (`ha-wordpress:index:GlusterCluster`). */
export const PACKAGE_NAME = "ha-wordpress";

/** The components the package serves, in the order the README lists them. */
export const PACKAGE_COMPONENTS: ComponentResourceConstructor[] = [
    components.HaWordPress,
    components.GlusterCluster,
    components.WordPressTier,
    components.Fail2BanJail,
];

/** Outputs that hold secrets, by component: marked `secret` in the schema (the components also return them as secrets). */
export const SECRET_OUTPUTS: Record<string, string[]> = {
    HaWordPress: ["wordpressAdminPassword", "dbMasterPassword"],
    WordPressTier: ["adminPassword", "dbMasterPassword"],
    GlusterCluster: [],
    Fail2BanJail: [],
};

/** Properties of the package's object types that hold secrets, by type: marked `secret` in the schema. */
export const SECRET_TYPE_PROPERTIES: Record<string, string[]> = {
    SshArgs: ["privateKey"],
};

interface SchemaProperty {
    secret?: boolean;
}
interface Schema {
    resources: Record<string, { properties?: Record<string, SchemaProperty> }>;
    types: Record<string, { properties?: Record<string, SchemaProperty> }>;
}

/**
 * Marks the secret outputs and type properties in an analyzer schema; refuses a listed one the schema does not have
 * (renamed, dropped), so the lists cannot silently go stale.
 */
export function markSecretOutputs(schemaJson: string): string {
    const schema = JSON.parse(schemaJson) as Schema;
    for (const [type, properties] of Object.entries(SECRET_TYPE_PROPERTIES)) {
        for (const name of properties) {
            const property = schema.types[`${PACKAGE_NAME}:index:${type}`]?.properties?.[name];
            if (!property)
                throw new Error(`ha-wordpress schema: type ${type} has no property '${name}' to mark secret`);
            property.secret = true;
        }
    }
    for (const [component, outputs] of Object.entries(SECRET_OUTPUTS)) {
        const resource = schema.resources[`${PACKAGE_NAME}:index:${component}`];
        if (!resource) throw new Error(`ha-wordpress schema: no component ${component}`);
        for (const output of outputs) {
            const property = resource.properties?.[output];
            if (!property)
                throw new Error(`ha-wordpress schema: ${component} has no output '${output}' to mark secret`);
            property.secret = true;
        }
    }
    return JSON.stringify(schema);
}

/** The analyzer-based provider with the secret outputs marked. */
export class HaWordPressProvider extends ComponentProvider {
    private markedSchema?: string;

    constructor(dirname: string = path.join(__dirname, "..")) {
        super({ name: PACKAGE_NAME, dirname, components: PACKAGE_COMPONENTS });
    }

    async getSchema(): Promise<string> {
        this.markedSchema ??= markSecretOutputs(await super.getSchema());
        return this.markedSchema;
    }
}
