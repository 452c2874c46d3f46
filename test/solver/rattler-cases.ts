/**
 * Solve cases shared by the differential tests (test/solver/differential.test.ts) and the solver
 * benchmark (bench/solve.ts): the fixture channel, per-subdir virtual packages, hand-chosen specs
 * and a seeded generator of random spec sets drawn from the versions actually present.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture } from '../support/fixtures.js';
import type { RattlerVirtualPackage } from './rattler-harness.js';

/** conda-forge python 3.9 subchannel (May 2024), see ../shared/fixtures/SOURCES.md. */
export const CHANNEL_DIR = fixture('repodata', 'conda-forge-subchannel-py39-2024-05');
/** The channel URL the fixture's records claim (metadata.base_url). */
export const CHANNEL_URL = 'https://conda.anaconda.org/conda-forge';

export const SUBDIRS = ['linux-64', 'linux-aarch64', 'linux-ppc64le', 'osx-64', 'osx-arm64', 'win-64', 'win-arm64'] as const;
export type FixtureSubdir = (typeof SUBDIRS)[number];

/**
 * Virtual packages of a typical host per subdir. The same list is given to both solvers
 * (rattler receives them as records; see rattler-worker.mjs).
 */
export const VIRTUAL_PACKAGES: Record<FixtureSubdir, RattlerVirtualPackage[]> = {
  'linux-64': [
    { name: '__unix', version: '0' },
    { name: '__linux', version: '5.10' },
    { name: '__glibc', version: '2.28' },
    { name: '__archspec', version: '1', build: 'x86_64' },
  ],
  'linux-aarch64': [
    { name: '__unix', version: '0' },
    { name: '__linux', version: '5.10' },
    { name: '__glibc', version: '2.28' },
    { name: '__archspec', version: '1', build: 'aarch64' },
  ],
  'linux-ppc64le': [
    { name: '__unix', version: '0' },
    { name: '__linux', version: '5.10' },
    { name: '__glibc', version: '2.28' },
    { name: '__archspec', version: '1', build: 'ppc64le' },
  ],
  'osx-64': [
    { name: '__unix', version: '0' },
    { name: '__osx', version: '10.15' },
    { name: '__archspec', version: '1', build: 'x86_64' },
  ],
  'osx-arm64': [
    { name: '__unix', version: '0' },
    { name: '__osx', version: '11.0' },
    { name: '__archspec', version: '1', build: 'arm64' },
  ],
  'win-64': [
    { name: '__win', version: '0' },
    { name: '__archspec', version: '1', build: 'x86_64' },
  ],
  'win-arm64': [
    { name: '__win', version: '0' },
    { name: '__archspec', version: '1', build: 'arm64' },
  ],
};

export interface SolveCase {
  /** Stable id used in test names, e.g. `linux-64 #17`. */
  id: string;
  subdir: FixtureSubdir;
  specs: string[];
}

/**
 * Hand-chosen cases: typical requests plus some that must be unsatisfiable. Each case only names
 * packages present in its subdir (or noarch); `*` marks a case valid for every subdir but win-arm64
 * (which has no python: zlib/zstd/bzip2/vc only).
 */
const HAND_PYTHON: string[][] = [
  ['python 3.9.*'],
  ['python 3.9.7'],
  ['python >=3.9.10'],
  ['python <3.9.5'],
  ['python 3.9.* *_cpython'],
  ['python ==3.9.0'],
  ['python 3.9.*', 'openssl 1.1.*'],
  ['python', 'openssl >=3'],
  ['python >=3.9.10', 'sqlite <3.40'],
  ['python 3.9.12', 'setuptools <60'],
  ['python 3.9.*', 'pip', 'setuptools', 'wheel'],
  ['pip'],
  ['setuptools'],
  ['sqlite'],
  ['zlib 1.2.*'],
  ['curl'],
  ['python 3.9.4', 'zlib >=1.2.13'],
  ['python_abi 3.9.*', 'python >=3.9.15'],
  // unsatisfiable
  ['python >=3.10'],
  ['python 3.9.7', 'python 3.9.8'],
  ['python 3.9.*', 'python_abi 3.8.*'],
];

const HAND_BY_SUBDIR: Partial<Record<FixtureSubdir, string[][]>> = {
  'linux-64': [['python 3.9.* *_73_pypy'], ['pypy3.9'], ['libcxx'], ['openssl 1.0.2*']],
  'osx-64': [['python 3.9.* *_73_pypy'], ['zstd'], ['libcxx 17.*'], ['llvm-openmp >=18']],
  'osx-arm64': [['python 3.9.1rc1'], ['python >=3.9.1rc1,<3.9.2'], ['zstd'], ['llvm-openmp']],
  'win-64': [['vc14_runtime'], ['python 3.9.*', 'vs2015_runtime <14.30'], ['m2w64-gcc-libs'], ['ucrt']],
  'win-arm64': [
    ['zlib'],
    ['zlib 1.2.*'],
    ['zstd'],
    ['zstd <1.5.6', 'zlib 1.3'],
    ['vc14_runtime 14.36.*'],
    ['bzip2'],
    ['libzlib <1.3'],
    ['vc ==14.3 hc3ae7f9_12'],
    ['zlib >=1.4'],
  ],
};

export interface SubdirIndex {
  /** name → distinct versions present (subdir + noarch), in file order. */
  versions: Map<string, string[]>;
  /** name → distinct `version build` pairs present. */
  builds: Map<string, string[]>;
}

const indexCache = new Map<string, SubdirIndex>();

function readRecords(subdir: string): Record<string, unknown>[] {
  const json = JSON.parse(readFileSync(join(CHANNEL_DIR, subdir, 'repodata.json'), 'utf8')) as Record<
    string,
    Record<string, Record<string, unknown>> | undefined
  >;
  return [...Object.values(json.packages ?? {}), ...Object.values(json['packages.conda'] ?? {})];
}

/** Names and versions present for `subdir` + noarch (raw JSON, independent of our parser). */
export function subdirIndex(subdir: FixtureSubdir): SubdirIndex {
  const cached = indexCache.get(subdir);
  if (cached) return cached;
  const versions = new Map<string, Set<string>>();
  const builds = new Map<string, Set<string>>();
  for (const r of [...readRecords(subdir), ...readRecords('noarch')]) {
    const name = String(r.name);
    if (!versions.has(name)) versions.set(name, new Set());
    if (!builds.has(name)) builds.set(name, new Set());
    versions.get(name)!.add(String(r.version));
    builds.get(name)!.add(`${String(r.version)} ${String(r.build)}`);
  }
  const idx: SubdirIndex = {
    versions: new Map([...versions].map(([n, v]) => [n, [...v]])),
    builds: new Map([...builds].map(([n, v]) => [n, [...v]])),
  };
  indexCache.set(subdir, idx);
  return idx;
}

/** The hand-chosen cases whose names all exist in their subdir (+ noarch). */
export function handCases(): SolveCase[] {
  const out: SolveCase[] = [];
  for (const subdir of SUBDIRS) {
    const idx = subdirIndex(subdir);
    const lists = [...(subdir === 'win-arm64' ? [] : HAND_PYTHON), ...(HAND_BY_SUBDIR[subdir] ?? [])];
    let n = 0;
    for (const specs of lists) {
      const names = specs.map((s) => s.split(/[\s=<>!~]/)[0]!);
      if (!names.every((name) => idx.versions.has(name))) continue;
      out.push({ id: `${subdir} hand#${++n}`, subdir, specs });
    }
  }
  return out;
}

/** mulberry32: a tiny seeded PRNG, so generated cases are the same on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Rough version order, only used to make generated ranges usually non-empty
 * (the solvers decide what actually matches).
 */
function roughCompare(a: string, b: string): number {
  const pa = a.split(/[._-]/);
  const pb = b.split(/[._-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '0';
    const y = pb[i] ?? '0';
    const nx = Number.parseInt(x, 10);
    const ny = Number.parseInt(y, 10);
    if (!Number.isNaN(nx) && !Number.isNaN(ny) && nx !== ny) return nx - ny;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** `1.2.3` → one of `1`, `1.2`, `1.2.3` (at least one segment). */
function prefixOf(v: string, rand: () => number): string {
  const parts = v.split('.');
  const keep = 1 + Math.floor(rand() * parts.length);
  return parts.slice(0, keep).join('.');
}

function pick<T>(xs: readonly T[], rand: () => number): T {
  return xs[Math.floor(rand() * xs.length)]!;
}

/** One random spec for `name` with a version constraint drawn from the versions present. */
export function randomSpec(name: string, idx: SubdirIndex, rand: () => number): string {
  const versions = idx.versions.get(name)!;
  const v = pick(versions, rand);
  const r = rand();
  if (r < 0.1) return name;
  if (r < 0.22) return `${name} >=${v}`;
  if (r < 0.34) return `${name} <${v}`;
  if (r < 0.44) return `${name} ==${v}`;
  if (r < 0.56) return `${name} ${prefixOf(v, rand)}.*`;
  if (r < 0.72) {
    let w = pick(versions, rand);
    for (let i = 0; i < 4 && w === v; i++) w = pick(versions, rand);
    const [a, b] = [v, w].sort(roughCompare);
    return rand() < 0.5 ? `${name} >=${a},<${b}` : `${name} >${a},<=${b}`;
  }
  if (r < 0.78) return `${name} =${prefixOf(v, rand)}`;
  if (r < 0.84) return `${name} !=${v}`;
  if (r < 0.9) return `${name} ${v}`;
  if (r < 0.95) return `${name} ${prefixOf(v, rand)}.*|${prefixOf(pick(versions, rand), rand)}.*`;
  // an exact version and build string from the records
  return `${name} ${pick(idx.builds.get(name)!, rand)}`;
}

/**
 * `count` random spec sets, spread over the subdirs (win-arm64, with 6 names, gets a smaller
 * share): 1–4 distinct names present in the subdir (+ noarch), each with a random constraint.
 */
export function generatedCases(count: number, seed = 20240516): SolveCase[] {
  const rand = prng(seed);
  const weights: [FixtureSubdir, number][] = SUBDIRS.map((s) => [s, s === 'win-arm64' ? 0.4 : 1]);
  const total = weights.reduce((a, [, w]) => a + w, 0);
  const out: SolveCase[] = [];
  const perSubdir = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    // deterministic round-robin by weight
    let x = ((i * 0.6180339887) % 1) * total;
    let subdir: FixtureSubdir = SUBDIRS[0];
    for (const [s, w] of weights) {
      if (x < w) {
        subdir = s;
        break;
      }
      x -= w;
    }
    const idx = subdirIndex(subdir);
    const names = [...idx.versions.keys()];
    const k = 1 + Math.floor(rand() * 4);
    const chosen = new Set<string>();
    while (chosen.size < Math.min(k, names.length)) chosen.add(pick(names, rand));
    const specs = [...chosen].map((name) => randomSpec(name, idx, rand));
    const n = (perSubdir.get(subdir) ?? 0) + 1;
    perSubdir.set(subdir, n);
    out.push({ id: `${subdir} gen#${n}`, subdir, specs });
  }
  return out;
}

/** An update of a locked solution: solve `lockSpecs`, lock its result, then solve `specs` with it. */
export interface LockedCase extends SolveCase {
  lockSpecs: string[];
}

/** Hand-chosen lock updates: keep what still fits, move what a new spec forces. */
export function handLockedCases(): LockedCase[] {
  const raw: [FixtureSubdir, string[], string[]][] = [
    ['linux-64', ['python 3.9.7', 'openssl 1.1.*'], ['python 3.9.*']],
    ['linux-64', ['python 3.9.7', 'openssl 1.1.*'], ['python 3.9.*', 'openssl >=3']],
    ['linux-64', ['python 3.9.0'], ['python', 'pip', 'curl']],
    ['linux-aarch64', ['python 3.9.12', 'setuptools <60'], ['python', 'setuptools']],
    ['linux-ppc64le', ['python <3.9.5', 'sqlite <3.40'], ['python >=3.9.4', 'sqlite']],
    ['osx-64', ['python 3.9.7'], ['python', 'zstd']],
    ['osx-arm64', ['python 3.9.1rc1'], ['python', 'pip']],
    ['win-64', ['python 3.9.4'], ['python >=3.9.5']],
    ['win-64', ['python 3.9.*', 'vs2015_runtime <14.30'], ['python', 'vs2015_runtime']],
    ['win-arm64', ['zstd <1.5.6'], ['zstd', 'zlib']],
  ];
  return raw.map(([subdir, lockSpecs, specs], i) => ({ id: `${subdir} lock#${i + 1}`, subdir, lockSpecs, specs }));
}

/**
 * Generated lock updates: the lock comes from a generated spec set; the update asks for the same
 * names, each either bare (the lock should be kept) or with a new random constraint, plus
 * sometimes one more name.
 */
export function generatedLockedCases(count: number, seed = 20240517): LockedCase[] {
  const rand = prng(seed);
  const base = generatedCases(count, seed + 1);
  return base.map((c, i) => {
    const idx = subdirIndex(c.subdir);
    const names = c.specs.map((s) => s.split(' ')[0]!);
    const specs = names.map((n) => (rand() < 0.6 ? n : randomSpec(n, idx, rand)));
    if (rand() < 0.5) {
      const extra = pick([...idx.versions.keys()], rand);
      if (!names.includes(extra)) specs.push(rand() < 0.5 ? extra : randomSpec(extra, idx, rand));
    }
    return { id: `${c.subdir} genlock#${i + 1}`, subdir: c.subdir, lockSpecs: c.specs, specs };
  });
}

/** Repodata JSON (raw `info` form) of one subdir of a derived channel. */
export type RawRepoData = { info: { subdir: string }; packages: Record<string, unknown>; 'packages.conda': Record<string, unknown> };

/**
 * A higher-priority channel derived from the fixture for channel-priority tests: for the names
 * `keep` selects, only the records `keepRecord` accepts. Records lose `channel`/`url` (the consumer
 * assigns them). Returns the subdir's and noarch's repodata.
 */
export function derivedChannel(
  subdir: FixtureSubdir,
  keepRecord: (r: { name: string; version: string; build: string }) => boolean,
): { [subdir: string]: RawRepoData } {
  const out: { [subdir: string]: RawRepoData } = {};
  for (const sd of [subdir, 'noarch']) {
    const json = JSON.parse(readFileSync(join(CHANNEL_DIR, sd, 'repodata.json'), 'utf8')) as Record<
      string,
      Record<string, Record<string, unknown>> | undefined
    >;
    const repo: RawRepoData = { info: { subdir: sd }, packages: {}, 'packages.conda': {} };
    for (const key of ['packages', 'packages.conda'] as const) {
      for (const [fn, r] of Object.entries(json[key] ?? {})) {
        if (!keepRecord({ name: String(r.name), version: String(r.version), build: String(r.build) })) continue;
        const { channel: _c, url: _u, fn: _f, ...rest } = r;
        repo[key][fn] = rest;
      }
    }
    out[sd] = repo;
  }
  return out;
}

/**
 * A seeded random higher-priority channel for `subdir`: ~30% of the names, each with only its
 * versions up to a random cut (in rough version order), so strict priority hides the newer ones.
 */
export function randomPriorityChannel(subdir: FixtureSubdir, seed: number): { [subdir: string]: RawRepoData } {
  const rand = prng(seed);
  const idx = subdirIndex(subdir);
  const cut = new Map<string, Set<string>>();
  for (const [name, versions] of idx.versions) {
    if (rand() >= 0.3) continue;
    const sorted = [...versions].sort(roughCompare);
    const n = 1 + Math.floor(rand() * sorted.length);
    cut.set(name, new Set(sorted.slice(0, n)));
  }
  return derivedChannel(subdir, (r) => cut.get(r.name)?.has(r.version) ?? false);
}

// ---------------------------------------------------------------------------------------------
// A second, different real dataset: anaconda defaults, linux-64 + noarch, up to 2018-08
// (conda's tests/data/index4.json: a flat {filename: record} map; mkl/nomkl features).
// ---------------------------------------------------------------------------------------------

export const DEFAULTS_FLAT = fixture('repodata', 'conda-defaults-2018', 'index4.flat.json');
export const DEFAULTS_URL = 'https://repo.anaconda.com/pkgs/main';

/** The flat map split into raw linux-64 and noarch repodata (12 legacy records without `subdir` are linux-64). */
export function defaultsChannel(): { [subdir: string]: RawRepoData } {
  const flat = JSON.parse(readFileSync(DEFAULTS_FLAT, 'utf8')) as Record<string, Record<string, unknown>>;
  const out: { [subdir: string]: RawRepoData } = {
    'linux-64': { info: { subdir: 'linux-64' }, packages: {}, 'packages.conda': {} },
    noarch: { info: { subdir: 'noarch' }, packages: {}, 'packages.conda': {} },
  };
  for (const [fn, r] of Object.entries(flat)) {
    const subdir = typeof r.subdir === 'string' ? r.subdir : 'linux-64';
    const repo = out[subdir];
    if (!repo) continue;
    repo[fn.endsWith('.conda') ? 'packages.conda' : 'packages'][fn] = { ...r, subdir };
  }
  return out;
}

/** Names/versions index of derived repodata (for the generator). */
export function indexOfRepos(repos: RawRepoData[]): SubdirIndex {
  const versions = new Map<string, string[]>();
  const builds = new Map<string, string[]>();
  for (const repo of repos) {
    for (const key of ['packages', 'packages.conda'] as const) {
      for (const r of Object.values(repo[key]) as { name: string; version: string; build: string }[]) {
        const v = versions.get(r.name) ?? [];
        if (!v.includes(r.version)) v.push(r.version);
        versions.set(r.name, v);
        const b = builds.get(r.name) ?? [];
        const vb = `${r.version} ${r.build}`;
        if (!b.includes(vb)) b.push(vb);
        builds.set(r.name, b);
      }
    }
  }
  return { versions, builds };
}

/** Seeded spec sets for one subdir of any channel: 1–3 distinct names, each with a random constraint. */
export function generatedCasesFromIndex(idx: SubdirIndex, subdir: FixtureSubdir, count: number, seed: number, label: string): SolveCase[] {
  const rand = prng(seed);
  const names = [...idx.versions.keys()].sort();
  const out: SolveCase[] = [];
  for (let i = 0; i < count; i++) {
    const k = 1 + Math.floor(rand() * 3);
    const chosen = new Set<string>();
    while (chosen.size < Math.min(k, names.length)) chosen.add(pick(names, rand));
    out.push({ id: `${label} gen#${i + 1}`, subdir, specs: [...chosen].map((n) => randomSpec(n, idx, rand)) });
  }
  return out;
}
