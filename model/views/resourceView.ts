/** The resource tree a reviewer reads: type, name, parent, key inputs and protection. Pure. */
import type { ResourceLike } from "./diff";

export interface ResourceNode extends ResourceLike {
  /** The parent's name, for older captures without URNs. */
  readonly parent: string | null;
  readonly urn?: string;
  readonly parentUrn?: string | null;
}

/** The few inputs that say what a resource is; everything else is in --json. */
export function keyInputs(r: ResourceNode): string {
  const i = r.inputs as Record<string, any>;
  const parts: string[] = [];
  if (typeof i.name === "string") parts.push(`name=${i.name}`);
  if (r.type === "docker:index/service:Service") {
    const spec = i.taskSpec === "[secret]" ? undefined : i.taskSpec;
    if (spec?.containerSpec?.image) parts.push(`image=${spec.containerSpec.image}`);
    if (i.mode?.replicated?.replicas !== undefined) parts.push(`replicas=${i.mode.replicated.replicas}`);
    const lim = spec?.resources?.limits;
    if (lim) parts.push(`limits=${lim.nanoCpus / 1e9}cpu/${Math.round(lim.memoryBytes / 1048576)}MiB`);
    if (i.updateConfig?.order) parts.push(`update=${i.updateConfig.order}x${i.updateConfig.parallelism}`);
    if (spec === undefined) parts.push("taskSpec=[secret]");
  }
  if (typeof i.bucket === "string") parts.push(`bucket=${i.bucket}`);
  if (typeof i.bucketPrefix === "string") parts.push(`bucketPrefix=${i.bucketPrefix}`);
  if (typeof i.driver === "string") parts.push(`driver=${i.driver}`);
  if (r.protect) parts.push("protect");
  if (r.retainOnDelete) parts.push("retainOnDelete");
  return parts.join(" ");
}

/**
 * The tree by URN: two components may share a name (the backup bucket and the backup service are
 * both `backup`), and a child belongs to exactly one of them.
 */
export function formatResourceTree(resources: readonly ResourceNode[]): string {
  const id = (r: ResourceNode) => r.urn ?? `${r.type}::${r.name}`;
  const children = new Map<string | null, ResourceNode[]>();
  const known = new Set(resources.map(id));
  for (const r of resources) {
    const parent = r.parentUrn && known.has(r.parentUrn) ? r.parentUrn : null;
    children.set(parent, [...(children.get(parent) ?? []), r]);
  }
  const lines: string[] = [];
  const walk = (parent: string | null, depth: number) => {
    for (const r of children.get(parent) ?? []) {
      lines.push(`${"  ".repeat(depth)}${r.type} ${r.name}${keyInputs(r) ? `  (${keyInputs(r)})` : ""}`);
      if (r.type.startsWith("advwell:")) walk(id(r), depth + 1);
    }
  };
  walk(null, 0);
  return lines.join("\n") + "\n";
}
