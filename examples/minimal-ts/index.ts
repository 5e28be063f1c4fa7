// A Pulumi program of its own using the ha-wordpress component package: one HaWordPress builds the network, the
// three Gluster nodes, the database, the load balancer and jailwatch. `pulumi package add ../..` generates the SDK
// imported here; tsconfig.json maps the same name onto the package's own sources, so the repository's tests can
// typecheck this program without the Pulumi CLI.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as ha from "@pulumi/ha-wordpress";

const config = new pulumi.Config();
const region = config.require("region");
const provider = new aws.Provider("aws", { region: region as aws.Region });

const site = new ha.HaWordPress(
    "blog",
    {
        region,
        availabilityZones: [`${region}a`, `${region}b`, `${region}c`],
        instanceType: "t4g.small",
        architecture: "arm64",
        keyName: config.require("keyName"),
        adminCidr: config.require("adminCidr"),
        ssh: { user: "admin", privateKey: config.requireSecret("sshPrivateKey") },
        // A small, unprotected database: a test site, not production.
        database: {
            instanceClass: "db.t4g.micro",
            engineVersion: "8.4",
            allocatedStorageGiB: 20,
            multiAz: false,
            deletionProtection: false,
            backupRetentionDays: 1,
            name: "wordpress",
            user: "dbmaster",
            appUser: "wordpress",
        },
        adminEmail: config.require("adminEmail"),
        siteTitle: "Minimal HA WordPress",
    },
    { providers: [provider] },
);

export const url = site.siteUrl;
export const adminUser = site.wordpressAdminUser;
export const adminPassword = site.wordpressAdminPassword;
