// The plugin's entry point (package.json `main`, PulumiPlugin.yaml): `pulumi package add` and every deployment of a
// program using the package start it through the Node.js language host, which passes the engine's address as the
// first argument. It exports nothing on purpose: exported component classes would make the language host start its
// own provider (without the secret markings) next to this one.
import { main } from "@pulumi/pulumi/provider";
import { HaWordPressProvider } from "./provider";

void main(new HaWordPressProvider(), process.argv.slice(2));
