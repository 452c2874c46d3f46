/**
 * A tiny in-memory DependencyProvider for testing the generic core: packages have integer
 * versions and requirements are `name`, `name >=v`, `name <=v`, `name ==v` or `name lo..hi`.
 */
import type { Candidates, Dependencies, DependencyProvider, NameId, SolvableId, VersionSetId } from '../../src/solver/core/provider.js';

export interface MockPackage {
  version: number;
  requires?: string[];
  constrains?: string[];
}

interface Pkg {
  name: NameId;
  version: number;
  requires: string[];
  constrains: string[];
}

export class MockProvider implements DependencyProvider {
  readonly names: string[] = [];
  private readonly nameIds = new Map<string, NameId>();
  readonly solvables: Pkg[] = [];
  private readonly byName = new Map<NameId, SolvableId[]>();
  private readonly vsText: string[] = [];
  private readonly vsIds = new Map<string, VersionSetId>();
  private readonly vsParsed: { name: NameId; lo: number; hi: number }[] = [];
  candidateCalls: string[] = [];
  favored = new Map<string, number>();

  constructor(universe: Record<string, MockPackage[]>) {
    for (const [name, pkgs] of Object.entries(universe)) {
      const id = this.nameId(name);
      const sorted = [...pkgs].sort((a, b) => b.version - a.version);
      for (const p of sorted) {
        const s = this.solvables.length;
        this.solvables.push({ name: id, version: p.version, requires: p.requires ?? [], constrains: p.constrains ?? [] });
        this.byName.get(id)!.push(s);
      }
    }
  }

  nameId(name: string): NameId {
    let id = this.nameIds.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.nameIds.set(name, id);
      this.byName.set(id, []);
    }
    return id;
  }

  vs(text: string): VersionSetId {
    let id = this.vsIds.get(text);
    if (id !== undefined) return id;
    const m = /^(\S+)(?:\s+(>=|<=|==)?\s*(\d+)(?:\.\.(\d+))?)?$/.exec(text.trim());
    if (!m) throw new Error(`bad mock spec ${text}`);
    const name = this.nameId(m[1]!);
    let lo = -Infinity;
    let hi = Infinity;
    if (m[3] !== undefined) {
      const v = Number(m[3]);
      if (m[4] !== undefined) { lo = v; hi = Number(m[4]); }
      else if (m[2] === '>=') lo = v;
      else if (m[2] === '<=') hi = v;
      else { lo = v; hi = v; }
    }
    id = this.vsText.length;
    this.vsText.push(text);
    this.vsIds.set(text, id);
    this.vsParsed.push({ name, lo, hi });
    return id;
  }

  candidates(name: NameId): Candidates {
    this.candidateCalls.push(this.names[name]!);
    const c: Candidates = { candidates: [...(this.byName.get(name) ?? [])] };
    const fav = this.favored.get(this.names[name]!);
    if (fav !== undefined) c.favored = c.candidates.find((s) => this.solvables[s]!.version === fav);
    return c;
  }
  dependencies(s: SolvableId): Dependencies {
    const p = this.solvables[s]!;
    return { requires: p.requires.map((r) => this.vs(r)), constrains: p.constrains.map((r) => this.vs(r)) };
  }
  matches(vs: VersionSetId, s: SolvableId): boolean {
    const v = this.vsParsed[vs]!;
    const p = this.solvables[s]!;
    return p.name === v.name && p.version >= v.lo && p.version <= v.hi;
  }
  filterCandidates(vs: VersionSetId, candidates: readonly SolvableId[], inverse: boolean): SolvableId[] {
    return candidates.filter((s) => this.matches(vs, s) !== inverse);
  }
  versionSetName(vs: VersionSetId): NameId { return this.vsParsed[vs]!.name; }
  solvableName(s: SolvableId): NameId { return this.solvables[s]!.name; }
  displayName(n: NameId): string { return this.names[n]!; }
  displaySolvable(s: SolvableId): string { const p = this.solvables[s]!; return `${this.names[p.name]} ${p.version}`; }
  displaySolvableVersion(s: SolvableId): string { return String(this.solvables[s]!.version); }
  displayVersionSet(vs: VersionSetId): string { return this.vsText[vs]!; }

  /** name → version of a solution. */
  describe(solution: readonly SolvableId[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of solution) out[this.names[this.solvables[s]!.name]!] = this.solvables[s]!.version;
    return out;
  }
}
