/**
 * The real-engine check's program: generated credentials exactly as components/advwell.ts and
 * components/monitoring.ts make them (random.RandomPassword, 32 characters, no special ones), so
 * the built CLI, language host and random provider run the same resource the stack does.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

const config = new pulumi.Config();
const length = config.getNumber("length") ?? 32;
const names = (config.get("passwords") ?? "db,grafana").split(",").filter((n) => n !== "");

const passwords = names.map((n) => new random.RandomPassword(`check-${n}`, { length, special: false }));

export const results = pulumi.secret(Object.fromEntries(names.map((n, i) => [n, passwords[i].result])));
export const ids = passwords.map((p) => p.id);
