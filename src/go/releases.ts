/**
 * go.dev/dl release metadata (`https://go.dev/dl/?mode=json&include=all`) and Go toolchain specs.
 *
 * Spec forms accepted by `parseGoSpec` / `selectGoRelease`:
 * - `stable`, `latest`            newest stable release (`latest` also considers pre-releases when
 *                                 `prerelease: true`)
 * - `1.22.*`, `1.22`, `1.*`, `1`  newest release of that line
 * - `1.22.5`, `go1.22.5`, `1.21rc2` exactly that release (`1.20.0` and `1.20` name the same release);
 *                                 `go1.20` (a release name) is exact too, unlike a bare `1.20`
 * - `>=1.21,<1.23`               comparators `>= > <= < == !=`, comma = and (`==1.22.*` allowed)
 * - go.mod lines: `toolchain go1.22.5` → exactly 1.22.5; `go 1.22` → `1.22.*`;
 *   `go 1.22.3` → `>=1.22.3,<1.23` (the go line is a minimum within its line).
 * Pre-releases (rc/beta, or `stable: false`) are candidates only when the spec names one or the
 * caller passes `prerelease: true`.
 */
import { GoToolchainError, InputError } from '../errors.js';
import { GoVersion, compareGoVersions } from './version.js';

export type GoFileKind = 'archive' | 'installer' | 'source';

export interface GoReleaseFile {
  filename: string;
  /** GOOS; empty for the source tarball. */
  os: string;
  /** GOARCH; empty for the source tarball. */
  arch: string;
  version: string;
  /** Hex sha256; empty for old releases that only published SHA1. */
  sha256: string;
  size: number;
  kind: GoFileKind | string;
}

export interface GoRelease {
  /** As published: `go1.22.5`. */
  version: string;
  stable: boolean;
  files: GoReleaseFile[];
  /** Parsed `version`. */
  parsed: GoVersion;
}

/**
 * Validate and parse the go.dev/dl JSON. Releases whose version is not a Go release name are
 * skipped (the feed has none today; future naming changes should not break locking older ones).
 * The result is sorted newest first.
 */
export function parseGoReleases(json: unknown, source = 'go.dev/dl JSON'): GoRelease[] {
  if (!Array.isArray(json)) {
    throw new GoToolchainError(`${source}: expected a JSON array of releases`, { code: 'E_GO_RELEASES' });
  }
  const out: GoRelease[] = [];
  json.forEach((r: unknown, i) => {
    if (!r || typeof r !== 'object') {
      throw new GoToolchainError(`${source}: release [${i}] is not an object`, { code: 'E_GO_RELEASES' });
    }
    const rec = r as Record<string, unknown>;
    if (typeof rec.version !== 'string' || !Array.isArray(rec.files)) {
      throw new GoToolchainError(`${source}: release [${i}] lacks a version string or a files array`, {
        code: 'E_GO_RELEASES',
      });
    }
    const parsed = GoVersion.tryParse(rec.version);
    if (!parsed || !rec.version.startsWith('go')) return;
    const files: GoReleaseFile[] = rec.files.map((f: unknown, j: number) => {
      const ff = (f ?? {}) as Record<string, unknown>;
      if (typeof ff.filename !== 'string' || !ff.filename) {
        throw new GoToolchainError(`${source}: ${rec.version} file [${j}] has no filename`, { code: 'E_GO_RELEASES' });
      }
      return {
        filename: ff.filename,
        os: typeof ff.os === 'string' ? ff.os : '',
        arch: typeof ff.arch === 'string' ? ff.arch : '',
        version: typeof ff.version === 'string' ? ff.version : rec.version as string,
        sha256: typeof ff.sha256 === 'string' ? ff.sha256.toLowerCase() : '',
        size: typeof ff.size === 'number' ? ff.size : 0,
        kind: typeof ff.kind === 'string' ? ff.kind : '',
      };
    });
    out.push({ version: rec.version, stable: rec.stable === true, files, parsed });
  });
  if (json.length > 0 && out.length === 0) {
    // E.g. actions/go-versions' manifest (`"version": "1.22.5"`): same shape, different feed.
    const first = (json[0] as Record<string, unknown>).version;
    throw new GoToolchainError(
      `${source}: none of its ${json.length} entries is a go.dev/dl release (versions look like "go1.22.5", the first here is ${JSON.stringify(first)}); ` +
        'use go.dev/dl\'s JSON feed (https://go.dev/dl/?mode=json&include=all) or a copy of it',
      { code: 'E_GO_RELEASES' },
    );
  }
  return out.sort((a, b) => compareGoVersions(b.parsed, a.parsed));
}

export function isPrereleaseRelease(r: GoRelease): boolean {
  return r.parsed.isPrerelease || !r.stable;
}

// ---------------------------------------------------------------------------------------------
// Specs

export type GoComparatorOp = '>=' | '>' | '<=' | '<' | '==' | '!=';

export type GoConstraint =
  | { op: GoComparatorOp; version: GoVersion }
  /** `major.minor.*` or `major.*` (negated for `!=1.22.*`). */
  | { op: 'line' | '!line'; major: number; minor?: number };

export type GoSpec =
  | { kind: 'stable' | 'latest'; text: string }
  | { kind: 'constraints'; text: string; constraints: GoConstraint[]; namesPrerelease: boolean };

/** `s` for a message: a hostile 100,000-character spec is shown by its start and length. */
function shown(s: string): string {
  return s.length <= 60 ? s : `${s.slice(0, 40)}… (${s.length} characters)`;
}

function specError(text: string, why: string): InputError {
  // A malformed spec is an input error (exit 3), wherever it is found.
  return new InputError(
    `invalid Go toolchain spec '${shown(text)}': ${why} (use e.g. 1.22.*, 1.22.5, >=1.21,<1.23 or stable)`,
    { code: 'E_GO_SPEC' },
  );
}

/** `1.22.*`, `1.*`, `1.22.x`, or (when `bare` is allowed) `1.22` / `1` → the release line. */
function parseLine(s: string, bare: boolean): { major: number; minor?: number } | undefined {
  const wild = /\.[*x]$/.test(s);
  if (!wild && !bare) return undefined;
  const m = /^(?:go)?(\d{1,9})(?:\.(\d{1,9}))?$/.exec(wild ? s.slice(0, -2) : s);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: m[2] === undefined ? undefined : Number(m[2]) };
}

export function parseGoSpec(input: string): GoSpec {
  const text = input.trim();
  if (!text) throw specError(input, 'empty');
  const lower = text.toLowerCase();
  if (lower === 'stable' || lower === 'latest' || lower === '*') {
    return { kind: lower === 'latest' ? 'latest' : 'stable', text };
  }

  // go.mod directives, as src/spec/gomod.ts hands them over.
  const tc = /^toolchain\s+(\S+)$/.exec(text);
  if (tc) {
    if (tc[1] === 'default') throw specError(text, "'toolchain default' names no version");
    const v = GoVersion.tryParse(tc[1]!);
    if (!v || !tc[1]!.startsWith('go')) throw specError(text, `'${shown(tc[1]!)}' is not a toolchain name like go1.22.5`);
    return { kind: 'constraints', text, constraints: [{ op: '==', version: v }], namesPrerelease: v.isPrerelease };
  }
  const goLine = /^go\s+(\S+)$/.exec(text);
  if (goLine) {
    const v = GoVersion.tryParse(goLine[1]!);
    if (!v || goLine[1]!.startsWith('go')) throw specError(text, `'${shown(goLine[1]!)}' is not a go.mod language version like 1.22`);
    if (!v.hasPatch && !v.isPrerelease) {
      return { kind: 'constraints', text, constraints: [{ op: 'line', major: v.major, minor: v.minor }], namesPrerelease: false };
    }
    return {
      kind: 'constraints',
      text,
      constraints: [
        { op: '>=', version: v },
        { op: '<', version: GoVersion.parse(`${v.major}.${v.minor + 1}rc0`) },
      ],
      namesPrerelease: v.isPrerelease,
    };
  }

  const constraints: GoConstraint[] = [];
  let namesPrerelease = false;
  const parts = text.split(',').map((p) => p.trim());
  for (const part of parts) {
    if (!part) throw specError(text, 'empty comparator');
    const m = /^(>=|<=|==|!=|>|<|=)?\s*(\S+)$/.exec(part);
    if (!m) throw specError(text, `cannot read '${shown(part)}'`);
    const op = (m[1] === '=' ? '==' : m[1]) as GoComparatorOp | undefined;
    const ver = m[2]!;
    // A bare `1.22` means the line; `go1.22` is a release name (go1.20 was a release) and stays exact.
    const line = parseLine(ver, op === undefined && parts.length === 1 && !ver.startsWith('go'));
    if (line && (op === undefined || op === '==' || op === '!=')) {
      // `1.22` alone means the newest 1.22.x; `1.22.*` likewise.
      constraints.push({ op: op === '!=' ? '!line' : 'line', ...line });
      continue;
    }
    const v = GoVersion.tryParse(ver);
    if (!v) throw specError(text, `'${shown(ver)}' is not a Go version`);
    if (v.isPrerelease) namesPrerelease = true;
    constraints.push({ op: op ?? '==', version: v });
  }
  return { kind: 'constraints', text, constraints, namesPrerelease };
}

function satisfies(v: GoVersion, c: GoConstraint): boolean {
  if (!('version' in c)) {
    const inLine = v.major === c.major && (c.minor === undefined || v.minor === c.minor);
    return c.op === 'line' ? inLine : !inLine;
  }
  const d = compareGoVersions(v, c.version);
  switch (c.op) {
    case '>=':
      return d >= 0;
    case '>':
      return d > 0;
    case '<=':
      return d <= 0;
    case '<':
      return d < 0;
    case '==':
      return d === 0;
    case '!=':
      return d !== 0;
  }
}

export function goSpecMatches(spec: GoSpec, v: GoVersion): boolean {
  if (spec.kind !== 'constraints') return true;
  return spec.constraints.every((c) => satisfies(v, c));
}

export interface SelectOptions {
  /** Also consider rc/beta releases (default false unless the spec names one). */
  prerelease?: boolean;
  /** Where the releases came from, for messages. */
  source?: string;
}

/** The newest release matching `spec`; GoToolchainError listing the nearest versions when none does. */
export function selectGoRelease(releases: GoRelease[], spec: string | GoSpec, options: SelectOptions = {}): GoRelease {
  const s = typeof spec === 'string' ? parseGoSpec(spec) : spec;
  const allowPre =
    options.prerelease === true
      ? s.kind !== 'stable'
      : s.kind === 'constraints' && s.namesPrerelease;
  const sorted = [...releases].sort((a, b) => compareGoVersions(b.parsed, a.parsed));
  const hit = sorted.find((r) => (allowPre || !isPrereleaseRelease(r)) && goSpecMatches(s, r.parsed));
  if (hit) return hit;

  const from = options.source ? ` in ${options.source}` : '';
  const pool = sorted.filter((r) => allowPre || !isPrereleaseRelease(r));
  const near = nearestVersions(pool, s);
  const preHit = allowPre ? undefined : sorted.find((r) => isPrereleaseRelease(r) && goSpecMatches(s, r.parsed));
  const hint = preHit
    ? ` (pre-release ${preHit.parsed.text} matches, but pre-releases are only used when the spec names one or they are allowed)`
    : '';
  throw new GoToolchainError(
    `no Go release matches '${s.text}'${from}${hint}; nearest available: ${near.length ? near.join(', ') : 'none'}`,
    { code: 'E_GO_NO_MATCH' },
  );
}

/** Up to 3 releases either side of where the spec points, newest first. */
function nearestVersions(pool: GoRelease[], spec: GoSpec): string[] {
  if (pool.length === 0) return [];
  let target: GoVersion | undefined;
  if (spec.kind === 'constraints') {
    for (const c of spec.constraints) {
      if (c.op === 'line') target = GoVersion.parse(`${c.major}.${c.minor ?? 0}.0`);
      else if (c.op === '==' || c.op === '>=' || c.op === '>') target = c.version;
      else if (!target && (c.op === '<' || c.op === '<=')) target = c.version;
      if (target) break;
    }
  }
  if (!target) return pool.slice(0, 6).map((r) => r.parsed.text);
  // pool is newest first: find the first release older than or equal to target.
  let idx = pool.findIndex((r) => compareGoVersions(r.parsed, target!) <= 0);
  if (idx < 0) idx = pool.length;
  return pool.slice(Math.max(0, idx - 3), idx + 3).map((r) => r.parsed.text);
}

/** Alias matching docs/architecture.md. */
export const selectRelease = selectGoRelease;
