/**
 * AdvWell on Docker Swarm. Config -> validated settings -> pure plan -> components.
 * A plan with errors stops here, before any resource is registered.
 */
import * as pulumi from "@pulumi/pulumi";
import { AdvWell } from "./components/advwell";
import { PlanError } from "./model/findings";
import { resolveStack } from "./model/plan/resolve";

const config = pulumi.runtime.allConfig();
// Keys the CLI decrypted from `secure:` values: only credentials may be secrets (the plan refuses
// a secret tier, as the offline plan does). isConfigSecret is the SDK's own check, marked internal.
const isConfigSecret = (pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;
const secureKeys = Object.keys(config).filter((key) => isConfigSecret?.(key) === true);
const { settings, plan, findings } = resolveStack(config, pulumi.getStack(), secureKeys);
for (const f of findings.filter((x) => x.level === "warning")) pulumi.log.warn(`${f.key}: ${f.message}`);
if (!settings || !plan || findings.some((f) => f.level === "error")) throw new PlanError(findings);

// Credentials: read as secrets, never part of the plan the offline command prints.
const credentials = new pulumi.Config("advwell");
const stack = new AdvWell("advwell", {
  settings,
  plan,
  alertWebhookUrl: credentials.getSecret("alertWebhookUrl"),
  // An adopted cluster keeps its superuser's password; otherwise the stack generates one.
  superuserPassword: settings.superuserPasswordSet ? credentials.requireSecret("postgresSuperuserPassword") : undefined,
  // The backups' client-side key, and an existing S3-compatible bucket's keys (the plan checked they are set when needed).
  backupEncryptionKey: settings.backup.encryptionKeySet ? credentials.requireSecret("backupEncryptionKey") : undefined,
  backupAccessKeyId: settings.backup.storage === "s3-compatible" ? credentials.requireSecret("backupAccessKeyId") : undefined,
  backupSecretAccessKey: settings.backup.storage === "s3-compatible" ? credentials.requireSecret("backupSecretAccessKey") : undefined,
  // The app's secret environment: env-file text, delivered one Swarm secret per variable.
  secretEnv: { backend: credentials.getSecret("backendSecretEnv"), frontend: credentials.getSecret("frontendSecretEnv") },
});

export const tier = plan.tier;
export const companies = plan.companies;
export const apiUrl = stack.apiUrl;
export const appUrl = stack.appUrl;
export const dashboardUrl = stack.dashboardUrl;
export const serviceNames = stack.serviceNames;
export const capacity = {
  replicas: Object.fromEntries(Object.values(plan.services).map((s) => [s!.name, s!.replicas])),
  connections: { budget: plan.connections.budget, maxConnections: plan.connections.maxConnections },
  nodes: plan.nodes.map((n) => ({ name: n.name, cpuPercent: n.cpuPercent, memoryPercent: n.memoryPercent })),
};
export const databaseUrl = stack.databaseUrl;
export const dashboardPassword = stack.dashboardPassword;
export const grafanaUrl = stack.grafanaUrl;
export const backupBucket = stack.backupBucketName;
export const backupEncryptionKey = stack.backupEncryptionKey;
export const grafanaAdminPassword = stack.grafanaAdminPassword;
