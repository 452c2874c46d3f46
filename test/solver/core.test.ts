import { describe, expect, it } from 'vitest';
import { Solver } from '../../src/solver/core/solver.js';
import { MockProvider, type MockPackage } from './mock-provider.js';

function run(universe: Record<string, MockPackage[]>, root: string[], rootConstrains: string[] = [], favored?: Record<string, number>) {
  const p = new MockProvider(universe);
  for (const [k, v] of Object.entries(favored ?? {})) p.favored.set(k, v);
  const out = new Solver(p).solve(root.map((r) => p.vs(r)), rootConstrains.map((r) => p.vs(r)));
  return { p, out };
}

/** Checks a solution against the universe: root specs, requires, constrains, one version per name. */
function valid(universe: Record<string, MockPackage[]>, root: string[], rootConstrains: string[], chosen: Record<string, number>): boolean {
  const m = (spec: string): { name: string; ok: (v: number) => boolean } => {
    const r = /^(\S+)(?:\s+(>=|<=|==)?\s*(\d+)(?:\.\.(\d+))?)?$/.exec(spec)!;
    const n = r[3] === undefined ? undefined : Number(r[3]);
    const hi = r[4] === undefined ? undefined : Number(r[4]);
    return {
      name: r[1]!,
      ok: (v) => n === undefined || (hi !== undefined ? v >= n && v <= hi : r[2] === '>=' ? v >= n : r[2] === '<=' ? v <= n : v === n),
    };
  };
  const holds = (spec: string) => { const s = m(spec); return chosen[s.name] !== undefined && s.ok(chosen[s.name]!); };
  const constraintHolds = (spec: string) => { const s = m(spec); return chosen[s.name] === undefined || s.ok(chosen[s.name]!); };
  if (!root.every(holds) || !rootConstrains.every(constraintHolds)) return false;
  for (const [name, v] of Object.entries(chosen)) {
    const pkg = universe[name]?.find((x) => x.version === v);
    if (!pkg) return false;
    if (!(pkg.requires ?? []).every(holds)) return false;
    if (!(pkg.constrains ?? []).every(constraintHolds)) return false;
  }
  return true;
}

describe('core CDCL solver', () => {
  it('picks the newest candidates when nothing conflicts', () => {
    const u = { a: [{ version: 1 }, { version: 2, requires: ['b >=1'] }], b: [{ version: 1 }, { version: 3 }] };
    const { p, out } = run(u, ['a']);
    expect(out.ok).toBe(true);
    if (out.ok) expect(p.describe(out.solvables)).toEqual({ a: 2, b: 3 });
  });

  it('backtracks to an older version when the newest conflicts', () => {
    const u = {
      a: [{ version: 1, requires: ['c ==1'] }, { version: 2, requires: ['c ==2'] }],
      b: [{ version: 1, requires: ['c ==1'] }],
      c: [{ version: 1 }, { version: 2 }],
    };
    const { p, out } = run(u, ['a', 'b']);
    expect(out.ok).toBe(true);
    if (out.ok) expect(p.describe(out.solvables)).toEqual({ a: 1, b: 1, c: 1 });
  });

  it('honours constrains only when the constrained name is installed', () => {
    const u = { a: [{ version: 1, constrains: ['x <=1'] }], x: [{ version: 1 }, { version: 2 }] };
    let r = run(u, ['a']);
    expect(r.out.ok && r.p.describe(r.out.solvables)).toEqual({ a: 1 });
    r = run(u, ['a', 'x']);
    expect(r.out.ok && r.p.describe(r.out.solvables)).toEqual({ a: 1, x: 1 });
  });

  it('root constrains (pins) restrict names that get installed', () => {
    const u = { a: [{ version: 1, requires: ['b'] }], b: [{ version: 1 }, { version: 2 }, { version: 3 }] };
    const r = run(u, ['a'], ['b <=2']);
    expect(r.out.ok && r.p.describe(r.out.solvables)).toEqual({ a: 1, b: 2 });
  });

  it('keeps one version per name with long candidate lists (ladder encoding)', () => {
    const many = Array.from({ length: 40 }, (_, i) => ({ version: i + 1 }));
    const u = { a: [{ version: 1, requires: ['z >=10'] }], b: [{ version: 1, requires: ['z <=12'] }], c: [{ version: 1, requires: ['z 5..11'] }], z: many };
    const r = run(u, ['a', 'b', 'c']);
    expect(r.out.ok && r.p.describe(r.out.solvables)).toEqual({ a: 1, b: 1, c: 1, z: 11 });
  });

  it('shares one guard per constraint forbidding many candidates, and explains through it', () => {
    const z = Array.from({ length: 12 }, (_, i) => ({ version: i + 1 }));
    const u = {
      a: [1, 2, 3].map((v) => ({ version: v, constrains: ['z <=3'] })),
      b: [{ version: 1, constrains: ['z <=3'] }],
      z,
    };
    let r = run(u, ['a', 'b', 'z']);
    expect(r.out.ok && r.p.describe(r.out.solvables)).toEqual({ a: 3, b: 1, z: 3 });
    r = run(u, ['a', 'z >=5']);
    expect(r.out.ok).toBe(false);
    if (!r.out.ok) {
      const pairs = r.out.core.filter((c) => c.kind === 'constrains');
      expect(pairs.length).toBeGreaterThan(0);
      for (const c of pairs) {
        if (c.kind !== 'constrains') continue;
        expect(c.forbidden).toBeGreaterThanOrEqual(0);
        expect(r.p.displaySolvable(c.forbidden)).toMatch(/^z (\d+)$/);
        expect(Number(r.p.displaySolvableVersion(c.forbidden))).toBeGreaterThan(3);
        expect(c.parent === null ? 'root' : r.p.displaySolvable(c.parent)).toMatch(/^a \d$/);
      }
    }
  });

  it('prefers a favored candidate but drops it when it cannot work', () => {
    const u = { a: [{ version: 1 }, { version: 2 }, { version: 3 }], b: [{ version: 1, requires: ['a >=2'] }] };
    let r = run(u, ['a'], [], { a: 1 });
    expect(r.out.ok && r.p.describe(r.out.solvables)).toEqual({ a: 1 });
    r = run(u, ['b', 'a'], [], { a: 1 });
    expect(r.out.ok && r.p.describe(r.out.solvables)).toEqual({ a: 3, b: 1 });
  });

  it('reports an unsatisfiable core naming the requirements involved', () => {
    const u = { a: [{ version: 1, requires: ['c ==1'] }], b: [{ version: 1, requires: ['c ==2'] }], c: [{ version: 1 }, { version: 2 }], d: [{ version: 1 }] };
    const { p, out } = run(u, ['a', 'b', 'd']);
    expect(out.ok).toBe(false);
    if (!out.ok) {
      const texts = out.core.filter((c) => c.kind === 'requires').map((c) => p.displayVersionSet(c.versionSet));
      expect(texts).toEqual(expect.arrayContaining(['a', 'b', 'c ==1', 'c ==2']));
      expect(texts).not.toContain('d');
      expect(out.core.some((c) => c.kind === 'forbid-multiple')).toBe(true);
    }
  });

  it('a requirement with no candidates makes its parent uninstallable', () => {
    const u = { a: [{ version: 2, requires: ['missing'] }, { version: 1 }] };
    const r = run(u, ['a']);
    expect(r.out.ok && r.p.describe(r.out.solvables)).toEqual({ a: 1 });
    const r2 = run(u, ['a >=2']);
    expect(r2.out.ok).toBe(false);
  });

  it('learns clauses on a pigeonhole problem and still traces the core to original clauses', () => {
    // 5 packages each take one of 4 slots (their versions).
    const pk = ['p0', 'p1', 'p2', 'p3', 'p4'];
    // Each slot token has one version per package; a package taking slot k needs slotk at its own index,
    // so two packages cannot share a slot (one version per name).
    const v: Record<string, MockPackage[]> = { unrelated: [{ version: 1 }] };
    for (const p of pk) v[p] = [1, 2, 3, 4].map((slot) => ({ version: slot, requires: [`slot${slot} ==${pk.indexOf(p) + 1}`] }));
    for (const slot of [1, 2, 3, 4]) v[`slot${slot}`] = pk.map((_, i) => ({ version: i + 1 }));
    const { p, out } = run(v, [...pk, 'unrelated']);
    expect(out.ok).toBe(false);
    expect(out.stats.conflicts).toBeGreaterThan(0);
    expect(out.stats.learnt).toBeGreaterThan(0);
    if (!out.ok) {
      const names = new Set(out.core.map((c) => (c.kind === 'forbid-multiple' ? p.displayName(c.name) : p.displayVersionSet(c.versionSet).split(' ')[0])));
      expect(names.has('unrelated')).toBe(false);
      expect([...names].some((n) => n?.startsWith('slot'))).toBe(true);
    }
  });

  it('loads only names reachable from the requirements', () => {
    const u = { a: [{ version: 1, requires: ['b'] }], b: [{ version: 1 }], unrelated: [{ version: 1, requires: ['b'] }] };
    const { p, out } = run(u, ['a']);
    expect(out.ok).toBe(true);
    expect(p.candidateCalls.sort()).toEqual(['a', 'b']);
  });

  it.each([
    { names: 5, maxVersions: 3, iterations: 1500, maxDeps: 2, seed: 12345 },
    { names: 6, maxVersions: 4, iterations: 250, maxDeps: 3, seed: 777 },
    // long candidate lists: ladder encoding and guarded (shared) constraints
    { names: 4, maxVersions: 8, iterations: 300, maxDeps: 2, seed: 4242 },
  ])('agrees with brute force on random universes ($names names, ≤$maxVersions versions)', ({ names: nNames, maxVersions, iterations, maxDeps, seed: seed0 }) => {
    let seed = seed0;
    const rnd = (n: number) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 16) % n; };
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].slice(0, nNames);
    let sat = 0;
    let unsat = 0;
    for (let iter = 0; iter < iterations; iter++) {
      const u: Record<string, MockPackage[]> = {};
      const spec = () => {
        const n = names[rnd(names.length)]!;
        const k = rnd(4);
        return k === 0 ? n : k === 1 ? `${n} >=${1 + rnd(maxVersions)}` : k === 2 ? `${n} <=${1 + rnd(maxVersions)}` : `${n} ==${1 + rnd(maxVersions)}`;
      };
      for (const n of names) {
        const count = rnd(maxVersions + 1);
        u[n] = Array.from({ length: count }, (_, i) => ({
          version: i + 1,
          requires: Array.from({ length: rnd(maxDeps + 1) }, spec).filter((s) => !s.startsWith(n)),
          constrains: rnd(maxVersions > 4 ? 2 : 4) === 0 ? [spec()].filter((s) => !s.startsWith(n)) : [],
        }));
      }
      const root = Array.from({ length: 1 + rnd(3) }, spec);
      const rootC = rnd(3) === 0 ? [spec()] : [];
      // brute force over (absent | version) per name
      let exists = false;
      const total = names.reduce((acc, n) => acc * (u[n]!.length + 1), 1);
      for (let code = 0; code < total && !exists; code++) {
        let c = code;
        const chosen: Record<string, number> = {};
        for (const n of names) {
          const k = c % (u[n]!.length + 1);
          c = Math.floor(c / (u[n]!.length + 1));
          if (k > 0) chosen[n] = k;
        }
        if (valid(u, root, rootC, chosen)) exists = true;
      }
      const { p, out } = run(u, root, rootC);
      expect(out.ok, JSON.stringify({ u, root, rootC })).toBe(exists);
      if (out.ok) {
        sat++;
        expect(valid(u, root, rootC, p.describe(out.solvables)), JSON.stringify({ u, root, rootC, got: p.describe(out.solvables) })).toBe(true);
        expect(new Set(out.solvables.map((s) => p.solvableName(s))).size).toBe(out.solvables.length);
      } else unsat++;
    }
    expect(sat).toBeGreaterThan(iterations / 10);
    expect(unsat).toBeGreaterThan(iterations / 10);
  });
});
