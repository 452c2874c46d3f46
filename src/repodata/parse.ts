/**
 * Turn repodata (any of the shapes found in the wild) into RepoDataRecord[].
 *
 * Accepted shapes:
 * - raw server repodata: `{ info, packages, "packages.conda", removed, repodata_version }`
 *   (repodata_version 2 `info.base_url`, version 3 extra sections such as `v3.whl` are ignored);
 * - dumped forms: `metadata` instead of `info`, records carrying `fn` / `url` / `channel`,
 *   libmamba's `build_string`, a top-level `signatures` key;
 * - flat `{ filename: record }` maps (the subdir comes from each record);
 * - a single record object (`{ name, version, build, ... }`);
 * - CEP-16 shards (`{ packages, "packages.conda", removed }` with md5/sha256 as bytes).
 *
 * `.conda` is preferred over `.tar.bz2` for the same name-version-build: the `.tar.bz2` entry is dropped.
 * The loop is written for speed: the solver's scale bench feeds ~200k records through it.
 */
import { InputError } from '../errors.js';
import { normaliseTimestamp, unsafeRecordField, type NoArchKind, type RepoDataRecord } from '../conda/record.js';
import { stripCredentials } from '../net/redact.js';

export interface ParseRepoDataOptions {
  /** Canonical token-free channel URL for `record.channel`, e.g. https://conda.anaconda.org/conda-forge. */
  channel?: string;
  /** Subdir the file was fetched for; records without `subdir` get this. */
  subdir?: string;
  /**
   * URL of the subdir directory the file came from (may carry a token), used to build
   * `record.url` = baseUrl/fn when the repodata has no `base_url` and the record no absolute `url`.
   */
  baseUrl?: string;
  /** Name of the source for error messages (file path or redacted URL). */
  source?: string;
  /**
   * Called for each record dropped because its name, version, build, subdir or file name could
   * reach outside a prefix or cache directory (path separators, `..`, control characters).
   */
  onUnsafe?: (fn: string, reason: string) => void;
}

type Json = Record<string, unknown>;

const TAR_BZ2 = '.tar.bz2';
const CONDA = '.conda';

/** Parse repodata given as text, bytes or an already-decoded object. */
export function parseRepoData(input: string | Uint8Array | object, options: ParseRepoDataOptions = {}): RepoDataRecord[] {
  const out: RepoDataRecord[] = [];
  visitRepoData(input, options, (raw, fn, ctx) => {
    const rec = safeRecord(normaliseRecord(raw, fn, ctx), ctx);
    if (rec) out.push(rec);
  });
  return out;
}

/**
 * Repodata grouped by package name, normalised lazily: only the names a query reaches pay for
 * building records (a full conda-forge subdir has ~10^6 entries; a solve needs a few thousand).
 */
export class RepoDataIndex {
  private readonly raw = new Map<string, Array<{ raw: Json; fn: string; ctx: RecordContext }>>();
  private readonly built = new Map<string, RepoDataRecord[]>();

  constructor(input: string | Uint8Array | object, options: ParseRepoDataOptions = {}) {
    visitRepoData(input, options, (raw, fn, ctx) => {
      const name = typeof raw.name === 'string' ? raw.name : '';
      const list = this.raw.get(name);
      const entry = { raw, fn, ctx };
      if (list) list.push(entry);
      else this.raw.set(name, [entry]);
    });
  }

  /** Package names present, sorted. */
  names(): string[] {
    return [...this.raw.keys()].sort();
  }

  has(name: string): boolean {
    return this.raw.has(name);
  }

  /** Records of one name, in file order (.conda entries first). */
  records(name: string): RepoDataRecord[] {
    let recs = this.built.get(name);
    if (recs === undefined) {
      const entries = this.raw.get(name);
      recs = [];
      for (const e of entries ?? []) {
        const rec = safeRecord(normaliseRecord(e.raw, e.fn, e.ctx), e.ctx);
        if (rec) recs.push(rec);
      }
      this.built.set(name, recs);
    }
    return recs;
  }

  /** Every record, grouped by name in sorted name order. */
  all(): RepoDataRecord[] {
    return this.names().flatMap((n) => this.records(n));
  }
}

type Visitor = (raw: Json, fn: string, ctx: RecordContext) => void;

/** Walk every kept entry of any supported repodata shape (with .conda preference and `removed` applied). */
function visitRepoData(input: string | Uint8Array | object, options: ParseRepoDataOptions, visit: Visitor): void {
  let json: unknown = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const text = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8');
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new InputError(`${options.source ?? 'repodata'} is not valid JSON: ${(err as Error).message}`, {
        code: 'E_REPODATA_INVALID',
        cause: err,
      });
    }
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new InputError(`${options.source ?? 'repodata'} is not a repodata object`, { code: 'E_REPODATA_INVALID' });
  }
  const obj = json as Json;

  if (isRecordLike(obj)) {
    // A single record (e.g. a conda-meta or a dumped record file).
    const fn = typeof obj.fn === 'string' ? obj.fn : `${obj.name}-${obj.version}-${obj.build}${TAR_BZ2}`;
    visit(obj, fn, makeContext(options, undefined));
    return;
  }

  const packages = asMap(obj.packages);
  const packagesConda = asMap(obj['packages.conda']);
  const info = (asMap(obj.info) ?? asMap(obj.metadata)) as Json | undefined;

  if (!packages && !packagesConda && !info) {
    visitFlat(obj, options, visit);
    return;
  }

  const ctx = makeContext(options, info);
  const removed = Array.isArray(obj.removed) && obj.removed.length > 0 ? new Set(obj.removed as string[]) : undefined;

  // .conda first, remembering their stems so the matching .tar.bz2 entries can be dropped.
  let condaStems: Set<string> | undefined;
  if (packagesConda) {
    condaStems = new Set();
    for (const fn in packagesConda) {
      if (removed?.has(fn)) continue;
      const raw = packagesConda[fn];
      if (raw === null || typeof raw !== 'object') continue;
      condaStems.add(fn.endsWith(CONDA) ? fn.slice(0, -CONDA.length) : fn);
      visit(raw as Json, fn, ctx);
    }
  }
  if (packages) {
    for (const fn in packages) {
      if (removed?.has(fn)) continue;
      if (condaStems !== undefined && fn.endsWith(TAR_BZ2) && condaStems.has(fn.slice(0, -TAR_BZ2.length))) continue;
      const raw = packages[fn];
      if (raw === null || typeof raw !== 'object') continue;
      visit(raw as Json, fn, ctx);
    }
  }
}

/** A flat `{ filename: record }` map. */
function visitFlat(obj: Json, options: ParseRepoDataOptions, visit: Visitor): void {
  const ctx = makeContext(options, undefined);
  const condaStems = new Set<string>();
  for (const fn in obj) if (fn.endsWith(CONDA)) condaStems.add(fn.slice(0, -CONDA.length));
  for (const fn in obj) {
    const raw = obj[fn];
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) continue;
    if (!isRecordLike(raw as Json)) continue;
    if (fn.endsWith(TAR_BZ2) && condaStems.has(fn.slice(0, -TAR_BZ2.length))) continue;
    visit(raw as Json, fn, ctx);
  }
}

function isRecordLike(o: Json): boolean {
  return typeof o.name === 'string' && typeof o.version === 'string' && (typeof o.build === 'string' || typeof o.build_string === 'string');
}

function asMap(v: unknown): Json | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
}

/** Resolved per-file context: how to build url / channel / subdir of each record. */
export interface RecordContext {
  channel: string | undefined;
  subdir: string | undefined;
  /** Directory URL ending in '/', or undefined when records must supply their own url. */
  urlPrefix: string | undefined;
  /** Source name for messages. */
  source: string;
  onUnsafe?: (fn: string, reason: string) => void;
}

/** `rec`, or undefined (reported to `ctx.onUnsafe`) when one of its path-forming fields is unsafe. */
export function safeRecord(rec: RepoDataRecord, ctx: RecordContext): RepoDataRecord | undefined {
  const why = unsafeRecordField(rec);
  if (why === undefined) return rec;
  ctx.onUnsafe?.(rec.fn, why);
  return undefined;
}

/** Build the context for a file; `info` is the repodata `info` / `metadata` object. */
export function makeContext(options: ParseRepoDataOptions, info: Json | undefined): RecordContext {
  const subdir = options.subdir ?? (typeof info?.subdir === 'string' ? info.subdir : undefined);
  let urlPrefix: string | undefined;
  const base = options.baseUrl !== undefined ? withSlash(options.baseUrl) : undefined;
  const infoBase = typeof info?.base_url === 'string' && info.base_url !== '' ? info.base_url : undefined;
  if (infoBase !== undefined) {
    // CEP-15: base_url may be absolute or relative to the repodata's own URL.
    urlPrefix = withSlash(resolveUrl(infoBase, base));
  } else {
    urlPrefix = base;
  }
  let channel = options.channel;
  if (channel === undefined && base !== undefined) channel = channelFromSubdirUrl(base, subdir);
  return { channel: channel?.replace(/\/+$/, ''), subdir, urlPrefix, source: options.source ?? 'repodata', onUnsafe: options.onUnsafe };
}

function withSlash(u: string): string {
  return u.endsWith('/') ? u : `${u}/`;
}

function resolveUrl(ref: string, base: string | undefined): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(ref) || base === undefined) return ref;
  try {
    return new URL(ref, base).href;
  } catch {
    return ref;
  }
}

/** `https://host/t/TOKEN/conda-forge/linux-64/` → `https://host/conda-forge`. */
function channelFromSubdirUrl(url: string, subdir: string | undefined): string {
  let s = stripCredentials(url).replace(/\/+$/, '');
  if (subdir !== undefined && s.endsWith(`/${subdir}`)) s = s.slice(0, -subdir.length - 1);
  return s;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** md5 / sha256 given as a hex string or as bytes (CEP-16 shards) → lowercase hex. */
export function hashToHex(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v.toLowerCase();
  if (v instanceof Uint8Array) {
    let s = '';
    for (let i = 0; i < v.length; i++) s += HEX[v[i]!];
    return s;
  }
  return undefined;
}

function stringList(v: unknown): string[] {
  if (Array.isArray(v)) return v as string[];
  return [];
}

/** Normalise one raw repodata record. `fn` is its key in the packages map. */
export function normaliseRecord(raw: Json, fn: string, ctx: RecordContext): RepoDataRecord {
  const subdir = (typeof raw.subdir === 'string' && raw.subdir !== '' ? raw.subdir : ctx.subdir ?? subdirFromPlatform(raw)) ?? '';
  const build = typeof raw.build === 'string' ? raw.build : (raw.build_string as string);
  const fileName = typeof raw.fn === 'string' && raw.fn !== '' ? raw.fn : fn;

  let url: string;
  const rawUrl = raw.url;
  if (typeof rawUrl === 'string' && rawUrl.includes('://')) url = rawUrl;
  else if (ctx.urlPrefix !== undefined) url = ctx.urlPrefix + fileName;
  else if (typeof raw.channel === 'string' && raw.channel.includes('://'))
    url = channelUrlWithSubdir(raw.channel, subdir) + fileName;
  else url = fileName;

  let channel = ctx.channel;
  if (channel === undefined) {
    if (typeof raw.channel === 'string' && raw.channel !== '') channel = channelFromSubdirUrl(raw.channel, subdir);
    else channel = typeof rawUrl === 'string' && rawUrl.includes('://') ? channelFromSubdirUrl(rawUrl.slice(0, rawUrl.lastIndexOf('/')), subdir) : '';
  }

  const rec: RepoDataRecord = {
    name: raw.name as string,
    version: String(raw.version),
    build,
    build_number: typeof raw.build_number === 'number' ? raw.build_number : Number(raw.build_number ?? 0) || 0,
    subdir,
    depends: stringList(raw.depends),
    constrains: stringList(raw.constrains),
    fn: fileName,
    url,
    channel,
  };
  const noarch = raw.noarch;
  if (noarch === 'python' || noarch === 'generic') rec.noarch = noarch as NoArchKind;
  else if (noarch === true) rec.noarch = 'generic';
  const md5 = hashToHex(raw.md5);
  if (md5 !== undefined) rec.md5 = md5;
  const sha256 = hashToHex(raw.sha256);
  if (sha256 !== undefined) rec.sha256 = sha256;
  if (typeof raw.size === 'number') rec.size = raw.size;
  if (typeof raw.timestamp === 'number') {
    const ts = normaliseTimestamp(raw.timestamp);
    if (ts !== undefined) rec.timestamp = ts;
  }
  if (typeof raw.track_features === 'string' && raw.track_features !== '') rec.track_features = raw.track_features;
  else if (Array.isArray(raw.track_features) && raw.track_features.length > 0) rec.track_features = raw.track_features.join(' ');
  if (typeof raw.features === 'string' && raw.features !== '') rec.features = raw.features;
  if (typeof raw.license === 'string') rec.license = raw.license;
  if (typeof raw.license_family === 'string') rec.license_family = raw.license_family;
  if (typeof raw.python_site_packages_path === 'string') rec.python_site_packages_path = raw.python_site_packages_path;
  if (typeof rec.name !== 'string' || typeof rec.build !== 'string' || rec.version === 'undefined') {
    throw new InputError(`${ctx.source}: record ${fn} lacks name, version or build`, { code: 'E_REPODATA_INVALID' });
  }
  return rec;
}

const OS: Record<string, string> = { linux: 'linux', osx: 'osx', darwin: 'osx', win: 'win', win32: 'win' };
const ARCH: Record<string, string> = {
  x86_64: '64',
  x86: '32',
  aarch64: 'aarch64',
  arm64: 'arm64',
  ppc64le: 'ppc64le',
  s390x: 's390x',
  armv7l: 'armv7l',
};

/** Old records without `subdir`: derive it from `platform` + `arch` (linux + x86_64 → linux-64). */
function subdirFromPlatform(raw: Json): string | undefined {
  const os = typeof raw.platform === 'string' ? OS[raw.platform] : undefined;
  const arch = typeof raw.arch === 'string' ? ARCH[raw.arch] : undefined;
  return os && arch ? `${os}-${arch}` : undefined;
}

function channelUrlWithSubdir(channel: string, subdir: string): string {
  const c = channel.replace(/\/+$/, '');
  return c.endsWith(`/${subdir}`) ? `${c}/` : `${c}/${subdir}/`;
}
