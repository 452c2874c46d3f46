/** The order packages are linked in (install.ts), which is also who wins a path two packages ship. */
import type { LockedCondaPackage } from '../lockfile/model.js';

/** The name part of a depends entry (`libgcc-ng >=7.3.0` → `libgcc-ng`). */
function depName(dep: string): string {
  return /^[^\s=<>!~[]+/.exec(dep.trim())?.[0] ?? dep.trim();
}

/**
 * Dependencies before dependents (Kahn's algorithm); ties and cycles resolved by name so the order
 * is deterministic. This is also the clobber order: a later package wins a shared path.
 */
export function installOrder<T extends Pick<LockedCondaPackage, 'name' | 'depends'>>(pkgs: readonly T[]): T[] {
  const byName = new Map(pkgs.map((p) => [p.name, p]));
  const deps = new Map<string, Set<string>>();
  for (const p of pkgs) {
    const ds = new Set(p.depends.map(depName).filter((n) => n !== p.name && byName.has(n)));
    deps.set(p.name, ds);
  }
  const done = new Set<string>();
  const out: T[] = [];
  const names = [...byName.keys()].sort();
  while (out.length < pkgs.length) {
    let ready = names.filter((n) => !done.has(n) && [...deps.get(n)!].every((d) => done.has(d)));
    // A dependency cycle: break it at the first remaining name.
    if (ready.length === 0) ready = [names.find((n) => !done.has(n))!];
    for (const n of ready) {
      done.add(n);
      out.push(byName.get(n)!);
    }
  }
  return out;
}
