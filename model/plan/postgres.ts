/**
 * Stage 4: PostgreSQL settings. PGTune's settings for the container and the plan's max_connections,
 * the plan's departures (model/postgres/tuning.ts), then the operator's `postgres.settings.*`
 * overrides, each checked against PostgreSQL 15's own parameter table; then the honest worst
 * case against the container.
 */
import { configKey, overrideKey } from "../config/keys";
import { parseImageReference, postgresMajor } from "../config/references";
import type { Settings } from "../config/settings";
import { error, Finding, warning } from "../findings";
import { canonicalSettingName, checkSetting, crashSafetyRisk, settingKiB, stackOwnedReason, startupProblem, weakerPasswordEncryption } from "../postgres/catalog";
import { imageMinorNote, parametersMissingAt } from "../postgres/minors";
import { worstCaseMemory } from "../postgres/memory";
import { shmSizeMiB, tunePostgres } from "../postgres/tuning";
import { planPitr } from "../backup/pitr";
import type { Departure } from "../postgres/tuning";
import { HBA_FILE, pgHbaLines } from "../render/postgres";
import { DATA_MOUNT_PATH, PGDATA, REPLICATION_USER, replicationHbaLine } from "../replication";
import { formatMiB } from "../units";
import type { PostgresPlan, ServicePlans, Staged } from "./types";

/** The volume the stack creates for PostgreSQL's data when it adopts none. */
export const DATA_VOLUME = "advwell-postgres-data";

/**
 * The operator's overrides PostgreSQL would refuse, or the stack must refuse, as findings naming
 * `advwell:overrides[postgres.settings.<name>]`. Settings PostgreSQL refuses would stop the
 * database at its next start (it updates stop-first: an outage), so none reaches a deploy.
 */
export function overrideFindings(overrides: Readonly<Record<string, string>>, derived: Readonly<Record<string, string>>, imageTag?: string): Finding[] {
  const findings: Finding[] = [];
  const missing = parametersMissingAt(imageTag);
  for (const [name, value] of Object.entries(overrides)) {
    const key = overrideKey(`postgres.settings.${name}`);
    const owned = stackOwnedReason(name);
    if (owned) {
      findings.push(error(key, `got ${JSON.stringify(value)}; allowed: nothing, the stack sets ${name} itself: ${owned}`));
      continue;
    }
    const problem = checkSetting(name, value, { ...derived, ...overrides });
    if (problem) {
      findings.push(error(key, `got ${JSON.stringify(value)}; allowed: ${problem.allowed}${problem.suggestion ? ` (did you mean ${problem.suggestion}?)` : ""}`));
      continue;
    }
    const canonical = canonicalSettingName(name) ?? name;
    if (missing.includes(canonical)) {
      findings.push(error(key, `got ${JSON.stringify(value)}; allowed: a parameter PostgreSQL ${imageTag} has: ${canonical} came in a later 15.x minor (model/postgres/minors.ts), and the server would refuse to start; move ${configKey("postgresImage")} to a current minor`));
      continue;
    }
    const refusal = startupProblem(name, value);
    if (refusal) {
      findings.push(error(key, `got ${JSON.stringify(value)}; allowed: ${refusal}`));
      continue;
    }
    const risk = crashSafetyRisk(name, value);
    if (risk?.level === "refuse") {
      findings.push(error(key, `got ${JSON.stringify(value)}; allowed: on (the default): ${risk.why}`));
      continue;
    }
    if (risk) findings.push(warning(key, `${name} = ${JSON.stringify(value)}: ${risk.why}`));
    if (name.toLowerCase() === "password_encryption") {
      const weaker = weakerPasswordEncryption(value);
      if (weaker) findings.push(warning(key, weaker));
    }
  }
  return findings;
}

export function planPostgres(settings: Settings, services: ServicePlans, maxConnections: number): Staged<PostgresPlan> {
  const o = settings.overrides;
  const findings: Finding[] = [];
  const postgresService = services.postgres!;
  const tuned = tunePostgres({
    memoryLimitMiB: postgresService.memoryLimitMiB,
    cpuLimit: postgresService.cpuLimit,
    maxConnections,
    replicationSlots: services["postgres-replica"]?.replicas ?? 0,
  });
  // The stack owns pg_hba.conf: a config it renders (below), so a taken-over cluster's own file and a
  // replica tier's replication line never depend on what initdb once wrote into PGDATA.
  const derived: Record<string, string> = { ...tuned.settings, hba_file: HBA_FILE };
  // Point-in-time recovery: the primary archives every WAL segment with pgBackRest (model/backup/pitr.ts).
  const pitr = planPitr(settings);
  const pitrDepartures: Departure[] = [];
  if (pitr) {
    Object.assign(derived, pitr.postgresSettings);
    pitrDepartures.push({
      setting: "archive_mode",
      plan: "on",
      why: `point-in-time recovery (advwell:backupPitrEnabled): every WAL segment goes to the bucket, at least every ${pitr.archiveTimeoutSeconds} s (archive_timeout); archive_mode takes effect only at a server start, so the deploy that turns it on restarts PostgreSQL once`,
    });
  }
  const imageTag = parseImageReference(settings.images.postgresImage)?.tag;
  const overrideProblems = overrideFindings(o.postgresSettings, derived, imageTag);
  const minorNote = imageMinorNote(imageTag);
  if (minorNote) findings.push(warning(configKey("postgresImage"), `${settings.images.postgresImage}: ${minorNote}`));
  findings.push(...overrideProblems);
  // Refused overrides are left out, so the plan still describes a server that starts.
  const refused = new Set(overrideProblems.filter((f) => f.level === "error").map((f) => f.key));
  const accepted = Object.fromEntries(Object.entries(o.postgresSettings).filter(([name]) => !refused.has(overrideKey(`postgres.settings.${name}`))));
  const pgSettings: Record<string, string> = { ...derived, ...accepted };

  const base = worstCaseMemory(pgSettings);
  // pgBackRest's archiver runs inside the primary's container, so its memory is charged there too.
  const worst = pitr ? { totalMiB: base.totalMiB + pitr.archiverMemoryMiB, parts: { ...base.parts, pgbackrestArchiver: pitr.archiverMemoryMiB } } : base;
  if (worst.totalMiB > postgresService.memoryLimitMiB) {
    const settingsKeys = Object.keys(accepted);
    // The override that pushed it over: a setting, max_connections, the container, or what sizes the budget.
    const backend = o.services.backend ?? {};
    const key =
      settingsKeys.length > 0 ? overrideKey(`postgres.settings.${settingsKeys[0]}`)
      : o.maxConnections ? overrideKey("postgres.maxConnections")
      : o.services.postgres?.memoryLimitMiB ? overrideKey("postgres.memoryLimit")
      : o.connectionLimit ? overrideKey("backend.connectionLimit")
      : backend.cpuLimit !== undefined ? overrideKey("backend.cpuLimit")
      : backend.replicas !== undefined ? overrideKey("backend.replicas")
      : configKey("tier");
    const parts = Object.entries(worst.parts).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${Math.round(v)} MiB`).join(" + ");
    findings.push(error(key, `PostgreSQL can use ${Math.ceil(worst.totalMiB)} MiB at worst (${parts}) but its container is limited to ${postgresService.memoryLimitMiB} MiB: the kernel would OOM-kill the database under load`));
  }
  const cacheKiB = settingKiB("effective_cache_size", pgSettings.effective_cache_size ?? "4GB");
  if (cacheKiB !== undefined && cacheKiB / 1024 > postgresService.memoryLimitMiB) {
    findings.push(warning(overrideKey("postgres.settings.effective_cache_size"), `effective_cache_size ${pgSettings.effective_cache_size} is more than the container's ${formatMiB(postgresService.memoryLimitMiB)}: the cgroup charges page cache to the container, so the planner would count on cache that cannot exist (the seed's 4GB in 3 GB)`));
  }
  return {
    value: {
      majorVersion: postgresMajor(settings.images.postgresImage) ?? 0,
      settings: pgSettings,
      departures: [...tuned.departures, ...pitrDepartures].filter((d) => accepted[d.setting] === undefined),
      memoryLimitMiB: postgresService.memoryLimitMiB,
      worstCaseMemoryMiB: Math.ceil(worst.totalMiB),
      worstCase: Object.fromEntries(Object.entries(worst.parts).map(([k, v]) => [k, Math.round(v * 10) / 10])),
      readReplicas: services["postgres-replica"]?.replicas ?? 0,
      shmSizeMiB: shmSizeMiB(pgSettings),
      dataVolume: settings.adoption?.volume ?? DATA_VOLUME,
      adopted: settings.adoption !== undefined,
      // The official image keeps PGDATA at the volume's root; the stack's own volume uses a subdirectory.
      pgdata: settings.adoption ? DATA_MOUNT_PATH : PGDATA,
      hba: pgHbaLines((services["postgres-replica"]?.replicas ?? 0) > 0 ? [replicationHbaLine(REPLICATION_USER)] : []),
    },
    findings,
  };
}
