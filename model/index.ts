/**
 * The pure model: config keys and settings, the service table, tiers, the plan's stages, PostgreSQL
 * tuning, placement, rendered files and the views of a plan. Nothing here imports Pulumi, touches
 * the file system or reads the environment; `resolveStack` is the one entry the program, the plan
 * command and the tests use.
 */
export * from "./findings";
export * from "./units";
export * from "./tiers";
export * from "./services";
export * from "./config/keys";
export * from "./config/references";
export * from "./config/nodes";
export * from "./config/overrides";
export * from "./config/settings";
export * from "./cron";
export * from "./placement";
export * from "./plan/types";
export * from "./plan/services";
export * from "./plan/backend";
export * from "./plan/connections";
export * from "./plan/postgres";
export * from "./plan/nodes";
export * from "./plan/resolve";
export * from "./postgres/tuning";
export * from "./replication";
export * from "./backup/plan";
export * from "./backup/policies";
export * from "./backup/contract";
export * from "./backup/pitr";
export * from "./monitoring/plan";
export * from "./monitoring/alerts";
export * from "./monitoring/files";
export * from "./render/postgres";
export * from "./render/pgbouncer";
export * from "./render/urls";
export * from "./render/traefik";
export * from "./render/probes";
export * from "./views/report";
export * from "./views/diff";
export * from "./views/resourceView";
export * from "./views/configTable";
export * from "./views/impact";
export * from "./views/redact";
export * from "./views/rotation";
export * from "./postgres/reconcile";
export * from "./postgres/pgtune";
export * from "./postgres/catalog";
export * from "./postgres/minors";
export * from "./postgres/memory";
