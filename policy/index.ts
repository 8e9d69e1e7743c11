/**
 * The AdvWell policy pack. Run it with any preview or update:
 *
 *   pulumi preview --policy-pack policy        (from the repository root, after npm ci)
 *
 * The CLI starts this file with the repository's own @pulumi/pulumi (run-policy-pack) and ts-node,
 * from this directory: see docs/delivery.md ("The policy pack").
 */
import { PolicyPack } from "@pulumi/policy";
import { makePolicies, stackEnvironmentFromEnv } from "./policies";

new PolicyPack("advwell", {
  description:
    "AdvWell: Swarm services are bounded, health-checked, roll back and run fully pinned images; only Traefik publishes ports; no added capabilities, Docker socket or host root where they do not belong; secret files private; the database's networks internal and encrypted, the edge network for routed services only; stateful data is protected; backups are private, encrypted, versioned, TLS-only and undeletable by their writer; credentials live only in Swarm secrets.",
  enforcementLevel: "mandatory",
  policies: makePolicies({ stackEnvironment: stackEnvironmentFromEnv(process.env) }),
});
