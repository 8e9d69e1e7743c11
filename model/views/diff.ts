/**
 * Differences between two captured resource sets (before/after a config change, or between two
 * stacks): resources added and removed, and changed inputs property by property. Changes to
 * stateful resources (volumes, buckets) are flagged loudly. Values print in human units (CPUs,
 * MiB/GiB, durations) in the text and Markdown forms; the JSON form keeps the provider's. Pure.
 */
import { base64ToText, formatMiB, roundCpus } from "../units";

export interface ResourceLike {
  /** Present in captures made since URNs were recorded; resources are matched by it when both sides have it. */
  readonly urn?: string;
  readonly type: string;
  readonly name: string;
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  readonly inputs: Record<string, unknown>;
}

export interface PropertyChange {
  readonly path: string;
  readonly before: unknown;
  readonly after: unknown;
  /** For multi-line text (rendered config files): the lines removed and added, in order. */
  readonly lines?: { readonly removed: string[]; readonly added: string[] };
}

/** Lines of `a` missing from `b`, as a multiset, in `a`'s order. */
function missingLines(a: string[], b: string[]): string[] {
  const counts = new Map<string, number>();
  for (const line of b) counts.set(line, (counts.get(line) ?? 0) + 1);
  return a.filter((line) => {
    const n = counts.get(line) ?? 0;
    if (n > 0) counts.set(line, n - 1);
    return n === 0;
  });
}

function describeChange(path: string, before: unknown, after: unknown): PropertyChange {
  if (typeof before === "string" && typeof after === "string" && (before.includes("\n") || after.includes("\n"))) {
    const b = before.split("\n");
    const a = after.split("\n");
    return { path, before: `(${b.length} lines)`, after: `(${a.length} lines)`, lines: { removed: missingLines(b, a), added: missingLines(a, b) } };
  }
  return { path, before, after };
}

export interface ResourceTag {
  readonly type: string;
  readonly name: string;
  readonly stateful: boolean;
  /** A Docker service's own name (its `name` input), which the plan's services go by. */
  readonly service?: string;
}

export interface ResourceChange extends ResourceTag {
  readonly changes: PropertyChange[];
}

export interface ResourceDiff {
  readonly before: string;
  readonly after: string;
  readonly added: ResourceTag[];
  readonly removed: ResourceTag[];
  readonly changed: ResourceChange[];
  /** True when any stateful resource is added, removed or changed. */
  readonly touchesState: boolean;
  /** What the change does to the running stack beyond its properties (a PostgreSQL restart), first in every form. */
  readonly notes: string[];
}

/** Resources whose loss loses data. */
export const STATEFUL_TYPES: ReadonlySet<string> = new Set(["docker:index/volume:Volume", "aws:s3/bucket:Bucket"]);

const SERVICE_CONFIG = "docker:index/serviceConfig:ServiceConfig";

/**
 * A resource's inputs as a reader compares them: a Swarm config's base64 `data` (what the program
 * sends, model/units.ts textToBase64) as its text, so a changed rendered file shows as a line diff
 * under the same property name the real `pulumi preview --diff` uses.
 */
function readableInputs(r: ResourceLike): Record<string, unknown> {
  if (r.type !== SERVICE_CONFIG || typeof r.inputs.data !== "string") return r.inputs;
  return { ...r.inputs, data: base64ToText(r.inputs.data) };
}

const byTypeAndName = (r: { type: string; name: string }) => `${r.type}::${r.name}`;

/** Flattens to path -> leaf value; arrays of {label, value} (Docker labels) become label maps. */
export function flatten(value: unknown, prefix = "", out: Record<string, unknown> = {}): Record<string, unknown> {
  if (Array.isArray(value)) {
    const labelled = value.length > 0 && value.every((v) => v && typeof v === "object" && "label" in v && "value" in v && Object.keys(v).length === 2);
    const settingLike = value.length > 0 && value.every((v) => typeof v === "string");
    const named = settingLike ? (value as string[]).filter((v) => v !== "-c").map((v) => /^(--)?([A-Za-z_][\w.-]*)=([\s\S]*)$/.exec(v)) : [];
    const byName = named.length > 0 && named.every((m) => m !== null) && new Set(named.map((m) => m![2])).size === named.length;
    if (byName) {
      // `-c name=value` and `--flag=value` lists read best keyed by name, not by position.
      for (const m of named) out[`${prefix}[${m![2]}]`] = m![3];
    } else if (labelled) {
      for (const v of value as { label: string; value: unknown }[]) flatten(v.value, `${prefix}[${v.label}]`, out);
    } else if (value.length === 0) {
      out[prefix] = [];
    } else {
      value.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out));
    }
  } else if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) out[prefix] = {};
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out[prefix] = value;
  }
  return out;
}

/**
 * A URN without its stack and project: the parents' types joined by "$", then the type and the
 * name. That is what the engine keys a resource on within one stack (`urn:pulumi:<stack>::<project>::
 * <qualified type>::<name>`, pulumi/sdk/go/common/resource/urn.go, NewURN), so the same resource in
 * two stacks (staging and production) is matched, not shown as one removal and one addition.
 */
export function urnInStack(urn: string): string {
  const parts = urn.split("::");
  return parts.length >= 4 ? parts.slice(2).join("::") : urn;
}

export function diffResources(beforeName: string, before: readonly ResourceLike[], afterName: string, after: readonly ResourceLike[]): ResourceDiff {
  // The URN's type and name when both captures have URNs (a base branch's capture may predate them).
  const useUrns = [...before, ...after].every((r) => r.urn !== undefined);
  const keyOf = (r: ResourceLike) => (useUrns ? urnInStack(r.urn!) : byTypeAndName(r));
  const b = new Map(before.map((r) => [keyOf(r), r]));
  const a = new Map(after.map((r) => [keyOf(r), r]));
  const tag = (r: ResourceLike): ResourceTag => ({
    type: r.type,
    name: r.name,
    stateful: STATEFUL_TYPES.has(r.type),
    ...(r.type === "docker:index/service:Service" && typeof r.inputs.name === "string" ? { service: r.inputs.name } : {}),
  });
  const added = after.filter((r) => !b.has(keyOf(r))).map(tag);
  const removed = before.filter((r) => !a.has(keyOf(r))).map(tag);
  const changed: ResourceChange[] = [];
  for (const r of after) {
    const old = b.get(keyOf(r));
    if (!old) continue;
    const fo = flatten({ ...readableInputs(old), "(protect)": old.protect, "(retainOnDelete)": old.retainOnDelete });
    const fn = flatten({ ...readableInputs(r), "(protect)": r.protect, "(retainOnDelete)": r.retainOnDelete });
    const paths = [...new Set([...Object.keys(fo), ...Object.keys(fn)])].sort();
    const changes = paths
      .filter((p) => JSON.stringify(fo[p]) !== JSON.stringify(fn[p]))
      .map((p) => describeChange(p, fo[p], fn[p]));
    if (changes.length > 0) changed.push({ ...tag(r), changes });
  }
  const touchesState = [...added, ...removed, ...changed].some((x) => x.stateful);
  return { before: beforeName, after: afterName, added, removed, changed, touchesState, notes: [] };
}

/** "30s" -> "30 s", "285s" -> "4 min 45 s": Docker's duration strings as the provider takes them. */
function humanDuration(text: string): string {
  const seconds = Number(text.slice(0, -1));
  if (seconds < 60) return `${seconds} s`;
  const rest = Math.round((seconds % 60) * 1000) / 1000;
  return `${Math.floor(seconds / 60)} min${rest > 0 ? ` ${rest} s` : ""}`;
}

/**
 * A property's value in the unit a reader thinks in, chosen by the property's name: nano-CPUs as
 * CPUs, bytes as KiB/MiB/GiB, Docker durations in seconds and minutes, file modes in octal.
 */
export function humanValue(path: string, v: unknown): unknown {
  const leaf = /([A-Za-z]+)(\[[^\]]*\])?$/.exec(path)?.[1] ?? "";
  if (typeof v === "number") {
    if (/^nanoCpus$/i.test(leaf)) return `${roundCpus(v / 1e9)} CPU`;
    if (/Bytes$/.test(leaf)) return v < 1048576 ? `${Math.round((v / 1024) * 100) / 100} KiB` : formatMiB(Math.round((v / 1048576) * 100) / 100);
    if (leaf === "fileMode") return `0${v.toString(8)}`;
  }
  if (typeof v === "string" && /^(delay|timeout|monitor|interval|startPeriod|stopGracePeriod)$/.test(leaf) && /^\d+(\.\d+)?s$/.test(v)) return humanDuration(v);
  return v;
}

const show = (v: unknown) => (v === undefined ? "(none)" : typeof v === "string" ? v : JSON.stringify(v));
const showAt = (path: string, v: unknown) => show(humanValue(path, v));
/**
 * A table cell as inline code, with the value's own backticks kept: the code span is fenced with
 * one backtick more than the longest run inside it (CommonMark), padded when it starts or ends
 * with one; pipes are escaped for the table.
 */
export function codeCell(v: unknown): string {
  const text = show(v).replace(/\|/g, "\\|").replace(/\n/g, " ");
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  const pad = longest > 0 ? " " : "";
  return `${fence}${pad}${text}${pad}${fence}`;
}
const cell = codeCell;
const STATE_FLAG = "⚠️ STATEFUL";

/** A PR-comment form. Deterministic: same diff, same text. */
export function formatDiffMarkdown(diff: ResourceDiff): string {
  const out: string[] = [`### Infrastructure diff: \`${diff.before}\` → \`${diff.after}\``, ""];
  for (const note of diff.notes) out.push(`> **${note}**`, "");
  if (diff.touchesState) out.push(`> **${STATE_FLAG}: this change touches a volume or bucket. Check that no data is replaced or deleted.**`, "");
  if (diff.added.length + diff.removed.length + diff.changed.length === 0) {
    out.push("No resource changes.");
    return out.join("\n") + "\n";
  }
  out.push(`**${diff.added.length} added, ${diff.removed.length} removed, ${diff.changed.length} changed**`, "");
  for (const r of diff.added) out.push(`- ➕ \`${r.type}\` **${r.name}**${r.stateful ? ` ${STATE_FLAG}` : ""}`);
  for (const r of diff.removed) out.push(`- ➖ \`${r.type}\` **${r.name}**${r.stateful ? ` ${STATE_FLAG}` : ""}`);
  for (const r of diff.changed) {
    out.push("", `#### ✏️ \`${r.type}\` ${r.name}${r.stateful ? ` ${STATE_FLAG}` : ""}`, "", "| property | before | after |", "|---|---|---|");
    for (const c of r.changes) out.push(`| ${c.path} | ${cell(humanValue(c.path, c.before))} | ${cell(humanValue(c.path, c.after))} |`);
    for (const c of r.changes.filter((x) => x.lines)) out.push("", `\`${c.path}\`:`, "```diff", ...lineDiff(c), "```");
  }
  return out.join("\n") + "\n";
}

const MAX_TEXT_LINES = 40;

function lineDiff(c: PropertyChange): string[] {
  const lines = [...c.lines!.removed.map((l) => `- ${l}`), ...c.lines!.added.map((l) => `+ ${l}`)];
  return lines.length > MAX_TEXT_LINES ? [...lines.slice(0, MAX_TEXT_LINES), `… ${lines.length - MAX_TEXT_LINES} more lines`] : lines;
}

export function formatDiffText(diff: ResourceDiff): string {
  const out: string[] = [`diff ${diff.before} -> ${diff.after}: ${diff.added.length} added, ${diff.removed.length} removed, ${diff.changed.length} changed`];
  for (const note of diff.notes) out.push(`!!! ${note}`);
  if (diff.touchesState) out.push(`!!! ${STATE_FLAG}: a volume or bucket is added, removed or changed`);
  for (const r of diff.added) out.push(`+ ${r.type} ${r.name}${r.stateful ? `  ${STATE_FLAG}` : ""}`);
  for (const r of diff.removed) out.push(`- ${r.type} ${r.name}${r.stateful ? `  ${STATE_FLAG}` : ""}`);
  for (const r of diff.changed) {
    out.push(`~ ${r.type} ${r.name}${r.stateful ? `  ${STATE_FLAG}` : ""}`);
    for (const c of r.changes) {
      out.push(`    ${c.path}: ${showAt(c.path, c.before)} => ${showAt(c.path, c.after)}`);
      if (c.lines) out.push(...lineDiff(c).map((l) => `      ${l}`));
    }
  }
  return out.join("\n") + "\n";
}
