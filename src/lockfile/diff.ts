/**
 * What changed between two lockfiles, per platform: conda packages, PyPI wheels and the Go toolchain.
 *
 * Kinds: added, removed, upgraded / downgraded (version order: conda's VersionOrder for conda
 * packages, PEP 440 for wheels, Go's rules for the toolchain), changed-build (same version, other
 * build / wheel file, hash, URL or channel). A wheel's row is `name (pypi)` and shows its version
 * and wheel tags (`2.31.0 py3-none-any`). Platforms present in only one file show all their entries as added / removed.
 */
import { compareVersions } from '../conda/version.js';
import { GoVersion, compareGoVersions } from '../go/version.js';
import { compareVersionStrings as comparePep440 } from '../pypi/version.js';
import type { LockedCondaPackage, LockedGoToolchain, LockedPypiPackage, Lockfile } from './model.js';
import { cmpStr } from './normalise.js';
import { dependencyGraph, whyChains } from './tree.js';

export type ChangeKind = 'added' | 'removed' | 'upgraded' | 'downgraded' | 'changed-build';

export type Manager = 'conda' | 'pypi' | 'go';

export interface EntrySummary {
  version: string;
  /** Conda build string; for a wheel its tags (`py3-none-any`); for Go the archive file name. */
  build: string;
  sha256: string;
  url: string;
}

export interface PackageChange {
  kind: ChangeKind;
  manager: Manager;
  /** Package name; `go` for the toolchain. */
  name: string;
  old?: EntrySummary;
  new?: EntrySummary;
  /** For an added conda package: the requested specs of the new lockfile that pull it in (tree.ts). */
  broughtInBy?: string[];
}

export interface PlatformDiff {
  platform: string;
  /** Only in the new lockfile / only in the old one. */
  status: 'added' | 'removed' | 'both';
  changes: PackageChange[];
}

export interface LockfileDiff {
  /** Platforms with at least one change, sorted. */
  platforms: PlatformDiff[];
  counts: Record<ChangeKind, number>;
  /** True when nothing changed. */
  empty: boolean;
}

function condaSummary(p: LockedCondaPackage): EntrySummary {
  return { version: p.version, build: p.build, sha256: p.sha256, url: p.url };
}

/** `requests-2.31.0-py3-none-any.whl` → `py3-none-any` (the file name when it is not a wheel name). */
function wheelTags(filename: string): string {
  const parts = filename.replace(/\.whl$/, '').split('-');
  return parts.length >= 5 ? parts.slice(-3).join('-') : filename;
}

function pypiSummary(p: LockedPypiPackage): EntrySummary {
  return { version: p.version, build: wheelTags(p.filename), sha256: p.sha256, url: p.url };
}

function comparePypiVersions(a: string, b: string): number {
  try {
    return comparePep440(a, b);
  } catch {
    return cmpStr(a, b);
  }
}

function goSummary(g: LockedGoToolchain): EntrySummary {
  return { version: g.version, build: g.filename, sha256: g.sha256, url: g.url };
}

function compareCondaVersions(a: string, b: string): number {
  try {
    return compareVersions(a, b);
  } catch {
    return cmpStr(a, b);
  }
}

function compareGo(a: string, b: string): number {
  const va = GoVersion.tryParse(a);
  const vb = GoVersion.tryParse(b);
  return va && vb ? compareGoVersions(va, vb) : cmpStr(a, b);
}

function classify(o: EntrySummary, n: EntrySummary, cmp: (a: string, b: string) => number): ChangeKind | undefined {
  if (o.version !== n.version) {
    const c = cmp(n.version, o.version);
    if (c > 0) return 'upgraded';
    if (c < 0) return 'downgraded';
    // Equal under version order but spelled differently (1.0 vs 1.0.0): a rebuild-like change.
    return 'changed-build';
  }
  if (o.build !== n.build || o.sha256 !== n.sha256 || o.url !== n.url) return 'changed-build';
  return undefined;
}

const KIND_ORDER: Record<ChangeKind, number> = { removed: 0, added: 1, upgraded: 2, downgraded: 3, 'changed-build': 4 };

export function diffLockfiles(oldLf: Lockfile, newLf: Lockfile): LockfileDiff {
  const platformsOf = (lf: Lockfile) =>
    new Set([...lf.metadata.platforms, ...lf.packages.map((p) => p.platform), ...(lf.pypi ?? []).map((p) => p.platform), ...lf.go.map((g) => g.platform)]);
  const oldPlatforms = platformsOf(oldLf);
  const newPlatforms = platformsOf(newLf);
  const all = [...new Set([...oldPlatforms, ...newPlatforms])].sort(cmpStr);
  const counts: Record<ChangeKind, number> = { added: 0, removed: 0, upgraded: 0, downgraded: 0, 'changed-build': 0 };
  const platforms: PlatformDiff[] = [];

  for (const platform of all) {
    const changes: PackageChange[] = [];
    const o = new Map(oldLf.packages.filter((p) => p.platform === platform).map((p) => [p.name, p]));
    const n = new Map(newLf.packages.filter((p) => p.platform === platform).map((p) => [p.name, p]));
    for (const name of new Set([...o.keys(), ...n.keys()])) {
      const a = o.get(name);
      const b = n.get(name);
      if (a && !b) changes.push({ kind: 'removed', manager: 'conda', name, old: condaSummary(a) });
      else if (!a && b) changes.push({ kind: 'added', manager: 'conda', name, new: condaSummary(b) });
      else if (a && b) {
        const kind = classify(condaSummary(a), condaSummary(b), compareCondaVersions);
        if (kind) changes.push({ kind, manager: 'conda', name, old: condaSummary(a), new: condaSummary(b) });
      }
    }
    const ow = new Map((oldLf.pypi ?? []).filter((p) => p.platform === platform).map((p) => [p.name, p]));
    const nw = new Map((newLf.pypi ?? []).filter((p) => p.platform === platform).map((p) => [p.name, p]));
    for (const name of new Set([...ow.keys(), ...nw.keys()])) {
      const a = ow.get(name);
      const b = nw.get(name);
      if (a && !b) changes.push({ kind: 'removed', manager: 'pypi', name, old: pypiSummary(a) });
      else if (!a && b) changes.push({ kind: 'added', manager: 'pypi', name, new: pypiSummary(b) });
      else if (a && b) {
        const kind = classify(pypiSummary(a), pypiSummary(b), comparePypiVersions);
        if (kind) changes.push({ kind, manager: 'pypi', name, old: pypiSummary(a), new: pypiSummary(b) });
      }
    }
    const og = oldLf.go.find((g) => g.platform === platform);
    const ng = newLf.go.find((g) => g.platform === platform);
    if (og && !ng) changes.push({ kind: 'removed', manager: 'go', name: 'go', old: goSummary(og) });
    else if (!og && ng) changes.push({ kind: 'added', manager: 'go', name: 'go', new: goSummary(ng) });
    else if (og && ng) {
      const kind = classify(goSummary(og), goSummary(ng), compareGo);
      if (kind) changes.push({ kind, manager: 'go', name: 'go', old: goSummary(og), new: goSummary(ng) });
    }
    if (changes.length === 0 && oldPlatforms.has(platform) === newPlatforms.has(platform)) continue;
    broughtInBy(newLf, platform, changes);
    changes.sort((x, y) => cmpStr(x.name, y.name) || cmpStr(x.manager, y.manager));
    for (const c of changes) counts[c.kind]++;
    platforms.push({
      platform,
      status: !oldPlatforms.has(platform) ? 'added' : !newPlatforms.has(platform) ? 'removed' : 'both',
      changes,
    });
  }
  return { platforms, counts, empty: platforms.length === 0 };
}

/** Fill `broughtInBy` of the added conda packages of one platform from the new lockfile's graph. */
function broughtInBy(newLf: Lockfile, platform: string, changes: PackageChange[]): void {
  const added = changes.filter((c) => c.kind === 'added' && c.manager === 'conda');
  if (added.length === 0 || newLf.metadata.specs.length === 0) return;
  const g = dependencyGraph(newLf, platform);
  for (const c of added) {
    const specs = [...new Set(whyChains(g, c.name).map((w) => w.spec))];
    if (specs.length) c.broughtInBy = specs;
  }
}

function entryText(e: EntrySummary | undefined, manager: Manager): string {
  if (!e) return '';
  return manager === 'go' ? e.version : `${e.version} ${e.build}`;
}

/** `go (toolchain)` and `requests (pypi)`: told apart from conda packages of the same name. */
function rowName(c: PackageChange): string {
  return c.manager === 'go' ? 'go (toolchain)' : c.manager === 'pypi' ? `${c.name} (pypi)` : c.name;
}

function changeLabel(c: PackageChange): string {
  if (c.kind !== 'changed-build') return c.kind;
  if (c.old && c.new && c.old.build === c.new.build && c.old.sha256 !== c.new.sha256) return 'changed hash';
  if (c.old && c.new && c.old.build === c.new.build && c.old.sha256 === c.new.sha256) return 'changed url';
  return c.manager === 'pypi' ? 'changed wheel' : 'changed build';
}

/** `3 upgraded, 1 added, 2 removed` (kinds with a zero count omitted); `No changes` when empty. */
export function formatDiffSummary(d: LockfileDiff): string {
  if (d.empty) return 'No changes';
  const parts = (['upgraded', 'downgraded', 'changed-build', 'added', 'removed'] as const)
    .filter((k) => d.counts[k] > 0)
    .map((k) => `${d.counts[k]} ${k === 'changed-build' ? 'rebuilt' : k}`);
  const platforms = d.platforms.length;
  return `${parts.join(', ')} across ${platforms} platform${platforms === 1 ? '' : 's'}`;
}

function platformHeading(p: PlatformDiff): string {
  return p.status === 'added' ? `${p.platform} (new platform)` : p.status === 'removed' ? `${p.platform} (platform removed)` : p.platform;
}

/** Aligned plain text, one block per platform. */
export function formatDiffText(d: LockfileDiff): string {
  if (d.empty) return 'No changes\n';
  const out: string[] = [];
  for (const p of d.platforms) {
    out.push(`${platformHeading(p)}:`);
    const rows = [...p.changes]
      .sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || cmpStr(a.name, b.name))
      .map((c) => {
        const sign = c.kind === 'added' ? '+' : c.kind === 'removed' ? '-' : '~';
        // `go (toolchain)`, as in the markdown table: conda-forge has a package called `go` too.
        return [sign, rowName(c), entryText(c.old, c.manager), entryText(c.new, c.manager), changeLabel(c)];
      });
    const w = [0, 1, 2, 3].map((i) => Math.max(0, ...rows.map((r) => r[i]!.length)));
    for (const r of rows) {
      const arrow = r[2] && r[3] ? '->' : '  ';
      out.push(
        `  ${r[0]} ${r[1]!.padEnd(w[1]!)}  ${r[2]!.padEnd(w[2]!)}  ${arrow}  ${r[3]!.padEnd(w[3]!)}  ${r[4]}`.trimEnd(),
      );
    }
    out.push('');
  }
  out.push(formatDiffSummary(d));
  return `${out.join('\n')}\n`;
}

function md(s: string): string {
  return s.replace(/\|/g, '\\|');
}

/** A PR comment: one section per platform with a table Package | Old | New | Change, then a summary. */
export function formatDiffMarkdown(d: LockfileDiff): string {
  if (d.empty) return '### Lockfile changes\n\nNo changes\n';
  const out: string[] = ['### Lockfile changes', '', `**${formatDiffSummary(d)}**`, ''];
  for (const p of d.platforms) {
    out.push(`#### ${platformHeading(p)}`, '', '| Package | Old | New | Change |', '| --- | --- | --- | --- |');
    for (const c of [...p.changes].sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || cmpStr(a.name, b.name))) {
      const name = rowName(c);
      const cell = (e: EntrySummary | undefined) => (e ? `\`${md(entryText(e, c.manager))}\`` : '—');
      const by = c.broughtInBy?.length ? ` (by ${c.broughtInBy.map((b) => `\`${md(b)}\``).join(', ')})` : '';
      out.push(`| ${md(name)} | ${cell(c.old)} | ${cell(c.new)} | ${changeLabel(c)}${by} |`);
    }
    out.push('');
  }
  return `${out.join('\n')}`;
}
