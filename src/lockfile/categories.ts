/**
 * conda-lock's categories in our lockfile: which locked packages belong to `main`, `dev` or an
 * extra, and the subset of a lockfile that `install`, `verify` and `render` work on.
 *
 * Every category is solved together (one solve per platform, as conda-lock does), then each package
 * gets the categories whose requested specs reach it through `depends`: a package that `main` needs
 * is `main` even when a dev spec names it too, so installing main alone is always complete, and
 * main + any extras is the union of closed sets (complete as well). `categories` is written only
 * when it is not just `[main]`, so lockfiles without categories keep their bytes.
 */
import { UsageError } from '../errors.js';
import type { LockedCondaPackage, LockedPypiPackage, Lockfile } from './model.js';
import { cmpStr } from './normalise.js';
import { splitDependency } from './render/deps.js';

export const MAIN_CATEGORY = 'main';

/** The categories of a locked package (absent field = main). */
export function packageCategories(p: Pick<LockedCondaPackage, 'categories'>): readonly string[] {
  return p.categories ?? [MAIN_CATEGORY];
}

/**
 * For one platform's solution: package name → its categories (sorted). `roots` maps each
 * requested name to the categories that request it. A package no root reaches is main.
 */
export function assignCategories(
  packages: ReadonlyArray<{ name: string; depends: readonly string[] }>,
  roots: ReadonlyMap<string, readonly string[]>,
): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  for (const p of packages) deps.set(p.name, [...new Set(p.depends.map((d) => splitDependency(d).name))]);
  const reached = new Map<string, Set<string>>();
  const byCategory = new Map<string, string[]>();
  for (const [name, cats] of roots) for (const c of cats) byCategory.set(c, [...(byCategory.get(c) ?? []), name]);
  for (const [category, names] of byCategory) {
    const stack = names.filter((n) => deps.has(n));
    const seen = new Set<string>(stack);
    while (stack.length) {
      const n = stack.pop()!;
      const set = reached.get(n) ?? new Set<string>();
      set.add(category);
      reached.set(n, set);
      for (const d of deps.get(n) ?? []) {
        if (!seen.has(d) && deps.has(d)) {
          seen.add(d);
          stack.push(d);
        }
      }
    }
  }
  const out = new Map<string, string[]>();
  for (const p of packages) out.set(p.name, reached.has(p.name) ? [...reached.get(p.name)!].sort(cmpStr) : [MAIN_CATEGORY]);
  return out;
}

/**
 * For one platform's wheels: name → categories (sorted). A wheel's `requested_by` holds root
 * requirement texts (their categories are in `roots`) and parent project names (it gets theirs).
 */
export function assignPypiCategories(
  wheels: ReadonlyArray<Pick<LockedPypiPackage, 'name' | 'requested_by'>>,
  roots: ReadonlyMap<string, readonly string[]>,
): Map<string, string[]> {
  const cats = new Map<string, Set<string>>(wheels.map((w) => [w.name, new Set<string>()]));
  for (const w of wheels) for (const by of w.requested_by) for (const c of roots.get(by) ?? []) cats.get(w.name)!.add(c);
  // Parents pass theirs on until nothing changes (a cycle settles: sets only grow).
  let changed = true;
  while (changed) {
    changed = false;
    for (const w of wheels) {
      const mine = cats.get(w.name)!;
      for (const by of w.requested_by) {
        for (const c of cats.get(by) ?? []) {
          if (!mine.has(c)) {
            mine.add(c);
            changed = true;
          }
        }
      }
    }
  }
  return new Map([...cats].map(([n, s]) => [n, s.size ? [...s].sort(cmpStr) : [MAIN_CATEGORY]]));
}

/** Every category a lockfile records (sorted; `main` always). */
export function lockfileCategories(lockfile: Pick<Lockfile, 'packages'> & Partial<Pick<Lockfile, 'pypi'>>): string[] {
  const all = new Set<string>([MAIN_CATEGORY]);
  for (const p of [...lockfile.packages, ...(lockfile.pypi ?? [])]) for (const c of packageCategories(p)) all.add(c);
  return [...all].sort(cmpStr);
}

export interface CategorySelection {
  /** `--dev` (conda-lock install's flag): add the dev category. */
  dev?: boolean;
  /** `-E/--extras NAME` / `--category NAME`: add these categories. */
  extras?: readonly string[];
}

/** The CLI's category flags (`--dev`, `-E/--extras`, `--category`, the last two the same) as a selection. */
export function categorySelection(opts: { dev?: boolean; extras?: readonly string[]; category?: readonly string[] }): CategorySelection {
  return { dev: Boolean(opts.dev), extras: [...(opts.extras ?? []), ...(opts.category ?? [])] };
}

/** The categories a selection names: main, plus dev with `dev`, plus the extras (sorted, unique). */
export function selectedCategories(sel: CategorySelection): string[] {
  return [...new Set([MAIN_CATEGORY, ...(sel.dev ? ['dev'] : []), ...(sel.extras ?? [])])].sort(cmpStr);
}

/**
 * The part of `lockfile` a selection installs: conda packages in at least one selected category.
 * Go toolchains and PyPI wheels belong to main. A category the lockfile does not have is a usage
 * error naming the ones it has (`path` is used in the message).
 */
export function selectCategories(lockfile: Lockfile, sel: CategorySelection, path: string): Lockfile {
  const wanted = selectedCategories(sel);
  const known = lockfileCategories(lockfile);
  const unknown = wanted.filter((c) => !known.includes(c) && c !== MAIN_CATEGORY);
  if (unknown.length) {
    throw new UsageError(`${path} has no ${unknown.map((c) => `'${c}'`).join(', ')} categor${unknown.length === 1 ? 'y' : 'ies'} (it has ${known.join(', ')})`);
  }
  if (wanted.length === known.length) return lockfile;
  const keep = (p: Pick<LockedCondaPackage, 'categories'>) => packageCategories(p).some((c) => wanted.includes(c));
  return { ...lockfile, packages: lockfile.packages.filter(keep), ...(lockfile.pypi ? { pypi: lockfile.pypi.filter(keep) } : {}) };
}

/** How many packages of each platform a selection leaves out, for a note: `linux-64: 3 (dev, docs)`. */
export function leftOutNote(full: Lockfile, selected: Lockfile, platform: string): string | undefined {
  const kept = new Set([...selected.packages, ...(selected.pypi ?? [])].filter((p) => p.platform === platform).map((p) => p.name));
  const out = [...full.packages, ...(full.pypi ?? [])].filter((p) => p.platform === platform && !kept.has(p.name));
  if (out.length === 0) return undefined;
  const cats = [...new Set(out.flatMap((p) => packageCategories(p)))].sort(cmpStr);
  return `${out.length} package(s) of the ${cats.join(', ')} categor${cats.length === 1 ? 'y' : 'ies'} left out (add them with --dev / --extras NAME)`;
}
