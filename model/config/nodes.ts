/**
 * The node inventory (`advwell:nodes`): one `name=vps-1,cpus=4,memory=16GiB,role=manager` entry per
 * Swarm node (Pulumi's project config types have no objects).
 */
import { formatMiB, parseSizeMiB } from "../units";
import { CONFIG_KEYS, configKey } from "./keys";
import { quoted } from "./references";

export const NODE_ROLES = ["manager", "worker"] as const;
export type NodeRole = (typeof NODE_ROLES)[number];

/** Bounds of a node that can exist: Swarm nodes beyond these are typos (`cpus=0x10`, `memory=99999TiB`). */
export const NODE_LIMITS = { maxCpus: 512, minMemoryMiB: 512, maxMemoryMiB: 16 * 1024 * 1024 } as const;

export interface NodeSpec {
  /** The node's hostname in the swarm; also the value of its `advwell.node` label. */
  readonly name: string;
  readonly role: NodeRole;
  readonly cpus: number;
  readonly memoryMiB: number;
}

const FIELDS = ["name", "cpus", "memory", "role"] as const;

/** One entry, or the reason it is not a node. */
export function parseNode(text: string): NodeSpec | string {
  const fields: Record<string, string> = {};
  for (const part of text.split(",")) {
    const [k, ...rest] = part.split("=");
    const field = k?.trim();
    if (!field || rest.length === 0) return `${quoted(part.trim())} is not key=value`;
    if (!(FIELDS as readonly string[]).includes(field)) return `${quoted(field)} is not a node field (fields: ${FIELDS.join(", ")})`;
    if (fields[field] !== undefined) return `${quoted(field)} is given twice`;
    fields[field] = rest.join("=").trim();
  }
  if (!fields.name || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(fields.name)) return `name ${quoted(fields.name ?? "")} is not a hostname (letters, digits, ".", "_", "-")`;
  const cpusText = fields.cpus ?? "";
  const cpus = /^\d{1,4}(\.\d{1,3})?$/.test(cpusText) ? Number(cpusText) : NaN;
  if (!(cpus > 0 && cpus <= NODE_LIMITS.maxCpus)) return `cpus ${quoted(cpusText)} is not a decimal number of CPUs from 0.001 to ${NODE_LIMITS.maxCpus}`;
  const memoryMiB = fields.memory === undefined ? undefined : parseSizeMiB(fields.memory);
  if (memoryMiB === undefined) return `memory ${quoted(fields.memory ?? "")} is not a size like 16GiB or 8192MiB`;
  if (memoryMiB < NODE_LIMITS.minMemoryMiB || memoryMiB > NODE_LIMITS.maxMemoryMiB) {
    return `memory ${quoted(fields.memory)} is outside ${formatMiB(NODE_LIMITS.minMemoryMiB)} to ${formatMiB(NODE_LIMITS.maxMemoryMiB)}`;
  }
  const role = fields.role ?? "worker";
  if (!(NODE_ROLES as readonly string[]).includes(role)) return `role ${quoted(role)} is not manager or worker`;
  return { name: fields.name, cpus, memoryMiB, role: role as NodeRole };
}

type Fail = (key: string, got: unknown, allowed: string) => undefined;

/** The whole inventory: every entry a node, names unique, at least one manager. */
export function parseNodes(entries: string[] | undefined, fail: Fail): NodeSpec[] | undefined {
  if (!entries) return undefined;
  const key = configKey("nodes");
  const allowed = CONFIG_KEYS.nodes.allowed;
  if (entries.length === 0) return fail(key, entries, allowed);
  const nodes: NodeSpec[] = [];
  entries.forEach((entry, index) => {
    const node = parseNode(entry);
    if (typeof node === "string") fail(`${key}[${index}]`, entry, `${allowed} (${node})`);
    else nodes.push(node);
  });
  if (nodes.length !== entries.length) return undefined;
  const seen = new Set<string>();
  for (const [index, node] of nodes.entries()) {
    if (seen.has(node.name)) return fail(`${key}[${index}]`, entries[index], `${allowed} (node name "${node.name}" is already used by an earlier entry)`);
    seen.add(node.name);
  }
  if (!nodes.some((n) => n.role === "manager")) return fail(key, entries, `${allowed} (no entry has role=manager)`);
  return nodes;
}
