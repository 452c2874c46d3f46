/**
 * A generic CDCL SAT solver for package dependencies (resolvo's design, our own code).
 *
 * Variables: 0 is the root (the user's request); each solvable the provider hands out gets one
 * variable when its name is first loaded; "at most one per name" over many candidates adds
 * auxiliary ladder variables. A literal is `var << 1` (true) or `var << 1 | 1` (false).
 *
 * Clauses (a tagged union kept in parallel arrays):
 * - requires:  ¬parent ∨ c1 ∨ … ∨ cn          (parent needs one candidate of a version set)
 * - constrains: ¬parent ∨ ¬c                   (c is installed only if it matches parent's constraint)
 * - forbid-multiple: at most one candidate per name (pairwise, or a ladder for long lists)
 * - learnt: derived by 1-UIP conflict analysis; remembers the clauses it was derived from,
 *   so an unsatisfiable result can be traced back to the original requires/constrains clauses.
 *
 * Encoding is lazy: a solvable's dependencies are turned into clauses once the solvable is assigned
 * true or just before it would be decided (look-ahead), and a name's candidates are loaded only once
 * a clause mentions the name. A clause added mid-search may already be unit or false: a unit is
 * assigned at the level where it became unit (below the current one if need be; such out-of-order
 * assignments survive backjumps that do not go below their level, as in chronological-backtracking
 * CDCL), a false clause is resolved like a propagation conflict.
 *
 * Decisions follow resolvo: among unsatisfied requirements of installed solvables (the user's own
 * requirements first), take the first one in discovery order unless a later one has both a
 * higher conflict activity and fewer open candidates, and install its best open candidate.
 * Discovery order is the breadth-first order of the candidate graph: the root, then the matching
 * candidates of its requirements (requirement order, each best first), then theirs, and so on. That
 * is the order in which resolvo encodes solvables (it encodes every candidate whose dependencies are
 * at hand, and a conda provider has them all), so a requirement of `python` (the first spec) is
 * decided before one of `pandas` even when `pandas` had a single candidate and was installed first.
 * We compute the order without encoding: the walk runs only as far as needed to rank the installed
 * solvables, and it loads candidate lists but builds no requires/constrains clauses. It needs the
 * dependencies of candidates that are never chosen, so it is used only when the provider says they
 * are at hand (`dependenciesAtHand`, conda); otherwise parents rank in the order they were encoded.
 */
import type { DependencyProvider, NameId, SolvableId, VersionSetId } from './provider.js';

const ClauseKind = { Requires: 0, Constrains: 1, ForbidMultiple: 2, Learnt: 3 } as const;
type ClauseKind = (typeof ClauseKind)[keyof typeof ClauseKind];

const TRUE = 1;
const FALSE = -1;
const ROOT = 0;

/** One original clause of the unsatisfiable core, in provider terms (`parent` null = the root). */
export type CoreClause =
  | { kind: 'requires'; parent: SolvableId | null; versionSet: VersionSetId; candidates: readonly SolvableId[] }
  | { kind: 'constrains'; parent: SolvableId | null; versionSet: VersionSetId; forbidden: SolvableId }
  | { kind: 'forbid-multiple'; name: NameId };

export interface SolverStats {
  decisions: number;
  conflicts: number;
  learnt: number;
  /** Solvables interned (candidates of every name the search touched). */
  candidatesLoaded: number;
  namesLoaded: number;
  clauses: number;
}

export type SolveOutcome =
  | { ok: true; solvables: SolvableId[]; stats: SolverStats }
  | { ok: false; core: CoreClause[]; stats: SolverStats };

/** Thrown when the provider's `shouldCancel` returns a message. */
export class SolveCancelled extends Error {}

const EMPTY = new Int32Array(0);
/** Constraints forbidding more candidates than this share one guard variable per version set. */
const SHARED_CONSTRAINT_MIN = 4;
/** Marks a guard half in `describe` (never a real solvable id). */
const GUARD = -2;

export class Solver {
  private readonly provider: DependencyProvider;

  // --- variables (typed arrays, grown by doubling) ---
  private nVars = 0;
  private value = new Int8Array(256);
  /** Decision level at which each variable was assigned. */
  private varLevel = new Int32Array(256);
  private reason = new Int32Array(256);
  private seen = new Uint8Array(256);
  private encoded = new Uint8Array(256);
  /** Solvable id of a variable, -1 for the root and auxiliary variables. */
  private varSolvable = new Int32Array(256);
  /** Name of a variable's solvable (for activity), -1 otherwise. */
  private varName = new Int32Array(256);
  /** Breadth-first discovery rank of a variable's solvable (root 0), -1 until the walk reaches it. */
  private varRank = new Int32Array(256).fill(-1);
  private readonly solvableVar = new Map<SolvableId, number>();
  /** Per name id: the variable of its installed (true) solvable, or -1. */
  private nameTrue = new Int32Array(64).fill(-1);

  // --- trail ---
  private trail = new Int32Array(256);
  private trailLen = 0;
  private qhead = 0;
  private encodeHead = 0;
  private readonly trailLim: number[] = [];
  private level = 0;

  // --- clauses ---
  private readonly kind: number[] = [];
  private readonly lits: Int32Array[] = [];
  /** Per clause. requires/constrains: parent variable (-1: the second half of a guarded constraint); forbid-multiple: name id. */
  private readonly clauseParent: number[] = [];
  /** Per clause. requires/constrains: the version set. */
  private readonly clauseVersionSet: number[] = [];
  /** Per clause. requires: the version set's name; constrains: the forbidden solvable (GUARD: the first half). */
  private readonly clauseTarget: number[] = [];
  private readonly learntFrom = new Map<number, number[]>();
  /** Candidate variables of a requires clause (decision order), by clause id. */
  private readonly reqVars = new Map<number, Int32Array>();
  private watches: number[][] = [];

  // --- requirement registry for decisions (parents in discovery order) ---
  private readonly reqParents: number[] = [];
  // --- breadth-first discovery walk (see the header) ---
  private readonly walkQueue: number[] = [];
  private walkHead = 0;
  private nextRank = 0;
  private rootRequires: readonly VersionSetId[] = [];
  private readonly reqByParent = new Map<number, number[]>();

  // --- provider caches ---
  private readonly nameCands = new Map<NameId, SolvableId[]>();
  private readonly vsMatch = new Map<VersionSetId, SolvableId[]>();
  private readonly vsMatchVars = new Map<VersionSetId, Int32Array>();
  private readonly vsNoMatch = new Map<VersionSetId, SolvableId[]>();
  private readonly favored = new Map<NameId, SolvableId>();
  /** Auxiliary "constraint active" variable per shared constrains version set. */
  private readonly vsGuard = new Map<VersionSetId, number>();

  // --- activity (VSIDS-like, per name) ---
  private activity: number[] = [];
  private activityInc = 1;

  private readonly stats: SolverStats = { decisions: 0, conflicts: 0, learnt: 0, candidatesLoaded: 0, namesLoaded: 0, clauses: 0 };
  private steps = 0;

  constructor(provider: DependencyProvider) {
    this.provider = provider;
  }

  /** Candidates of a version set as the solver sees them (matching, provider-sorted). */
  matchingCandidates(vs: VersionSetId): readonly SolvableId[] | undefined {
    return this.vsMatch.get(vs);
  }

  solve(rootRequires: readonly VersionSetId[], rootConstrains: readonly VersionSetId[] = []): SolveOutcome {
    const root = this.newVar(-1, -1);
    this.assign(root << 1, -1);
    this.encoded[root] = 1;
    this.rootRequires = rootRequires;
    this.varRank[root] = this.nextRank++;
    this.walkQueue.push(root);
    const fresh: number[] = [];
    for (const vs of rootRequires) fresh.push(this.addRequires(root, vs, fresh));
    for (const vs of rootConstrains) this.addConstrains(root, vs, fresh);
    const conflictAtRoot = this.integrateAll(fresh);
    if (conflictAtRoot >= 0) return this.unsat(conflictAtRoot);

    for (;;) {
      if ((++this.steps & 63) === 0) this.checkCancel();
      const confl = this.propagate();
      if (confl >= 0) {
        this.stats.conflicts++;
        const bad = this.resolveConflict(confl);
        if (bad >= 0) return this.unsat(bad);
        continue;
      }
      if (this.encodeHead < this.trailLen) {
        const newVars: number[] = [];
        for (let i = this.encodeHead; i < this.trailLen; i++) {
          const lit = this.trail[i]!;
          const v = lit >> 1;
          if ((lit & 1) === 0 && this.encoded[v] === 0 && this.varSolvable[v]! >= 0) newVars.push(v);
        }
        this.encodeHead = this.trailLen;
        if (newVars.length > 0) {
          const added: number[] = [];
          for (const v of newVars) {
            this.encoded[v] = 1;
            this.encodeSolvable(v, added);
          }
          const bad = this.integrateAll(added);
          if (bad >= 0) return this.unsat(bad);
          continue;
        }
      }
      const d = this.decide();
      if (d < 0) break;
      if (this.encoded[d] === 0) {
        // Look ahead: encode the candidate before installing it, so a candidate whose dependencies
        // cannot be met is ruled out by propagation instead of by a decision that gets undone.
        this.encoded[d] = 1;
        const added: number[] = [];
        this.encodeSolvable(d, added);
        const bad = this.integrateAll(added);
        if (bad >= 0) return this.unsat(bad);
        if (this.value[d] !== 0 || this.qhead < this.trailLen) continue;
      }
      this.stats.decisions++;
      this.trailLim.push(this.trailLen);
      this.level++;
      this.assign(d << 1, -1);
    }

    const out: SolvableId[] = [];
    for (let i = 0; i < this.trailLen; i++) {
      const lit = this.trail[i]!;
      if ((lit & 1) === 0) {
        const s = this.varSolvable[lit >> 1]!;
        if (s >= 0) out.push(s);
      }
    }
    return { ok: true, solvables: out, stats: this.finalStats() };
  }

  // ------------------------------------------------------------------ variables

  private newVar(solvable: number, name: number): number {
    const v = this.nVars++;
    if (v >= this.value.length) this.grow(v + 1);
    this.varSolvable[v] = solvable;
    this.varName[v] = name;
    this.varRank[v] = -1;
    this.reason[v] = -1;
    while (this.watches.length < 2 * this.nVars) this.watches.push([]);
    return v;
  }

  private grow(min: number): void {
    let cap = this.value.length;
    while (cap < min) cap *= 2;
    const g8 = (a: Int8Array) => { const b = new Int8Array(cap); b.set(a); return b; };
    const gu8 = (a: Uint8Array) => { const b = new Uint8Array(cap); b.set(a); return b; };
    const g32 = (a: Int32Array) => { const b = new Int32Array(cap); b.set(a); return b; };
    this.value = g8(this.value);
    this.varLevel = g32(this.varLevel);
    this.reason = g32(this.reason);
    this.seen = gu8(this.seen);
    this.encoded = gu8(this.encoded);
    this.varSolvable = g32(this.varSolvable);
    this.varName = g32(this.varName);
    const r = new Int32Array(cap).fill(-1);
    r.set(this.varRank);
    this.varRank = r;
    this.trail = g32(this.trail);
  }

  private litValue(lit: number): number {
    const v = this.value[lit >> 1]!;
    return lit & 1 ? -v : v;
  }

  private assign(lit: number, reason: number, level = this.level): void {
    const v = lit >> 1;
    this.value[v] = lit & 1 ? FALSE : TRUE;
    this.varLevel[v] = level;
    if ((lit & 1) === 0) {
      const name = this.varName[v]!;
      if (name >= 0) this.nameTrue[name] = v;
    }
    this.reason[v] = reason;
    this.trail[this.trailLen++] = lit;
  }

  private backjump(target: number): void {
    if (target >= this.level) return;
    const start = this.trailLim[target]!;
    // Assignments made out of order at a level <= target (units found late) survive, in trail order.
    let w = start;
    for (let i = start; i < this.trailLen; i++) {
      const lit = this.trail[i]!;
      const v = lit >> 1;
      if (this.varLevel[v]! <= target) this.trail[w++] = lit;
      else {
        if (this.value[v] === TRUE) {
          const name = this.varName[v]!;
          if (name >= 0 && this.nameTrue[name] === v) this.nameTrue[name] = -1;
        }
        this.value[v] = 0;
        this.reason[v] = -1;
      }
    }
    this.trailLen = w;
    this.trailLim.length = target;
    this.level = target;
    if (this.qhead > start) this.qhead = start;
    if (this.encodeHead > start) this.encodeHead = start;
  }

  // ------------------------------------------------------------------ provider access

  private loadName(name: NameId, added: number[]): SolvableId[] {
    let cands = this.nameCands.get(name);
    if (cands) return cands;
    const res = this.provider.candidates(name);
    cands = res.candidates.slice();
    if (res.favored !== undefined) {
      const i = cands.indexOf(res.favored);
      if (i >= 0) this.favored.set(name, res.favored);
    }
    this.nameCands.set(name, cands);
    this.stats.namesLoaded++;
    if (name >= this.nameTrue.length) {
      let cap = this.nameTrue.length;
      while (cap <= name) cap *= 2;
      const g = new Int32Array(cap).fill(-1);
      g.set(this.nameTrue);
      this.nameTrue = g;
    }
    const vars: number[] = [];
    for (const s of cands) {
      if (this.solvableVar.has(s)) throw new Error(`solvable ${s} returned for two names`);
      const v = this.newVar(s, name);
      this.solvableVar.set(s, v);
      vars.push(v);
    }
    this.stats.candidatesLoaded += cands.length;
    this.addForbidMultiple(name, vars, added);
    return cands;
  }

  private vsCandidates(vs: VersionSetId, added: number[]): SolvableId[] {
    let m = this.vsMatch.get(vs);
    if (m) return m;
    const name = this.provider.versionSetName(vs);
    const all = this.loadName(name, added);
    m = this.provider.filterCandidates(vs, all, false);
    if (this.provider.sortCandidates && m.length > 1) m = this.provider.sortCandidates(vs, m.slice());
    const fav = this.favored.get(name);
    if (fav !== undefined) {
      const i = m.indexOf(fav);
      if (i > 0) m = [fav, ...m.slice(0, i), ...m.slice(i + 1)];
    }
    this.vsMatch.set(vs, m);
    const vars = new Int32Array(m.length);
    for (let i = 0; i < m.length; i++) vars[i] = this.solvableVar.get(m[i]!)!;
    this.vsMatchVars.set(vs, vars);
    return m;
  }

  private checkCancel(): void {
    const msg = this.provider.shouldCancel?.();
    if (msg !== undefined) throw new SolveCancelled(msg);
  }

  // ------------------------------------------------------------------ clause construction

  private newClause(kind: ClauseKind, lits: Int32Array, a: number, b: number, c: number): number {
    const id = this.kind.length;
    this.kind.push(kind);
    this.lits.push(lits);
    this.clauseParent.push(a);
    this.clauseVersionSet.push(b);
    this.clauseTarget.push(c);
    this.stats.clauses++;
    return id;
  }

  /** Build a requires clause; clauses for newly loaded names go to `added` first. */
  private addRequires(parent: number, vs: VersionSetId, added: number[]): number {
    this.vsCandidates(vs, added);
    const vars = this.vsMatchVars.get(vs)!;
    const lits = new Int32Array(vars.length + 1);
    lits[0] = (parent << 1) | 1;
    for (let i = 0; i < vars.length; i++) lits[i + 1] = vars[i]! << 1;
    const id = this.newClause(ClauseKind.Requires, lits, parent, vs, this.provider.versionSetName(vs));
    this.reqVars.set(id, vars);
    let list = this.reqByParent.get(parent);
    if (!list) {
      list = [];
      this.reqByParent.set(parent, list);
      this.insertParent(parent, added);
    }
    list.push(id);
    return id;
  }

  /** Register a parent of requires clauses at its place in discovery order. */
  private insertParent(parent: number, added: number[]): void {
    if (!this.provider.dependenciesAtHand) {
      this.reqParents.push(parent); // registration order
      return;
    }
    const rank = this.rankOf(parent, added);
    const ps = this.reqParents;
    let lo = 0;
    let hi = ps.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.varRank[ps[mid]!]! < rank) lo = mid + 1;
      else hi = mid;
    }
    ps.splice(lo, 0, parent);
  }

  /** The discovery rank of a variable, walking the candidate graph breadth-first until it is reached. */
  private rankOf(v: number, added: number[]): number {
    while (this.varRank[v]! < 0 && this.walkHead < this.walkQueue.length) {
      const p = this.walkQueue[this.walkHead++]!;
      const requires = p === ROOT ? this.rootRequires : this.provider.dependencies(this.varSolvable[p]!).requires;
      for (const vs of requires) {
        this.vsCandidates(vs, added);
        const vars = this.vsMatchVars.get(vs)!;
        for (let i = 0; i < vars.length; i++) {
          const c = vars[i]!;
          if (this.varRank[c]! >= 0) continue;
          this.varRank[c] = this.nextRank++;
          this.walkQueue.push(c);
        }
      }
    }
    // Not reachable from the root (cannot happen for a parent of requires clauses): rank it last.
    if (this.varRank[v]! < 0) this.varRank[v] = this.nextRank++;
    return this.varRank[v]!;
  }

  private addConstrains(parent: number, vs: VersionSetId, added: number[]): void {
    const name = this.provider.versionSetName(vs);
    const all = this.loadName(name, added);
    let bad = this.vsNoMatch.get(vs);
    if (!bad) {
      bad = this.provider.filterCandidates(vs, all, true);
      this.vsNoMatch.set(vs, bad);
    }
    if (bad.length <= SHARED_CONSTRAINT_MIN) {
      for (const s of bad) {
        const v = this.solvableVar.get(s)!;
        const lits = new Int32Array([(parent << 1) | 1, (v << 1) | 1]);
        added.push(this.newClause(ClauseKind.Constrains, lits, parent, vs, s));
      }
      return;
    }
    // Many parents often share one constraint (every python build constrains python_abi): route them
    // through one auxiliary variable g, "the constraint is active": parent → g, g → ¬x for each x.
    let g = this.vsGuard.get(vs);
    if (g === undefined) {
      g = this.newVar(-1, -1);
      this.vsGuard.set(vs, g);
      for (const s of bad) {
        const v = this.solvableVar.get(s)!;
        const lits = new Int32Array([(g << 1) | 1, (v << 1) | 1]);
        added.push(this.newClause(ClauseKind.Constrains, lits, -1, vs, s));
      }
    }
    added.push(this.newClause(ClauseKind.Constrains, new Int32Array([(parent << 1) | 1, g << 1]), parent, vs, GUARD));
  }

  private addForbidMultiple(name: NameId, vars: number[], added: number[]): void {
    const n = vars.length;
    if (n < 2) return;
    const mk = (a: number, b: number) => {
      added.push(this.newClause(ClauseKind.ForbidMultiple, new Int32Array([a, b]), name, -1, -1));
    };
    if (n <= 6) {
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) mk((vars[i]! << 1) | 1, (vars[j]! << 1) | 1);
      return;
    }
    // Sequential-counter ladder: aux s_i is true when one of x_1..x_i is installed.
    let prev = -1;
    for (let i = 0; i < n; i++) {
      const x = vars[i]!;
      if (prev >= 0) mk((x << 1) | 1, (prev << 1) | 1); // x_i → ¬s_{i-1}
      if (i < n - 1) {
        const s = this.newVar(-1, -1);
        mk((x << 1) | 1, s << 1); // x_i → s_i
        if (prev >= 0) mk((prev << 1) | 1, s << 1); // s_{i-1} → s_i
        prev = s;
      }
    }
  }

  private encodeSolvable(v: number, added: number[]): void {
    const deps = this.provider.dependencies(this.varSolvable[v]!);
    for (const vs of deps.requires) added.push(this.addRequires(v, vs, added));
    for (const vs of deps.constrains) this.addConstrains(v, vs, added);
  }

  private watch(c: number): void {
    const l = this.lits[c]!;
    this.watches[l[0]!]!.push(c);
    this.watches[l[1]!]!.push(c);
  }

  /** Integrate freshly built clauses; returns a clause id proving unsatisfiability, or -1. */
  private integrateAll(clauses: number[]): number {
    for (const c of clauses) {
      const bad = this.integrate(c);
      if (bad >= 0) return bad;
    }
    return -1;
  }

  /**
   * Start watching a clause built under the current assignment. If it is already unit or
   * conflicting, backjump to where it became so and propagate or learn from it.
   */
  private integrate(c: number): number {
    const l = this.lits[c]!;
    const n = l.length;
    if (n === 0) return c;
    let nf = 0;
    for (let i = 0; i < n; i++) {
      if (this.litValue(l[i]!) !== FALSE) {
        const t = l[nf]!; l[nf] = l[i]!; l[i] = t; nf++;
      }
    }
    if (n === 1) {
      // A unit clause holds at level 0, whatever the current level.
      const v = l[0]! >> 1;
      const val = this.litValue(l[0]!);
      if (val !== 0 && this.varLevel[v] === 0) return val === TRUE ? -1 : c;
      if (val !== 0) this.backjump(this.varLevel[v]! - 1);
      this.assign(l[0]!, c, 0);
      return -1;
    }
    if (nf >= 2) {
      this.watch(c);
      return -1;
    }
    // Bring the highest-level false literal to position nf (and for conflicts the next one to nf+1).
    this.maxLevelTo(l, nf);
    if (nf === 1) {
      this.watch(c);
      if (this.litValue(l[0]!) === 0) this.assign(l[0]!, c, this.varLevel[l[1]! >> 1]!);
      return -1;
    }
    return this.resolveConflict(c, false);
  }

  /**
   * Handle a clause whose literals are all false. Returns a clause proving unsatisfiability, or -1
   * once the conflict is resolved (by re-assigning a missed unit or by learning and backjumping).
   */
  private resolveConflict(c: number, watched = true): number {
    const l = this.lits[c]!;
    const w0 = l[0]!;
    const w1 = l.length > 1 ? l[1]! : -1;
    this.maxLevelTo(l, 0);
    const m1 = this.varLevel[l[0]! >> 1]!;
    if (m1 === 0) return c;
    if (l.length === 1) {
      this.backjump(m1 - 1);
      this.assign(l[0]!, c, 0);
      return -1;
    }
    this.maxLevelTo(l, 1);
    const m2 = this.varLevel[l[1]! >> 1]!;
    // Watch the two highest-level literals: they are the first to become unassigned again.
    if (!watched) this.watch(c);
    else if (l[0] !== w0 || l[1] !== w1) {
      if (w0 !== l[0] && w0 !== l[1]) this.unwatch(c, w0);
      if (w1 !== l[0] && w1 !== l[1]) this.unwatch(c, w1);
      if (l[0] !== w0 && l[0] !== w1) this.watches[l[0]!]!.push(c);
      if (l[1] !== w0 && l[1] !== w1) this.watches[l[1]!]!.push(c);
    }
    if (m1 > m2) {
      // Only one literal at the highest level: the clause is a unit missed at level m2.
      this.backjump(m1 - 1);
      this.assign(l[0]!, c, m2);
      return -1;
    }
    this.backjump(m1);
    return this.learn(c);
  }

  private unwatch(c: number, lit: number): void {
    const ws = this.watches[lit]!;
    const i = ws.indexOf(c);
    if (i >= 0) {
      ws[i] = ws[ws.length - 1]!;
      ws.pop();
    }
  }

  private maxLevelTo(l: Int32Array, pos: number): void {
    let best = pos;
    for (let i = pos + 1; i < l.length; i++) if (this.varLevel[l[i]! >> 1]! > this.varLevel[l[best]! >> 1]!) best = i;
    const t = l[pos]!; l[pos] = l[best]!; l[best] = t;
  }

  // ------------------------------------------------------------------ propagation

  private propagate(): number {
    while (this.qhead < this.trailLen) {
      const p = this.trail[this.qhead++]!;
      const falseLit = p ^ 1;
      const ws = this.watches[falseLit]!;
      let i = 0;
      let j = 0;
      const n = ws.length;
      while (i < n) {
        const c = ws[i++]!;
        const l = this.lits[c]!;
        if (l[0] === falseLit) { l[0] = l[1]!; l[1] = falseLit; }
        const first = l[0]!;
        const fv = this.litValue(first);
        if (fv === TRUE) { ws[j++] = c; continue; }
        let moved = false;
        for (let k = 2; k < l.length; k++) {
          const lk = l[k]!;
          if (this.litValue(lk) !== FALSE) {
            l[1] = lk; l[k] = falseLit;
            this.watches[lk]!.push(c);
            moved = true;
            break;
          }
        }
        if (moved) continue;
        ws[j++] = c;
        if (fv === FALSE) {
          while (i < n) ws[j++] = ws[i++]!;
          ws.length = j;
          return c;
        }
        let lv = 0;
        for (let k = 1; k < l.length; k++) {
          const x = this.varLevel[l[k]! >> 1]!;
          if (x > lv) lv = x;
        }
        this.assign(first, c, lv);
      }
      ws.length = j;
    }
    return -1;
  }

  // ------------------------------------------------------------------ conflict analysis

  /** 1-UIP learning at the current level; backjumps and asserts. Returns an unsat clause id or -1. */
  private learn(confl: number): number {
    const learnt: number[] = [0];
    const from: number[] = [];
    let pathC = 0;
    let p = -1;
    let idx = this.trailLen - 1;
    let c = confl;
    const touched: number[] = [];
    for (;;) {
      from.push(c);
      const l = this.lits[c]!;
      for (let k = 0; k < l.length; k++) {
        const q = l[k]!;
        const v = q >> 1;
        if (p >= 0 && v === p >> 1) continue;
        if (this.seen[v] === 0 && this.varLevel[v]! > 0) {
          this.seen[v] = 1;
          touched.push(v);
          this.bump(v);
          if (this.varLevel[v]! >= this.level) pathC++;
          else learnt.push(q);
        }
      }
      // The next literal of the current level on the trail (lower-level ones may sit in between).
      while (this.seen[this.trail[idx]! >> 1] === 0 || this.varLevel[this.trail[idx]! >> 1]! < this.level) idx--;
      p = this.trail[idx]!;
      idx--;
      this.seen[p >> 1] = 0;
      pathC--;
      if (pathC <= 0) break;
      c = this.reason[p >> 1]!;
    }
    for (const v of touched) this.seen[v] = 0;
    learnt[0] = p ^ 1;
    this.activityInc /= 0.95;
    if (this.activityInc > 1e100) {
      for (let i = 0; i < this.activity.length; i++) this.activity[i]! *= 1e-100;
      this.activityInc *= 1e-100;
    }

    let bt = 0;
    if (learnt.length > 1) {
      let bi = 1;
      for (let k = 2; k < learnt.length; k++) if (this.varLevel[learnt[k]! >> 1]! > this.varLevel[learnt[bi]! >> 1]!) bi = k;
      const t = learnt[1]!; learnt[1] = learnt[bi]!; learnt[bi] = t;
      bt = this.varLevel[learnt[1]! >> 1]!;
    }
    const id = this.newClause(ClauseKind.Learnt, Int32Array.from(learnt), -1, -1, -1);
    this.learntFrom.set(id, from);
    this.stats.learnt++;
    this.backjump(bt);
    if (learnt.length > 1) this.watch(id);
    else if (this.litValue(learnt[0]!) === FALSE) return id;
    this.assign(learnt[0]!, id);
    return -1;
  }

  private bump(v: number): void {
    const name = this.varName[v]!;
    if (name < 0) return;
    while (this.activity.length <= name) this.activity.push(0);
    this.activity[name]! += this.activityInc;
  }

  // ------------------------------------------------------------------ decisions

  /** The variable to install next, or -1 when every requirement of every installed solvable holds. */
  private decide(): number {
    let bestVar = -1;
    let bestClause = -1;
    let bestExplicit = false;
    let bestAct = 0;
    let bestCount = -1; // computed only when a rival needs it
    for (const parent of this.reqParents) {
      if (this.value[parent] !== TRUE) continue;
      const explicit = parent === ROOT;
      if (bestVar >= 0 && bestExplicit && !explicit) break;
      for (const c of this.reqByParent.get(parent)!) {
        const name = this.clauseTarget[c]!;
        // A name with an installed solvable either satisfies the requirement or (one per name)
        // has made it false, which propagation has already turned into ¬parent.
        if (this.nameTrue[name]! >= 0) continue;
        const act = this.activity[name] ?? 0;
        if (bestVar >= 0 && (bestAct >= act || (bestExplicit && !explicit))) continue;
        const vars = this.reqVars.get(c) ?? EMPTY;
        let first = -1;
        let i = 0;
        for (; i < vars.length; i++) {
          if (this.value[vars[i]!] === 0) { first = vars[i]!; break; }
        }
        if (first < 0) continue;
        if (bestVar < 0) {
          bestVar = first; bestClause = c; bestExplicit = explicit; bestAct = act; bestCount = -1;
          continue;
        }
        let count = 0;
        for (; i < vars.length; i++) if (this.value[vars[i]!] === 0) count++;
        if (bestCount < 0) bestCount = this.openCount(bestClause);
        if (bestCount <= count) continue;
        bestVar = first; bestClause = c; bestExplicit = explicit; bestAct = act; bestCount = count;
      }
    }
    return bestVar;
  }

  private openCount(c: number): number {
    const vars = this.reqVars.get(c) ?? EMPTY;
    let n = 0;
    for (let i = 0; i < vars.length; i++) if (this.value[vars[i]!] === 0) n++;
    return n;
  }

  // ------------------------------------------------------------------ unsatisfiable

  private unsat(confl: number): SolveOutcome {
    this.backjump(0);
    const core: CoreClause[] = [];
    const done = new Set<number>();
    const stack = [confl];
    while (stack.length) {
      const c = stack.pop()!;
      if (done.has(c)) continue;
      done.add(c);
      const k = this.kind[c]!;
      if (k === ClauseKind.Learnt) {
        for (const r of this.learntFrom.get(c) ?? []) stack.push(r);
      } else {
        core.push(this.describe(c));
      }
      const l = this.lits[c]!;
      for (let i = 0; i < l.length; i++) {
        const v = l[i]! >> 1;
        if (this.value[v] !== 0 && this.varLevel[v] === 0 && this.reason[v]! >= 0) stack.push(this.reason[v]!);
      }
    }
    return { ok: false, core: dedupeCore(this.joinGuardedConstraints(core)), stats: this.finalStats() };
  }

  /** Turn the two halves of guarded constraints (parent → g, g → ¬x) back into parent/forbidden pairs. */
  private joinGuardedConstraints(core: CoreClause[]): CoreClause[] {
    const parents = new Map<VersionSetId, (SolvableId | null)[]>();
    const forbidden = new Map<VersionSetId, SolvableId[]>();
    const out: CoreClause[] = [];
    for (const c of core) {
      if (c.kind === 'constrains' && c.forbidden === GUARD) push(parents, c.versionSet, c.parent);
      else if (c.kind === 'constrains' && c.parent === GUARD) push(forbidden, c.versionSet, c.forbidden);
      else out.push(c);
    }
    for (const [vs, ps] of parents) {
      for (const parent of ps) {
        for (const x of forbidden.get(vs) ?? []) out.push({ kind: 'constrains', parent, versionSet: vs, forbidden: x });
      }
    }
    return out;
  }

  private describe(c: number): CoreClause {
    const k = this.kind[c]!;
    const parentVar = this.clauseParent[c]!;
    const parent = k === ClauseKind.ForbidMultiple || parentVar === ROOT ? null : this.varSolvable[parentVar]!;
    if (k === ClauseKind.Requires) {
      return { kind: 'requires', parent, versionSet: this.clauseVersionSet[c]!, candidates: this.vsMatch.get(this.clauseVersionSet[c]!) ?? [] };
    }
    if (k === ClauseKind.Constrains) {
      // Guarded constraints come in halves, marked with GUARD: parent → g (forbidden = GUARD) and
      // g → ¬x (parent = GUARD); joinGuardedConstraints pairs them up again.
      if (parentVar < 0) return { kind: 'constrains', parent: GUARD, versionSet: this.clauseVersionSet[c]!, forbidden: this.clauseTarget[c]! };
      return { kind: 'constrains', parent, versionSet: this.clauseVersionSet[c]!, forbidden: this.clauseTarget[c]! };
    }
    return { kind: 'forbid-multiple', name: this.clauseParent[c]! };
  }

  private finalStats(): SolverStats {
    return { ...this.stats };
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

function dedupeCore(core: CoreClause[]): CoreClause[] {
  const seen = new Set<string>();
  const out: CoreClause[] = [];
  for (const c of core) {
    const key =
      c.kind === 'requires'
        ? `r${c.parent}:${c.versionSet}`
        : c.kind === 'constrains'
          ? `c${c.parent}:${c.versionSet}:${c.forbidden}`
          : `f${c.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(c);
  }
  return out;
}
