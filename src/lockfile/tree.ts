/**
 * The dependency graph of one platform of a lockfile, for `tree` and `why` (no network: the
 * lockfile holds every package's depends). Roots are the requested specs (`metadata.specs`).
 */
import type { LockedCondaPackage, Lockfile } from './model.js';
import { cmpStr } from './normalise.js';
import { splitDependency } from './render/deps.js';

export interface DependencyGraph {
  platform: string;
  packages: Map<string, LockedCondaPackage>;
  /** name → locked dependency names (sorted). */
  deps: Map<string, string[]>;
  /** name → names that depend on it (sorted). */
  dependents: Map<string, string[]>;
  /** Requested spec text → its package name (only those locked for the platform). */
  roots: Array<{ spec: string; name: string }>;
}

export function dependencyGraph(lockfile: Lockfile, platform: string): DependencyGraph {
  const packages = new Map(lockfile.packages.filter((p) => p.platform === platform).map((p) => [p.name, p]));
  const deps = new Map<string, string[]>();
  const dependents = new Map<string, string[]>();
  for (const p of packages.values()) {
    const ds = [...new Set(p.depends.map((d) => splitDependency(d).name))].filter((n) => n !== p.name && packages.has(n)).sort(cmpStr);
    deps.set(p.name, ds);
    for (const d of ds) dependents.set(d, [...(dependents.get(d) ?? []), p.name]);
  }
  for (const l of dependents.values()) l.sort(cmpStr);
  const roots = lockfile.metadata.specs.map((spec) => ({ spec, name: splitDependency(spec).name })).filter((r) => packages.has(r.name));
  return { platform, packages, deps, dependents, roots };
}

const label = (p: LockedCondaPackage) => `${p.name} ${p.version} ${p.build}`;

/**
 * Text tree. Default: from each requested spec down to its dependencies. `invert`: from `name` up to
 * what depends on it (pixi's `tree -i`). A package already printed is shown once more with `(*)`.
 */
export function formatTree(g: DependencyGraph, opts: { invert?: string; maxDepth?: number } = {}): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  const edges = opts.invert ? g.dependents : g.deps;
  const walk = (name: string, prefix: string, depth: number) => {
    const kids = edges.get(name) ?? [];
    kids.forEach((k, i) => {
      const last = i === kids.length - 1;
      const p = g.packages.get(k)!;
      const again = seen.has(k) && (edges.get(k) ?? []).length > 0;
      const req = opts.invert ? g.roots.filter((r) => r.name === k).map((r) => ` [requested: ${r.spec}]`).join('') : '';
      lines.push(`${prefix}${last ? '└── ' : '├── '}${label(p)}${req}${again ? ' (*)' : ''}`);
      if (again || (opts.maxDepth !== undefined && depth + 1 >= opts.maxDepth)) return;
      seen.add(k);
      walk(k, `${prefix}${last ? '    ' : '│   '}`, depth + 1);
    });
  };
  const tops = opts.invert ? [{ spec: '', name: opts.invert }] : g.roots;
  for (const r of tops) {
    const p = g.packages.get(r.name);
    if (!p) continue;
    lines.push(`${label(p)}${r.spec ? ` [requested: ${r.spec}]` : ''}`);
    seen.add(r.name);
    walk(r.name, '', 0);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** For each requested spec that pulls `name` in: the shortest chain from the spec's package to it. */
export function whyChains(g: DependencyGraph, name: string): Array<{ spec: string; chain: string[] }> {
  const out: Array<{ spec: string; chain: string[] }> = [];
  for (const r of g.roots) {
    const prev = new Map<string, string | null>([[r.name, null]]);
    const queue = [r.name];
    while (queue.length) {
      const n = queue.shift()!;
      if (n === name) break;
      for (const d of g.deps.get(n) ?? []) {
        if (!prev.has(d)) {
          prev.set(d, n);
          queue.push(d);
        }
      }
    }
    if (!prev.has(name)) continue;
    const chain: string[] = [];
    for (let n: string | null = name; n !== null; n = prev.get(n) ?? null) chain.unshift(n);
    out.push({ spec: r.spec, chain });
  }
  return out;
}
