/**
 * Stateful resources are `protect`ed, so `pulumi destroy` and an accidental removal from the
 * program stop at them:
 *
 * - PostgreSQL's data volumes, in every environment (components/postgres.ts and
 *   components/postgresReplica.ts protect them everywhere): `advwell-postgres-data`, the replica
 *   volumes `advwell-postgres-replica-data-<n>`, and any volume labelled `advwell.stateful=true`
 *   (the primary's label) or `advwell.volume=postgres-replica` (the replicas' label).
 * - S3 buckets in production only. The program protects the backup bucket when
 *   `advwell:environment` is production (model/backup.ts: `protect: production`); staging and
 *   development buckets hold disposable backups and may be destroyed with their stack. The
 *   environment is read from the stack's config when the engine passes it to the pack, and from the
 *   bucket's `environment` tag; when either says production, or neither says anything, the bucket
 *   must be protected (unknown counts as production).
 */
import { labelMap, TYPES } from "./common";

export const POSTGRES_DATA_VOLUME = "advwell-postgres-data";
export const REPLICA_DATA_VOLUME = /^advwell-postgres-replica-data-\d+$/;

export function isDatabaseVolume(props: Record<string, any>): boolean {
  const name = props.name;
  const labels = labelMap(props.labels);
  return (
    name === POSTGRES_DATA_VOLUME ||
    (typeof name === "string" && REPLICA_DATA_VOLUME.test(name)) ||
    labels["advwell.stateful"] === "true" ||
    labels["advwell.volume"] === "postgres-replica"
  );
}

export interface ProtectionContext {
  /** `advwell:environment` of the stack, when known. */
  readonly stackEnvironment?: string;
}

export function bucketNeedsProtection(props: Record<string, any>, ctx: ProtectionContext): boolean {
  const tagged = props.tags && typeof props.tags === "object" ? props.tags.environment : undefined;
  const known = [ctx.stackEnvironment, tagged].filter((e): e is string => typeof e === "string" && e !== "");
  return known.length === 0 || known.includes("production");
}

export function protectionViolations(type: string, props: Record<string, any>, opts: { readonly protect: boolean }, ctx: ProtectionContext = {}): string[] {
  if (opts.protect) return [];
  if (type === TYPES.volume && isDatabaseVolume(props)) {
    return [`database volume ${JSON.stringify(props.name ?? "?")} is not protected: pulumi destroy (or removing it from the program) would delete PostgreSQL's data`];
  }
  if (type === TYPES.bucket && bucketNeedsProtection(props, ctx)) {
    return [`production backup bucket ${JSON.stringify(props.bucket ?? props.bucketPrefix ?? "?")} is not protected: pulumi destroy would delete the backups`];
  }
  return [];
}
