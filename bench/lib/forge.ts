/**
 * A conda-forge-scale synthetic channel for the lock benchmarks (bench/lock-scale.ts).
 *
 * Shape (defaults match today's conda-forge, issue 13): linux-64 ≈ 430k records, noarch ≈ 143k,
 * ≈ 35k names, repodata.json ≈ 650 bytes per record. Records carry the fields real repodata has
 * (build, build_number, depends, constrains, license, license_family, md5, sha256, size, subdir,
 * timestamp, version, noarch) with license pairs and package sizes sampled from the real records in
 * ../shared/fixtures/repodata when present.
 *
 * The dependency graph is a DAG in name order: name i depends only on names j < i, picked with a
 * Zipf-like bias toward low indices, so the first names (libgcc-ng, libzlib, openssl, python, ...)
 * are the most depended on, as in the real channel. Versions of a name are spread over 2016–2024;
 * a record pins each dependency the way conda-forge's run_exports do: a C library to the version
 * that was current when the record was built (`libfoo >=1.4.2,<2.0a0`), a python extension to one
 * python minor (`python >=3.11,<3.12.0a0` + `python_abi 3.11.* *_cp311`), a noarch python package
 * with a lower bound only. Records older than 2022 are `.tar.bz2` in `packages`, newer ones
 * `.conda` in `packages.conda`.
 *
 * Everything comes from one seeded PRNG: the same options give byte-identical files.
 * A handful of well-known names (numpy, pandas, scipy, flask, django, fastapi, ...) exist so that
 * the benchmark's spec set reads like a real environment.yml.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Packr } from 'msgpackr';

/** Plain msgpack (no msgpackr record extension), as other CEP-16 readers expect. */
const packr = new Packr({ useRecords: false });
const pack = (v: unknown): Buffer => packr.pack(v);

export interface ForgeOptions {
  /** linux-64 records (default 430_000). */
  linuxRecords?: number;
  /** noarch records (default 143_000). */
  noarchRecords?: number;
  /** Package names over both subdirs (default: records / 16.4, i.e. 35k for 573k records). */
  names?: number;
  seed?: number;
  /** Also write CEP-16 shards (repodata_shards.msgpack.zst + one shard per name). */
  shards?: boolean;
  /** Real repodata to sample licenses and sizes from (default ../shared/fixtures/repodata/...). */
  shapeSource?: string;
}

export interface ForgeChannel {
  /** Channel directory: <dir>/linux-64/repodata.json(.zst), <dir>/noarch/..., shards when asked. */
  dir: string;
  linuxRecords: number;
  noarchRecords: number;
  names: number;
  jsonBytes: number;
  zstBytes: number;
  /** The spec set the benchmark locks (all names exist in the channel). */
  specs: string[];
}

/** Bump when the output changes, so cached channels are regenerated. */
const GENERATOR_VERSION = 7;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Kind = 'lib' | 'pyext' | 'pynoarch' | 'generic';

interface NameDef {
  name: string;
  kind: Kind;
  /** Indices of the names it depends on (all lower). */
  deps: number[];
  /** Versions, oldest first, with build time. */
  versions: Array<{ v: string; t: number }>;
  license: [string, string | undefined];
  size: number;
  /** python package extensions that pin this one exactly (numpy-like). */
  pinnedAbi: boolean;
}

const T0 = Date.UTC(2016, 0, 1);
const T1 = Date.UTC(2024, 11, 1);
/** Python minors and when conda-forge started / stopped building for them. */
const PYTHONS: Array<{ minor: number; from: number; to: number }> = [
  { minor: 6, from: Date.UTC(2016, 11, 1), to: Date.UTC(2021, 9, 1) },
  { minor: 7, from: Date.UTC(2018, 6, 1), to: Date.UTC(2023, 6, 1) },
  { minor: 8, from: Date.UTC(2019, 10, 1), to: T1 },
  { minor: 9, from: Date.UTC(2020, 10, 1), to: T1 },
  { minor: 10, from: Date.UTC(2021, 10, 1), to: T1 },
  { minor: 11, from: Date.UTC(2022, 10, 1), to: T1 },
  { minor: 12, from: Date.UTC(2023, 10, 1), to: T1 },
];
const TAR_BZ2_UNTIL = Date.UTC(2022, 0, 1);

/** Well-known names: [name, kind, number of deps]. They sit early in the DAG so many depend on them. */
const CORE: Array<[string, Kind]> = [
  ['_libgcc_mutex', 'generic'],
  ['libgcc-ng', 'lib'],
  ['libstdcxx-ng', 'lib'],
  ['libgomp', 'lib'],
  ['libzlib', 'lib'],
  ['ca-certificates', 'generic'],
  ['openssl', 'lib'],
  ['libffi', 'lib'],
  ['bzip2', 'lib'],
  ['xz', 'lib'],
  ['ncurses', 'lib'],
  ['readline', 'lib'],
  ['libsqlite', 'lib'],
  ['tk', 'lib'],
  ['libuuid', 'lib'],
  ['libnsl', 'lib'],
  ['libxcrypt', 'lib'],
  ['ld_impl_linux-64', 'lib'],
  ['tzdata', 'generic'],
  ['python', 'lib'],
  ['python_abi', 'lib'],
  ['pip', 'pynoarch'],
  ['setuptools', 'pynoarch'],
  ['wheel', 'pynoarch'],
  ['libblas', 'lib'],
  ['libcblas', 'lib'],
  ['liblapack', 'lib'],
  ['libopenblas', 'lib'],
  ['libgfortran-ng', 'lib'],
  ['six', 'pynoarch'],
  ['typing_extensions', 'pynoarch'],
  ['packaging', 'pynoarch'],
  ['numpy', 'pyext'],
  ['python-dateutil', 'pynoarch'],
  ['pytz', 'pynoarch'],
  ['markupsafe', 'pyext'],
  ['jinja2', 'pynoarch'],
  ['click', 'pynoarch'],
  ['idna', 'pynoarch'],
  ['certifi', 'pynoarch'],
  ['charset-normalizer', 'pynoarch'],
  ['urllib3', 'pynoarch'],
  ['requests', 'pynoarch'],
  ['itsdangerous', 'pynoarch'],
  ['werkzeug', 'pynoarch'],
  ['flask', 'pynoarch'],
  ['scipy', 'pyext'],
  ['pandas', 'pyext'],
  ['sqlparse', 'pynoarch'],
  ['asgiref', 'pynoarch'],
  ['django', 'pynoarch'],
  ['anyio', 'pynoarch'],
  ['pydantic-core', 'pyext'],
  ['pydantic', 'pynoarch'],
  ['starlette', 'pynoarch'],
  ['fastapi', 'pynoarch'],
  ['greenlet', 'pyext'],
  ['sqlalchemy', 'pyext'],
  ['h11', 'pynoarch'],
  ['uvicorn', 'pynoarch'],
  ['joblib', 'pynoarch'],
  ['threadpoolctl', 'pynoarch'],
  ['scikit-learn', 'pyext'],
  ['pillow', 'pyext'],
  ['matplotlib-base', 'pyext'],
];
/** Names the compiler runtime pins every C/C++ record to. */
const RUNTIME = ['libgcc-ng', 'libstdcxx-ng'];
/** Libraries python itself links. */
const PYTHON_LIBS = ['libgcc-ng', 'libzlib', 'openssl', 'libffi', 'bzip2', 'xz', 'ncurses', 'readline', 'libsqlite', 'tk', 'libuuid', 'libnsl', 'libxcrypt', 'ld_impl_linux-64', 'tzdata'];

export const FORGE_SPECS = [
  'python 3.11.*',
  'numpy',
  'pandas',
  'scipy',
  'scikit-learn',
  'matplotlib-base',
  'flask',
  'django',
  'fastapi',
  'uvicorn',
  'sqlalchemy',
  'requests',
  'pip',
];

const SYLLABLES = ['ar', 'bel', 'cor', 'dax', 'en', 'fu', 'gri', 'ho', 'ix', 'jo', 'ka', 'lum', 'mo', 'nex', 'op', 'pra', 'qui', 'ro', 'sil', 'tor', 'ul', 'vek', 'wa', 'xy', 'yor', 'zen'];

function loadShapes(source: string | undefined): { licenses: Array<[string, string | undefined]>; sizes: number[] } {
  const licenses: Array<[string, string | undefined]> = [];
  const sizes: number[] = [];
  if (source && existsSync(source)) {
    for (const sub of readdirSync(source)) {
      const f = join(source, sub, 'repodata.json');
      if (!existsSync(f)) continue;
      const j = JSON.parse(readFileSync(f, 'utf8')) as Record<string, Record<string, Record<string, unknown>> | undefined>;
      for (const key of ['packages', 'packages.conda']) {
        for (const r of Object.values(j[key] ?? {})) {
          if (typeof r.license === 'string') licenses.push([r.license, typeof r.license_family === 'string' ? r.license_family : undefined]);
          if (typeof r.size === 'number') sizes.push(r.size);
        }
      }
    }
  }
  if (licenses.length === 0) licenses.push(['MIT', 'MIT'], ['BSD-3-Clause', 'BSD'], ['Apache-2.0', 'Apache'], ['LGPL-2.1-or-later', undefined]);
  if (sizes.length === 0) sizes.push(12_345, 250_000, 1_500_000, 40_000_000);
  return { licenses, sizes };
}

function fmtVersion(major: number, minor: number, patch: number): string {
  return `${major}.${minor}.${patch}`;
}

/** The records of one subdir as repodata.json text, written in pieces to `file`. */
class JsonWriter {
  private fd: number;
  private buf: string[] = [];
  private len = 0;
  private first = true;
  bytes = 0;
  constructor(file: string) {
    this.fd = openSync(file, 'w');
  }
  raw(s: string): void {
    this.buf.push(s);
    this.len += s.length;
    if (this.len > 1 << 22) this.flush();
  }
  entry(fn: string, rec: object): void {
    this.raw(`${this.first ? '' : ','}\n  ${JSON.stringify(fn)}: ${JSON.stringify(rec)}`);
    this.first = false;
  }
  resetFirst(): void {
    this.first = true;
  }
  flush(): void {
    const s = this.buf.join('');
    this.bytes += writeSync(this.fd, s);
    this.buf = [];
    this.len = 0;
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

interface RawRecord {
  fn: string;
  rec: Record<string, unknown>;
}

/** Generate (or reuse) a channel under `root`; returns where it is. */
export function generateForge(root: string, opts: ForgeOptions = {}): ForgeChannel {
  const linuxTarget = opts.linuxRecords ?? 430_000;
  const noarchTarget = opts.noarchRecords ?? 143_000;
  const total = linuxTarget + noarchTarget;
  const nameTarget = opts.names ?? Math.max(CORE.length + 10, Math.round(total / 16.4));
  const seed = opts.seed ?? 13;
  const key = createHash('sha256')
    .update(JSON.stringify({ GENERATOR_VERSION, linuxTarget, noarchTarget, nameTarget, seed }))
    .digest('hex')
    .slice(0, 12);
  const dir = join(root, `forge-${key}`);
  const done = join(dir, 'summary.json');
  const wantShards = opts.shards ?? false;
  if (existsSync(done)) {
    const s = JSON.parse(readFileSync(done, 'utf8')) as ForgeChannel & { shards?: boolean };
    if (!wantShards || s.shards) return { ...s, dir };
    writeShardsFor(dir);
    writeFileSync(done, JSON.stringify({ ...s, shards: true }));
    return { ...s, dir };
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'linux-64'), { recursive: true });
  mkdirSync(join(dir, 'noarch'), { recursive: true });

  const rnd = mulberry32(seed);
  const shapes = loadShapes(opts.shapeSource);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const hex = (n: number): string => {
    let s = '';
    while (s.length < n) s += Math.floor(rnd() * 0x100000000).toString(16).padStart(8, '0');
    return s.slice(0, n);
  };

  // ---- names ---------------------------------------------------------------------------------
  // Kind mix: noarch python names carry the noarch records; the rest split between libraries and
  // python extensions so that the record counts land near the targets.
  const noarchShare = noarchTarget / total;
  const defs: NameDef[] = [];
  const used = new Set<string>();
  const coreIndex = new Map<string, number>();
  const newName = (kind: Kind): string => {
    for (;;) {
      const n = 1 + Math.floor(rnd() * 3);
      let s = '';
      for (let i = 0; i < n; i++) s += pick(SYLLABLES);
      s += String(Math.floor(rnd() * 1000));
      const name = kind === 'lib' ? `lib${s}` : kind === 'pyext' || kind === 'pynoarch' ? (rnd() < 0.5 ? `py${s}` : `${s}-py`) : s;
      if (!used.has(name)) {
        used.add(name);
        return name;
      }
    }
  };
  for (let i = 0; i < nameTarget; i++) {
    let name: string;
    let kind: Kind;
    // spread the well-known names over the first ~2% of the DAG, interleaved with synthetic ones
    const coreSlot = i < CORE.length * 8 && i % 8 === 0 ? CORE[i / 8] : undefined;
    if (coreSlot) {
      [name, kind] = coreSlot;
      used.add(name);
      coreIndex.set(name, i);
    } else {
      const r = rnd();
      kind = r < noarchShare * 0.93 ? 'pynoarch' : r < noarchShare ? 'generic' : r < noarchShare + (1 - noarchShare) * 0.5 ? 'lib' : 'pyext';
      name = newName(kind);
    }
    defs.push({ name, kind, deps: [], versions: [], license: pick(shapes.licenses), size: pick(shapes.sizes), pinnedAbi: false });
  }
  const idx = (n: string): number => coreIndex.get(n)!;
  defs[idx('numpy')]!.pinnedAbi = true;

  // ---- dependencies (DAG: only lower indices) --------------------------------------------------
  const zipfBelow = (i: number): number => Math.floor(i * Math.pow(rnd(), 2.2));
  for (let i = 0; i < defs.length; i++) {
    const d = defs[i]!;
    const want = d.name === 'python' || d.name === 'python_abi' || d.name === '_libgcc_mutex' ? 0 : Math.floor(Math.pow(rnd(), 1.2) * 10);
    const deps = new Set<number>();
    for (let k = 0; k < want * 3 && deps.size < want && i > 0; k++) {
      const j = zipfBelow(i);
      const t = defs[j]!;
      if (t.name === 'python' || t.name === 'python_abi' || t.name === '_libgcc_mutex') continue;
      // python packages depend on python packages and libraries; libraries only on libraries
      if ((d.kind === 'lib' || d.kind === 'generic') && (t.kind === 'pynoarch' || t.kind === 'pyext')) continue;
      if (d.kind === 'pynoarch' && t.kind === 'pyext' && rnd() < 0.5) continue;
      deps.add(j);
    }
    d.deps = [...deps].sort((a, b) => a - b);
  }
  if (defs[idx('python')]) defs[idx('python')]!.deps = PYTHON_LIBS.map(idx);
  // a few hand-set edges so the spec set pulls in the familiar closure
  const edge = (from: string, ...to: string[]) => {
    const d = defs[idx(from)]!;
    d.deps = [...new Set([...d.deps, ...to.map(idx)])].filter((j) => j < idx(from)).sort((a, b) => a - b);
  };
  edge('libgcc-ng', '_libgcc_mutex', 'libgomp');
  edge('libstdcxx-ng', 'libgcc-ng');
  edge('numpy', 'libblas', 'libcblas', 'liblapack');
  edge('pandas', 'numpy', 'python-dateutil', 'pytz', 'tzdata');
  edge('scipy', 'numpy', 'libblas', 'liblapack', 'libgfortran-ng');
  edge('flask', 'jinja2', 'click', 'itsdangerous', 'werkzeug');
  edge('requests', 'idna', 'certifi', 'charset-normalizer', 'urllib3');
  edge('django', 'sqlparse', 'asgiref');
  edge('fastapi', 'pydantic', 'starlette');
  edge('pydantic', 'pydantic-core', 'typing_extensions');
  edge('starlette', 'anyio');
  edge('uvicorn', 'h11', 'click');
  edge('sqlalchemy', 'greenlet', 'typing_extensions');
  edge('scikit-learn', 'numpy', 'scipy', 'joblib', 'threadpoolctl');
  edge('matplotlib-base', 'numpy', 'pillow', 'packaging', 'python-dateutil');
  edge('jinja2', 'markupsafe');

  // ---- versions ------------------------------------------------------------------------------
  // Records per version: pyext ≈ 3.5 python variants × builds, others ≈ 1.3 builds.
  const perVersion = (k: Kind) => (k === 'pyext' ? 4.2 : k === 'lib' ? 1.5 : 1.15);
  const noarchNames = defs.filter((d) => d.kind === 'pynoarch' || d.kind === 'generic');
  const linuxNames = defs.filter((d) => d.kind === 'lib' || d.kind === 'pyext');
  const assign = (list: NameDef[], target: number) => {
    // heavy tail: weight = u^-0.8 (a few names with hundreds of versions, most with a handful)
    const w = list.map(() => Math.pow(rnd() + 1e-3, -0.8));
    const sum = list.reduce((s, d, i) => s + w[i]! * perVersion(d.kind), 0);
    list.forEach((d, i) => {
      const n = Math.max(1, Math.round((w[i]! * target) / sum));
      const born = T0 + rnd() * (T1 - T0) * 0.7;
      let major = Math.floor(rnd() * 3);
      let minor = Math.floor(rnd() * 10);
      let patch = 0;
      for (let j = 0; j < n; j++) {
        // the newest version is recent, so every python extension has builds for today's pythons
        const t = j === n - 1 ? Math.round(T1 - rnd() * 60 * 86_400_000) : Math.round(born + ((T1 - born) * (j + rnd() * 0.5)) / n);
        d.versions.push({ v: fmtVersion(major, minor, patch), t });
        const r = rnd();
        if (r < 0.04) {
          major++;
          minor = 0;
          patch = 0;
        } else if (r < 0.35) {
          minor++;
          patch = 0;
        } else patch++;
      }
    });
  };
  assign(noarchNames, noarchTarget);
  assign(linuxNames, linuxTarget);
  // python: real minors, several patch releases each
  const py = defs[idx('python')]!;
  py.versions = [];
  for (const p of PYTHONS) {
    const n = 14;
    for (let j = 0; j < n; j++) py.versions.push({ v: `3.${p.minor}.${j}`, t: Math.round(p.from + ((p.to - p.from) * j) / n) });
  }
  py.versions.sort((a, b) => a.t - b.t);
  defs[idx('python_abi')]!.versions = PYTHONS.map((p) => ({ v: `3.${p.minor}`, t: p.from }));

  /** The version of dependency `j` current at time t (its newest version built before t). */
  const currentAt = (j: number, t: number): string | undefined => {
    const vs = defs[j]!.versions;
    let lo = 0;
    let hi = vs.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (vs[mid]!.t <= t) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found >= 0 ? vs[found]!.v : undefined;
  };
  const pyDeps = (minor: number) => [`python >=3.${minor},<3.${minor + 1}.0a0`, `python_abi 3.${minor}.* *_cp3${minor}`];

  /** Whether `j`'s newest version still has major `maj` (then an upper pin `<maj+1` is safe). */
  const lastMajor = (j: number): string => defs[j]!.versions[defs[j]!.versions.length - 1]!.v.split('.')[0]!;
  // Pins follow run_exports but never exclude a dependency's newest version, so "everything at its
  // newest" is always a solution and the solvers' answers are comparable; older builds still carry
  // tighter ranges and so make the candidate lists and the solve realistic.
  const depString = (j: number, t: number, from: NameDef): string | undefined => {
    const target = defs[j]!;
    const cur = currentAt(j, t);
    if (cur === undefined) return target.name;
    const [maj, min] = cur.split('.');
    const upper = maj === lastMajor(j) ? `,<${Number(maj) + 1}.0a0` : '';
    if (target.kind === 'lib') return rnd() < 0.8 ? `${target.name} >=${cur}${upper}` : `${target.name} >=${maj}.${min}`;
    if (target.pinnedAbi && from.kind === 'pyext') return `${target.name} >=${maj}.${min}${upper}`;
    if (from.kind === 'pynoarch' || from.kind === 'pyext') return rnd() < 0.4 ? target.name : `${target.name} >=${maj}.${min}`;
    return target.name;
  };

  // ---- records -------------------------------------------------------------------------------
  const writers = { 'linux-64': new JsonWriter(join(dir, 'linux-64', 'repodata.json')), noarch: new JsonWriter(join(dir, 'noarch', 'repodata.json')) };
  const counts = { 'linux-64': 0, noarch: 0 };
  const sorted = defs.map((d) => ({ d })).sort((a, b) => (a.d.name < b.d.name ? -1 : a.d.name > b.d.name ? 1 : 0));
  const bz2: Record<'linux-64' | 'noarch', RawRecord[]> = { 'linux-64': [], noarch: [] };
  const conda: Record<'linux-64' | 'noarch', RawRecord[]> = { 'linux-64': [], noarch: [] };
  const emit = (sub: 'linux-64' | 'noarch', fnStem: string, t: number, rec: Record<string, unknown>) => {
    const tar = t < TAR_BZ2_UNTIL;
    const fn = `${fnStem}${tar ? '.tar.bz2' : '.conda'}`;
    (tar ? bz2 : conda)[sub].push({ fn, rec });
    counts[sub]++;
  };
  const base = (d: NameDef, v: string, build: string, bn: number, depends: string[], t: number, sub: string) => {
    const rec: Record<string, unknown> = { build, build_number: bn };
    if (d.name === 'python_abi') rec.constrains = [`python ${v}.* *_cpython`];
    else if (rnd() < 0.18) {
      // a real-looking run_constrained that never rules anything out: at least the oldest version
      const c = defs[zipfBelow(defs.length)]!;
      if (c !== d && c.versions.length > 0) rec.constrains = [`${c.name} >=${c.versions[0]!.v}`];
    }
    rec.depends = depends;
    rec.license = d.license[0];
    if (d.license[1] !== undefined) rec.license_family = d.license[1];
    rec.md5 = hex(32);
    rec.name = d.name;
    if (sub === 'noarch') rec.noarch = d.kind === 'generic' ? 'generic' : 'python';
    rec.sha256 = hex(64);
    rec.size = Math.max(1000, Math.round(d.size * (0.8 + rnd() * 0.4)));
    rec.subdir = sub;
    rec.timestamp = t;
    rec.version = v;
    return rec;
  };

  for (const { d } of sorted) {
    for (const { v, t } of d.versions) {
      const nb = rnd() < 0.3 ? 2 : 1;
      for (let bn = 0; bn < nb; bn++) {
        const bt = t + bn * 86_400_000 * 7;
        if (d.name === 'python') {
          const minor = Number(v.split('.')[1]);
          const deps = d.deps.map((j) => depString(j, bt, d)).filter((s): s is string => s !== undefined);
          const build = `h${hex(7)}_${bn}_cpython`;
          emit('linux-64', `python-${v}-${build}`, bt, base(d, v, build, bn, [...deps, `python_abi 3.${minor}.* *_cp3${minor}`], bt, 'linux-64'));
        } else if (d.name === 'python_abi') {
          const build = `${4 + bn}_cp3${v.split('.')[1]}`;
          emit('linux-64', `python_abi-${v}-${build}`, bt, base(d, v, build, 4 + bn, [], bt, 'linux-64'));
        } else if (d.kind === 'pyext') {
          for (const p of PYTHONS) {
            if (bt < p.from || bt > p.to) continue;
            const deps = [...pyDeps(p.minor), ...d.deps.map((j) => depString(j, bt, d)).filter((s): s is string => s !== undefined)];
            if (rnd() < 0.8) deps.push(...RUNTIME.filter((r) => r !== d.name).map((r) => depString(idx(r), bt, d)!).filter(Boolean));
            const build = `py3${p.minor}h${hex(7)}_${bn}`;
            emit('linux-64', `${d.name}-${v}-${build}`, bt, base(d, v, build, bn, deps.sort(), bt, 'linux-64'));
          }
        } else if (d.kind === 'lib') {
          const deps = d.deps.map((j) => depString(j, bt, d)).filter((s): s is string => s !== undefined);
          if (!RUNTIME.includes(d.name) && d.name !== '_libgcc_mutex' && rnd() < 0.9)
            deps.push(...RUNTIME.slice(0, rnd() < 0.5 ? 1 : 2).map((r) => depString(idx(r), bt, d)).filter((s): s is string => s !== undefined));
          const build = `h${hex(7)}_${bn}`;
          emit('linux-64', `${d.name}-${v}-${build}`, bt, base(d, v, build, bn, [...new Set(deps)].sort(), bt, 'linux-64'));
        } else {
          const deps = d.deps.map((j) => depString(j, bt, d)).filter((s): s is string => s !== undefined);
          if (d.kind === 'pynoarch') deps.unshift(`python >=3.${PYTHONS.find((p) => p.to >= bt)?.minor ?? 8}`);
          const build = d.kind === 'pynoarch' ? `pyhd8ed1ab_${bn}` : `h${hex(7)}_${bn}`;
          emit('noarch', `${d.name}-${v}-${build}`, bt, base(d, v, build, bn, deps, bt, 'noarch'));
        }
      }
    }
  }

  for (const sub of ['linux-64', 'noarch'] as const) {
    const w = writers[sub];
    w.raw(`{\n "info": {\n  "subdir": ${JSON.stringify(sub)}\n },\n "packages": {`);
    w.resetFirst();
    for (const r of bz2[sub]) w.entry(r.fn, r.rec);
    w.raw(`\n },\n "packages.conda": {`);
    w.resetFirst();
    for (const r of conda[sub]) w.entry(r.fn, r.rec);
    w.raw(`\n },\n "removed": [],\n "repodata_version": 1\n}\n`);
    w.close();
  }
  let jsonBytes = 0;
  let zstBytes = 0;
  for (const sub of ['linux-64', 'noarch']) {
    const f = join(dir, sub, 'repodata.json');
    execFileSync('zstd', ['-q', '-f', '-T0', '-6', f, '-o', `${f}.zst`]);
    jsonBytes += readFileSync(f).length;
    zstBytes += readFileSync(`${f}.zst`).length;
  }
  const summary: ForgeChannel & { shards: boolean } = {
    dir,
    linuxRecords: counts['linux-64'],
    noarchRecords: counts.noarch,
    names: defs.length,
    jsonBytes,
    zstBytes,
    specs: FORGE_SPECS,
    shards: false,
  };
  if (wantShards) {
    writeShardsFor(dir);
    summary.shards = true;
  }
  writeFileSync(done, JSON.stringify(summary));
  return summary;
}

/**
 * CEP-16 form of a generated subdir: `<sub>/shards/repodata_shards.msgpack.zst` (the index) and
 * `<sub>/shards/<sha256>.msgpack.zst` per name, hashes as bytes like conda-forge's. The shard files
 * are compressed in one `zstd` run over a directory (one process, not one per name).
 */
export function writeShardsFor(dir: string): void {
  for (const sub of ['linux-64', 'noarch']) {
    const j = JSON.parse(readFileSync(join(dir, sub, 'repodata.json'), 'utf8')) as {
      packages: Record<string, Record<string, unknown>>;
      'packages.conda': Record<string, Record<string, unknown>>;
    };
    const byName = new Map<string, { packages: Record<string, unknown>; 'packages.conda': Record<string, unknown>; removed: string[] }>();
    for (const key of ['packages', 'packages.conda'] as const) {
      for (const [fn, r] of Object.entries(j[key])) {
        const name = r.name as string;
        let s = byName.get(name);
        if (!s) byName.set(name, (s = { packages: {}, 'packages.conda': {}, removed: [] }));
        // integers above 2^32 as int64 (msgpackr would write a float64, which rattler rejects)
        s[key][fn] = {
          ...r,
          md5: Buffer.from(r.md5 as string, 'hex'),
          sha256: Buffer.from(r.sha256 as string, 'hex'),
          ...(typeof r.timestamp === 'number' ? { timestamp: BigInt(r.timestamp) } : {}),
        };
      }
    }
    const out = join(dir, 'sharded', sub);
    const tmp = join(dir, 'sharded', `${sub}.raw`);
    rmSync(out, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    mkdirSync(tmp, { recursive: true });
    const names = [...byName.keys()];
    names.forEach((name, k) => writeFileSync(join(tmp, String(k)), pack(byName.get(name))));
    execFileSync('zstd', ['-q', '-3', '--rm', '-r', tmp]);
    const index: Record<string, Buffer> = {};
    names.forEach((name, k) => {
      const f = join(tmp, `${k}.zst`);
      const bytes = readFileSync(f);
      const sha = createHash('sha256').update(bytes).digest();
      renameSync(f, join(out, `${sha.toString('hex')}.msgpack.zst`));
      index[name] = sha;
    });
    rmSync(tmp, { recursive: true, force: true });
    const idx = { info: { base_url: '', shards_base_url: '', subdir: sub }, version: 1, shards: index };
    writeFileSync(join(out, 'repodata_shards.msgpack.zst'), execFileSync('zstd', ['-q', '-c', '-3'], { input: pack(idx), maxBuffer: 1 << 28 }));
  }
}
