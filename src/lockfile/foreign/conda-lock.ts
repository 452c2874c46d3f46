/**
 * conda-lock v1 lockfiles (`conda-lock.yml`, the format micromamba and conda's conda-lockfiles
 * plugin install) → our Lockfile model, so `install` and `verify` replay them unchanged.
 *
 * conda-lock pins each conda package by URL and `hash: {md5, sha256?}`, without a size or a build
 * number: name, version, build, subdir and channel come from the URL (build_number from the build
 * string's trailing `_<n>`), `depends` from its `dependencies` map. A package with only an md5
 * keeps `sha256: ''` and `size: 0` ("not pinned"): the installer then checks the md5 (and the size
 * the server announces) instead. `noarch` is not recorded by conda-lock; install reads it from
 * the package's own info/index.json.
 *
 * Categories: conda-lock v1 lists one entry per package and category (`main`, `dev`, extras; newer
 * files may carry a `categories` list); `optional: true` entries are not installed by
 * `conda-lock install` without --dev / --extras. Every entry is read and the package keeps the union
 * of its categories (`LockedCondaPackage.categories`), so the CLI selects them exactly as for our own
 * lockfiles (src/lockfile/categories.ts); `categories` here keeps only those (import uses it).
 */
import { yaml } from '../../yaml-lazy.js';
import { LockfileError } from '../../errors.js';
import { LOCKFILE_VERSION, type LockedCondaPackage, type Lockfile } from '../model.js';
import { comparePackages } from '../normalise.js';
import { parseArchiveUrl } from './archive-url.js';

export interface ForeignReadOptions {
  /** Categories to keep (default: all, each package recording its own). */
  categories?: readonly string[];
}

export interface ForeignLockfile {
  lockfile: Lockfile;
  format: 'conda-lock-v1' | 'explicit';
  /** Packages pinned by md5 only (no sha256 in the file). */
  md5Only: number;
  /** Non-fatal findings (skipped pip packages, categories left out). */
  warnings: string[];
}

/** Whether parsed YAML data looks like a conda-lock lockfile (`package:` list + `metadata:`). */
export function isCondaLockData(data: unknown): boolean {
  return typeof data === 'object' && data !== null && Array.isArray((data as Record<string, unknown>).package) && 'metadata' in data;
}

const HEX = (n: number) => new RegExp(`^[0-9a-fA-F]{${n}}$`);

export function parseCondaLockV1(text: string, path: string, opts: ForeignReadOptions = {}): ForeignLockfile {
  const { isMap, LineCounter, parseDocument } = yaml();
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length > 0) {
    const pos = lc.linePos(doc.errors[0]!.pos[0]);
    throw new LockfileError(`${path}:${pos.line}:${pos.col}: not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`, { code: 'E_LOCKFILE_YAML' });
  }
  if (!isMap(doc.contents)) throw new LockfileError(`${path}: not a conda-lock lockfile (expected a mapping)`, { code: 'E_LOCKFILE_SCHEMA' });
  const data = doc.toJS() as Record<string, unknown>;
  const version = data.version ?? 1;
  if (version !== 1) {
    throw new LockfileError(`${path}: conda-lock lockfile version ${String(version)} is not supported (conda-go-lock reads conda-lock v1, as micromamba does)`, {
      code: 'E_LOCKFILE_VERSION',
    });
  }
  const meta = (data.metadata ?? {}) as Record<string, unknown>;
  const platforms = Array.isArray(meta.platforms) ? meta.platforms.map(String) : [];
  const keep = opts.categories?.length ? new Set(opts.categories) : undefined;
  const warnings: string[] = [];
  const entries = data.package as unknown[];
  const packages = new Map<string, LockedCondaPackage>();
  const leftOut = new Map<string, number>();
  let pip = 0;
  let md5Only = 0;
  entries.forEach((raw, i) => {
    const where = `${path}: package[${i}]`;
    if (typeof raw !== 'object' || raw === null) throw new LockfileError(`${where} is not a mapping`, { code: 'E_LOCKFILE_SCHEMA' });
    const e = raw as Record<string, unknown>;
    const str = (k: string): string => {
      const v = e[k];
      if (typeof v !== 'string' || v === '') throw new LockfileError(`${where}${typeof e.name === 'string' ? ` (${e.name})` : ''}: '${k}' is missing or not a string`, { code: 'E_LOCKFILE_SCHEMA' });
      return v;
    };
    const manager = e.manager ?? 'conda';
    if (manager === 'pip') {
      pip++;
      return;
    }
    if (manager !== 'conda') throw new LockfileError(`${where}: unknown manager '${String(manager)}' (conda or pip)`, { code: 'E_LOCKFILE_SCHEMA' });
    const name = str('name');
    const platform = str('platform');
    const url = str('url');
    const category = typeof e.category === 'string' ? e.category : 'main';
    const categories = Array.isArray(e.categories) ? e.categories.map(String) : [category];
    if (keep && !categories.some((c) => keep.has(c))) {
      for (const c of categories) leftOut.set(c, (leftOut.get(c) ?? 0) + 1);
      return;
    }
    const hash = (e.hash ?? {}) as Record<string, unknown>;
    const md5 = typeof hash.md5 === 'string' ? hash.md5.toLowerCase() : '';
    const sha256 = typeof hash.sha256 === 'string' ? hash.sha256.toLowerCase() : '';
    if (!HEX(32).test(md5) && !HEX(64).test(sha256)) {
      throw new LockfileError(`${where} (${name}): no valid hash.md5 or hash.sha256; refusing to install an unpinned package`, { code: 'E_LOCKFILE_SCHEMA' });
    }
    if (sha256 && !HEX(64).test(sha256)) throw new LockfileError(`${where} (${name}): hash.sha256 '${sha256}' is not 64 hex digits`, { code: 'E_LOCKFILE_SCHEMA' });
    if (!sha256) md5Only++;
    const parts = parseArchiveUrl(url, `${where} (${name})`);
    if (parts.name !== name) {
      throw new LockfileError(`${where}: name '${name}' does not match its URL's file ${parts.fn}`, { code: 'E_LOCKFILE_INVALID' });
    }
    if (!platforms.includes(platform)) platforms.push(platform);
    const deps = (e.dependencies ?? {}) as Record<string, unknown>;
    const pkg: LockedCondaPackage = {
      platform,
      name,
      version: String(e.version ?? parts.version),
      build: parts.build,
      build_number: parts.build_number,
      subdir: parts.subdir,
      channel: parts.channel,
      url,
      fn: parts.fn,
      md5,
      sha256,
      size: 0,
      depends: Object.entries(deps).map(([n, spec]) => (spec === null || spec === '' || spec === '*' ? n : `${n} ${String(spec)}`)),
      constrains: [],
    };
    const key = `${platform}\0${name}`;
    const prev = packages.get(key);
    if (prev && prev.url !== url) {
      throw new LockfileError(`${where}: ${name} is locked twice for ${platform} with different URLs (${prev.fn}, ${parts.fn})`, { code: 'E_LOCKFILE_INVALID' });
    }
    const cats = [...new Set([...(prev?.categories ?? []), ...categories.filter((c) => !keep || keep.has(c))])].sort();
    if (!(cats.length === 1 && cats[0] === 'main')) pkg.categories = cats;
    packages.set(key, pkg);
  });
  if (pip > 0) warnings.push(`${pip} pip package entr${pip === 1 ? 'y' : 'ies'} of ${path} skipped: only its conda packages are installed`);
  if (leftOut.size > 0) {
    warnings.push(`left out (not in the selected categories ${[...(keep ?? [])].join(', ')}): ${[...leftOut].map(([c, n]) => `${n} ${c}`).join(', ')} package entr${[...leftOut.values()].reduce((a, b) => a + b, 0) === 1 ? 'y' : 'ies'}; pass --category to include them`);
  }
  const pkgs = [...packages.values()].sort(comparePackages);
  const channelUrls = [...new Set(pkgs.map((p) => p.channel))];
  const lockfile: Lockfile = {
    version: LOCKFILE_VERSION,
    metadata: {
      tool_version: 'conda-lock',
      platforms: [...platforms].sort(),
      channels: channelUrls.map((url) => ({ url })),
      sources: Array.isArray(meta.sources) ? meta.sources.map(String) : [],
      content_hash: {},
      specs: [],
      virtual_packages: {},
    },
    packages: pkgs,
    go: [],
  };
  return { lockfile, format: 'conda-lock-v1', md5Only, warnings };
}
