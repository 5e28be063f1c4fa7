// The ha-wordpress component package: exactly the four components another Pulumi program uses (any language, through
// `pulumi package add`; TypeScript may also import this module directly). Their Args and output types are plain and
// documented, so @pulumi/pulumi's analyzer infers the package schema from them (tests/unit/schema.test.ts).
export { HaWordPress } from "./haWordPress";
export { GlusterCluster } from "./glusterCluster";
export { WordPressTier } from "./wordpressTier";
export { Fail2BanJail } from "./fail2banJail";
