/**
 * Human-readable explanations of a failed solve, built from the unsatisfiable core the CDCL
 * core returns (the original requires / constrains / one-per-name clauses a proof used).
 *
 * The tree starts at the user's requested specs. Each candidate of a spec is either installable
 * on its own (its only problems are conflicts with other requested specs) or not (a dependency has
 * no candidates, a constraint rules it out, ...). Candidates with the same explanation are merged
 * into one line (`python 3.9.19 | 3.9.18 would require`).
 */
import { channelMatches } from '../../conda/matchspec.js';
import type { CoreClause } from '../core/solver.js';
import type { NameId, SolvableId, VersionSetId } from '../core/provider.js';
import type { Solver } from '../core/solver.js';
import type { CondaProvider } from './provider.js';

interface Node {
  text: string;
  children: Node[];
  /** Installable on its own: its only problems are conflicts with other requested specs. */
  installable: boolean;
  /** For a candidate group with one non-dependency problem: that problem ("conflicts with ..."). */
  reason?: string;
  /** The "… and N more" line. */
  more?: boolean;
  /** A direct conflict with one of the user's own specs (the clearest reason; others are dropped). */
  direct?: boolean;
}

const MAX_DEPTH = 7;

/** Said once when a virtual package decided the outcome: they are assumed for the target, not detected. */
export const VIRTUAL_HINT =
  'Virtual packages (__glibc, __osx, __cuda, ...) are the values assumed for the target platform, not read from this machine; ' +
  'override them with --virtual-packages (e.g. __glibc=2.34) or the virtual-packages section of the environment file (docs/virtual-packages.md).';
const MAX_VERSIONS_SHOWN = 6;
const MAX_GROUPS = 4;

export function explainUnsat(provider: CondaProvider, solver: Solver, core: readonly CoreClause[], platform: string): string {
  const ex = new Explainer(provider, solver, core);
  const roots = ex.rootNodes();
  const lines = [`Cannot solve the requested packages for ${platform}:`];
  render(roots, '', lines);
  if (lines.some((l) => l.includes("the target's virtual package") || l.includes('the target has no virtual package'))) lines.push(VIRTUAL_HINT);
  return lines.join('\n');
}

function render(nodes: Node[], prefix: string, out: string[]): void {
  nodes.forEach((n, i) => {
    const last = i === nodes.length - 1;
    out.push(`${prefix}${last ? '└─ ' : '├─ '}${n.text}`);
    render(n.children, prefix + (last ? '   ' : '│  '), out);
  });
}

class Explainer {
  private readonly requiresOf = new Map<number, VersionSetId[]>();
  private readonly rootRequires: VersionSetId[] = [];
  private readonly constrainedBy = new Map<SolvableId, { parent: SolvableId | null; vs: VersionSetId }[]>();
  private readonly requiredOnName = new Map<NameId, { parent: SolvableId | null; vs: VersionSetId }[]>();
  private readonly forbidNames = new Set<NameId>();
  private readonly constrainsFrom = new Map<SolvableId, Map<VersionSetId, Set<SolvableId>>>();
  private readonly memo = new Map<SolvableId, Node[]>();
  /** Distance from the root through requires clauses of the core (1 = a candidate of a requested spec). */
  private readonly depth = new Map<SolvableId, number>();
  private readonly visiting = new Set<SolvableId>();

  constructor(
    private readonly p: CondaProvider,
    private readonly solver: Solver,
    core: readonly CoreClause[],
  ) {
    for (const c of core) {
      if (c.kind === 'requires') {
        if (c.parent === null) this.rootRequires.push(c.versionSet);
        else push(this.requiresOf, c.parent, c.versionSet);
        push(this.requiredOnName, p.versionSetName(c.versionSet), { parent: c.parent, vs: c.versionSet });
      } else if (c.kind === 'constrains') {
        push(this.constrainedBy, c.forbidden, { parent: c.parent, vs: c.versionSet });
        if (c.parent !== null) {
          let m = this.constrainsFrom.get(c.parent);
          if (!m) this.constrainsFrom.set(c.parent, (m = new Map()));
          let set = m.get(c.versionSet);
          if (!set) m.set(c.versionSet, (set = new Set()));
          set.add(c.forbidden);
        }
      } else {
        this.forbidNames.add(c.name);
      }
    }
    let frontier: VersionSetId[] = this.rootRequires;
    for (let d = 1; frontier.length > 0 && d <= MAX_DEPTH; d++) {
      const next: VersionSetId[] = [];
      for (const vs of frontier) {
        for (const s of this.candidates(vs)) {
          if (this.depth.has(s)) continue;
          this.depth.set(s, d);
          for (const dep of this.requiresOf.get(s) ?? []) next.push(dep);
        }
      }
      frontier = next;
    }
  }

  rootNodes(): Node[] {
    const nodes: Node[] = [];
    for (const vs of this.rootRequires) nodes.push(this.rootNode(vs));
    // Installable requests last: the reader sees what is broken first.
    nodes.sort((a, b) => Number(a.installable) - Number(b.installable));
    if (nodes.length === 0) nodes.push({ text: 'the requested specs conflict (no further detail available)', children: [], installable: false });
    return nodes;
  }

  private candidates(vs: VersionSetId): readonly SolvableId[] {
    return (
      this.solver.matchingCandidates(vs) ??
      this.p.filterCandidates(vs, this.p.nameCandidates(this.p.versionSetName(vs)), false)
    );
  }

  private readonly sets = new Map<VersionSetId, Set<SolvableId>>();
  private candidateSet(vs: VersionSetId): Set<SolvableId> {
    let set = this.sets.get(vs);
    if (!set) this.sets.set(vs, (set = new Set(this.candidates(vs))));
    return set;
  }

  private rootNode(vs: VersionSetId): Node {
    const label = this.p.displayVersionSet(vs);
    const cands = this.candidates(vs);
    if (cands.length === 0) return { text: `${label}${this.noCandidatesText(vs)}`, children: [], installable: false };
    const groups = this.candidateGroups(cands, 0);
    const ok = groups.filter((g) => g.installable || g.more);
    if (ok.some((g) => !g.more)) {
      return { text: `${label} can be installed with any of the following options:`, children: ok, installable: true };
    }
    return { text: `${label} cannot be installed because there are no viable options:`, children: groups, installable: false };
  }

  /** Candidates merged by identical explanations, in candidate order. */
  private candidateGroups(cands: readonly SolvableId[], depth: number): Node[] {
    const groups = new Map<string, { ids: SolvableId[]; problems: Node[] }>();
    for (const s of cands) {
      if (this.visiting.has(s)) continue;
      const problems = this.problems(s, depth);
      const key = JSON.stringify(problems);
      const g = groups.get(key);
      if (g) g.ids.push(s);
      else groups.set(key, { ids: [s], problems });
    }
    const out: Node[] = [];
    let hidden = 0;
    for (const { ids, problems } of groups.values()) {
      if (out.length >= MAX_GROUPS) {
        hidden += ids.length;
        continue;
      }
      const label = this.label(ids);
      const installable = problems.every((n) => n.installable);
      if (problems.length === 0) out.push({ text: label, children: [], installable: true });
      else if (problems.length === 1 && problems[0]!.text.startsWith('\u0001')) {
        // a single dependency: "x 1.0 would require" + the dependency node
        const dep = problems[0]!;
        out.push({ text: `${label} would require`, children: [{ ...dep, text: dep.text.slice(1) }], installable });
      } else if (problems.length === 1) {
        out.push({ text: `${label} ${problems[0]!.text}`, children: problems[0]!.children, installable, reason: problems[0]!.text });
      } else if (problems.every((n) => n.text.startsWith('conflicts with ') && n.children.length === 0)) {
        out.push({
          text: `${label} conflicts with:`,
          children: problems.map((n) => ({ ...n, text: n.text.slice('conflicts with '.length) })),
          installable,
        });
      } else {
        out.push({
          text: `${label} cannot be installed because:`,
          children: problems.map((n) => (n.text.startsWith('\u0001') ? { ...n, text: `it would require ${n.text.slice(1)}` } : { ...n, text: `it ${n.text}` })),
          installable,
        });
      }
    }
    if (hidden > 0) {
      const name = this.p.displayName(this.p.solvableName(cands[0]!));
      out.push({ text: `… and ${hidden} more candidate${hidden === 1 ? '' : 's'} of ${name}`, children: [], installable: false, more: true });
    }
    return out;
  }

  private label(ids: SolvableId[]): string {
    const name = this.p.displayName(this.p.solvableName(ids[0]!));
    const versions: string[] = [];
    for (const s of ids) {
      const v = this.p.displaySolvableVersion(s);
      if (!versions.includes(v)) versions.push(v);
    }
    const shown = versions.slice(0, MAX_VERSIONS_SHOWN).join(' | ');
    const more = versions.length > MAX_VERSIONS_SHOWN ? ` (and ${versions.length - MAX_VERSIONS_SHOWN} more)` : '';
    return `${name} ${shown}${more}`;
  }

  /** Why one candidate cannot be part of a solution, as nodes (text starting with \u0001 = a dependency). */
  private problems(s: SolvableId, depth: number): Node[] {
    const hit = this.memo.get(s);
    if (hit) return hit;
    const out: Node[] = [];
    const name = this.p.solvableName(s);
    const byConstraint = new Map<VersionSetId, SolvableId[]>();
    for (const { parent, vs } of this.constrainedBy.get(s) ?? []) {
      if (parent === null) {
        out.push({ text: `is ruled out by the pinned ${this.p.displayVersionSet(vs).replace(/ \(pinned\)$/, '')}`, children: [], installable: false, direct: true });
      } else push(byConstraint, vs, parent);
    }
    for (const [vs, parents] of [...byConstraint].slice(0, 3)) {
      out.push({ text: `is ruled out by ${this.p.displayVersionSet(vs)}, a constraint of ${this.label(parents)}`, children: [], installable: true });
    }
    for (const [vs, forbidden] of this.constrainsFrom.get(s) ?? []) {
      const target = this.p.versionSetName(vs);
      const requested = (this.requiredOnName.get(target) ?? []).find(
        ({ parent, vs: rvs }) => parent === null && this.candidates(rvs).some((c) => forbidden.has(c)),
      );
      if (requested) {
        out.push({ text: `constrains ${this.p.displayVersionSet(vs)}, which conflicts with the requested ${this.p.displayVersionSet(requested.vs)}`, children: [], installable: true, direct: true });
      }
    }
    if (this.forbidNames.has(name)) {
      // Same-name conflicts, with the user's own specs or with what a requested package needs.
      const byVs = new Map<VersionSetId, SolvableId[]>();
      let root: VersionSetId | undefined;
      for (const { parent, vs } of this.requiredOnName.get(name) ?? []) {
        if (parent === s || this.candidateSet(vs).has(s)) continue;
        if (parent === null) root ??= vs;
        else if (this.depth.get(parent) === 1 && !this.visiting.has(parent)) push(byVs, vs, parent);
      }
      if (root !== undefined) {
        out.push({ text: `conflicts with the requested ${this.p.displayVersionSet(root)}`, children: [], installable: true, direct: true });
      } else {
        for (const [vs, parents] of [...byVs].slice(0, 2)) {
          out.push({ text: `conflicts with ${this.p.displayVersionSet(vs)} required by ${this.label(parents)}`, children: [], installable: true });
        }
      }
    }
    if (out.some((n) => n.direct)) {
      const direct = out.filter((n) => n.direct);
      this.memo.set(s, direct);
      return direct;
    }
    if (depth >= MAX_DEPTH) {
      if (out.length === 0 && (this.requiresOf.get(s) ?? []).length > 0) out.push({ text: 'has conflicting dependencies (…)', children: [], installable: false });
      return out;
    }
    this.visiting.add(s);
    for (const vs of this.requiresOf.get(s) ?? []) {
      const dep = this.dependencyNode(vs, depth + 1);
      if (dep) out.push({ ...dep, text: `\u0001${dep.text}` });
    }
    this.visiting.delete(s);
    const direct = out.filter((n) => n.direct);
    const result = direct.length > 0 ? direct : out;
    this.memo.set(s, result);
    return result;
  }

  private dependencyNode(vs: VersionSetId, depth: number): Node | undefined {
    const label = this.p.displayVersionSet(vs);
    const cands = this.candidates(vs);
    if (cands.length === 0) return { text: `${label}${this.noCandidatesText(vs)}`, children: [], installable: false };
    const groups = this.candidateGroups(cands, depth);
    if (groups.length === 0) return undefined; // only cycles back into the path
    // Every candidate only conflicts with the same requested spec: say it in one line.
    const g = groups[0]!;
    if (groups.length === 1 && g.reason !== undefined && g.children.length === 0) {
      return { text: `${label}, which ${g.reason}`, children: [], installable: g.installable };
    }
    const installable = groups.some((g) => g.installable);
    return { text: `${label}, which cannot be installed because there are no viable options:`, children: groups, installable };
  }

  private noCandidatesText(vs: VersionSetId): string {
    const invalid = this.p.versionSetInvalid(vs);
    if (invalid) return `, which is not a valid match spec (${invalid})`;
    const nameId = this.p.versionSetName(vs);
    const name = this.p.displayName(nameId);
    const all = this.p.nameCandidates(nameId);
    if (name.startsWith('__')) {
      if (all.length === 0) return `, for which no candidates were found (the target has no virtual package ${name})`;
      const have = all.map((s) => this.p.displaySolvableVersion(s)).join(', ');
      return `, which the target's virtual package ${name} ${have} does not satisfy`;
    }
    if (!this.p.hasRecords(name)) return `, for which no candidates were found (no channel has a package named ${name})`;
    const excluded = this.p.excludedByPriority.get(name);
    if (excluded) {
      const where = excluded.map((e) => e.channel).join(', ');
      return `, for which no candidates were found (records of ${name} in ${where} were not considered because of strict channel priority; --channel-priority flexible would consider them)`;
    }
    return ', for which no candidates were found';
  }
}

/** Message for requested specs that have no candidate at all. */
export function describeMissing(p: CondaProvider, vss: readonly VersionSetId[], platform: string, channels: readonly string[]): string {
  const where = channels.length ? ` in ${channels.join(', ')}` : '';
  const parts = vss.map((vs) => {
    const spec = p.displayVersionSet(vs);
    const nameId = p.versionSetName(vs);
    const name = p.displayName(nameId);
    const all = p.nameCandidates(nameId);
    if (name.startsWith('__')) {
      if (all.length === 0) return `No candidates were found for ${spec} (requested) for ${platform}: the target has no virtual package ${name}. ${VIRTUAL_HINT}`;
      return `No candidates were found for ${spec} (requested) for ${platform}: the virtual package is ${name} ${all.map((s) => p.displaySolvableVersion(s)).join(', ')}. ${VIRTUAL_HINT}`;
    }
    if (all.length === 0) {
      return `No candidates were found for ${spec} (requested) for ${platform}: no package named ${name}${where} (looked in ${platform} and noarch); check the name and the channels.`;
    }
    // A spec naming a channel (`bioconda::x`): versions from other channels are no options for it.
    const specChannel = p.versionSetSpec(vs)?.channel;
    let listed = all;
    if (specChannel !== undefined) {
      const channelOf = (s: SolvableId) => (p.solvables[s]!.record as { channel?: string }).channel;
      listed = all.filter((s) => channelMatches(specChannel, channelOf(s)));
      if (listed.length === 0) {
        const from = [...new Set(all.map((s) => channelOf(s) ?? '?'))];
        return `No candidates were found for ${spec} (requested) for ${platform}: no record of ${name} comes from ${specChannel}${where ? ` (searched${where})` : ''}; ${name} is available from ${from.join(', ')}. Add ${specChannel} to the channels or drop the '${specChannel}::' prefix.`;
      }
    }
    const versions: string[] = [];
    let more = false;
    for (const s of listed) {
      const v = p.displaySolvableVersion(s);
      if (versions.includes(v)) continue;
      if (versions.length >= 8) {
        more = true;
        break;
      }
      versions.push(v);
    }
    const excluded = p.excludedByPriority.get(name);
    const prio = excluded ? ` (records of ${name} in ${excluded.map((e) => e.channel).join(', ')} were not considered because of strict channel priority; --channel-priority flexible would consider them)` : '';
    const inChannel = specChannel !== undefined ? ` in ${specChannel}` : '';
    return `No candidates were found for ${spec} (requested) for ${platform}${where}; available versions of ${name}${inChannel}: ${versions.join(', ')}${more ? ', …' : ''}${prio}${prio || !more ? '.' : ''}`;
  });
  return parts.join('\n');
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

/**
 * When a solve failed only because dependencies name packages no channel has (no version conflicts
 * in the proof), a "not found" message naming those specs and who requires them; otherwise undefined.
 */
export function missingDependencies(p: CondaProvider, core: readonly CoreClause[], platform: string): string | undefined {
  if (core.some((c) => c.kind !== 'requires')) return undefined;
  const missing = new Map<string, Set<string>>();
  for (const c of core) {
    if (c.kind !== 'requires' || c.candidates.length > 0) continue;
    const name = p.displayName(p.versionSetName(c.versionSet));
    if (name.startsWith('__') || p.hasRecords(name) || p.versionSetInvalid(c.versionSet)) return undefined;
    const spec = p.displayVersionSet(c.versionSet);
    let by = missing.get(spec);
    if (!by) missing.set(spec, (by = new Set()));
    if (c.parent !== null) {
      const rec = p.solvables[c.parent]!.record;
      by.add(`${rec.name} ${rec.version}`);
    }
  }
  if (missing.size === 0) return undefined;
  return [...missing]
    .map(([spec, by]) => {
      const list = [...by];
      const shown = list.slice(0, 4).join(', ') + (list.length > 4 ? `, and ${list.length - 4} more` : '');
      return `No candidates were found for ${spec} (required by ${shown}) for ${platform}: no channel has a package named ${spec.split(/[\s=<>!~[]/)[0]}.`;
    })
    .join('\n');
}
