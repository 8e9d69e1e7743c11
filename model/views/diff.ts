/**
 * Differences between two captured resource sets (before/after a config change, or between two
 * stacks): resources added and removed, and changed inputs property by property. Changes to
 * stateful resources (volumes, buckets) are flagged loudly. Pure.
 */
import { base64ToText } from "../units";

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

export interface ResourceChange {
  readonly type: string;
  readonly name: string;
  readonly stateful: boolean;
  readonly changes: PropertyChange[];
}

export interface ResourceDiff {
  readonly before: string;
  readonly after: string;
  readonly added: { type: string; name: string; stateful: boolean }[];
  readonly removed: { type: string; name: string; stateful: boolean }[];
  readonly changed: ResourceChange[];
  /** True when any stateful resource is added, removed or changed. */
  readonly touchesState: boolean;
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

export function diffResources(beforeName: string, before: readonly ResourceLike[], afterName: string, after: readonly ResourceLike[]): ResourceDiff {
  // URNs when both captures have them (a base branch's capture may predate them).
  const useUrns = [...before, ...after].every((r) => r.urn !== undefined);
  const keyOf = (r: ResourceLike) => (useUrns ? r.urn! : byTypeAndName(r));
  const b = new Map(before.map((r) => [keyOf(r), r]));
  const a = new Map(after.map((r) => [keyOf(r), r]));
  const tag = (r: ResourceLike) => ({ type: r.type, name: r.name, stateful: STATEFUL_TYPES.has(r.type) });
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
  return { before: beforeName, after: afterName, added, removed, changed, touchesState };
}

const show = (v: unknown) => (v === undefined ? "(none)" : typeof v === "string" ? v : JSON.stringify(v));
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
    for (const c of r.changes) out.push(`| ${c.path} | ${cell(c.before)} | ${cell(c.after)} |`);
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
  if (diff.touchesState) out.push(`!!! ${STATE_FLAG}: a volume or bucket is added, removed or changed`);
  for (const r of diff.added) out.push(`+ ${r.type} ${r.name}${r.stateful ? `  ${STATE_FLAG}` : ""}`);
  for (const r of diff.removed) out.push(`- ${r.type} ${r.name}${r.stateful ? `  ${STATE_FLAG}` : ""}`);
  for (const r of diff.changed) {
    out.push(`~ ${r.type} ${r.name}${r.stateful ? `  ${STATE_FLAG}` : ""}`);
    for (const c of r.changes) {
      out.push(`    ${c.path}: ${show(c.before)} => ${show(c.after)}`);
      if (c.lines) out.push(...lineDiff(c).map((l) => `      ${l}`));
    }
  }
  return out.join("\n") + "\n";
}
