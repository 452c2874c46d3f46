/**
 * `@EXPLICIT` files (`conda list --explicit`, `conda-lock render --kind explicit`, ours) → our
 * Lockfile model for one platform.
 *
 * A line is `url`, `url#<md5>` (32 hex), `url#<sha256>` (64 hex, conda >= 24.9) or
 * `url#sha256:<hex>`. A URL without a hash is refused: install only what is pinned. The platform is
 * the `# platform: <p>` header, else the one subdir of the non-noarch URLs. Name, version, build
 * and channel come from the URL; md5-only packages keep `sha256: ''` and `size: 0` ("not pinned"),
 * which the installer checks by md5 and the announced size. There are no depends in the format.
 */
import { KNOWN_PLATFORMS } from '../../conda/platform.js';
import { LockfileError } from '../../errors.js';
import { LOCKFILE_VERSION, type LockedCondaPackage, type Lockfile } from '../model.js';
import { comparePackages } from '../normalise.js';
import { parseArchiveUrl } from './archive-url.js';
import type { ForeignLockfile } from './conda-lock.js';

/** Whether the text is an @EXPLICIT file (an `@EXPLICIT` line before any URL). */
export function isExplicitText(text: string): boolean {
  return /^@EXPLICIT\s*$/m.test(text.slice(0, 64 * 1024));
}

export function parseExplicit(text: string, path: string): ForeignLockfile {
  const lines = text.split(/\r?\n/);
  let platform: string | undefined;
  let seenMarker = false;
  const pkgs = new Map<string, LockedCondaPackage>();
  let md5Only = 0;
  const raw: Array<{ line: number; url: string; md5: string; sha256: string }> = [];
  lines.forEach((l, i) => {
    const line = l.trim();
    const where = `${path}:${i + 1}`;
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s*platform:\s*(\S+)/.exec(line);
      if (m) platform = m[1];
      return;
    }
    if (line === '@EXPLICIT') {
      seenMarker = true;
      return;
    }
    if (!seenMarker) throw new LockfileError(`${where}: '${line}' before the @EXPLICIT line`, { code: 'E_LOCKFILE_SCHEMA' });
    const hashAt = line.lastIndexOf('#');
    if (hashAt < 0) {
      throw new LockfileError(`${where}: ${line} has no #md5 or #sha256; refusing to install an unpinned package (render the file with hashes)`, { code: 'E_LOCKFILE_SCHEMA' });
    }
    const url = line.slice(0, hashAt);
    const anchor = line.slice(hashAt + 1).replace(/^sha256:/i, '').toLowerCase();
    if (/^[0-9a-f]{64}$/.test(anchor)) raw.push({ line: i + 1, url, md5: '', sha256: anchor });
    else if (/^[0-9a-f]{32}$/.test(anchor)) raw.push({ line: i + 1, url, md5: anchor, sha256: '' });
    else throw new LockfileError(`${where}: '#${line.slice(hashAt + 1)}' is neither an md5 (32 hex digits) nor a sha256 (64)`, { code: 'E_LOCKFILE_SCHEMA' });
  });
  if (!seenMarker) throw new LockfileError(`${path}: no @EXPLICIT line; not an explicit package list`, { code: 'E_LOCKFILE_SCHEMA' });
  const parsed = raw.map((r) => ({ ...r, parts: parseArchiveUrl(r.url, `${path}:${r.line}`) }));
  if (!platform) {
    const subdirs = [...new Set(parsed.map((p) => p.parts.subdir).filter((s) => s !== 'noarch'))];
    if (subdirs.length !== 1) {
      throw new LockfileError(`${path}: no '# platform: <platform>' line and the URLs name ${subdirs.length ? subdirs.join(', ') : 'only noarch'}; add the line`, { code: 'E_LOCKFILE_SCHEMA' });
    }
    platform = subdirs[0]!;
  }
  if (!(KNOWN_PLATFORMS as readonly string[]).includes(platform)) {
    throw new LockfileError(`${path}: unknown platform '${platform}' (known: ${KNOWN_PLATFORMS.join(', ')})`, { code: 'E_LOCKFILE_SCHEMA' });
  }
  for (const r of parsed) {
    const p = r.parts;
    if (p.subdir !== platform && p.subdir !== 'noarch') {
      throw new LockfileError(`${path}:${r.line}: ${p.fn} is for ${p.subdir}, but the file is for ${platform}`, { code: 'E_LOCKFILE_INVALID' });
    }
    if (pkgs.has(p.name)) throw new LockfileError(`${path}:${r.line}: ${p.name} is listed twice`, { code: 'E_LOCKFILE_INVALID' });
    if (!r.sha256) md5Only++;
    pkgs.set(p.name, {
      platform,
      name: p.name,
      version: p.version,
      build: p.build,
      build_number: p.build_number,
      subdir: p.subdir,
      channel: p.channel,
      url: r.url,
      fn: p.fn,
      md5: r.md5,
      sha256: r.sha256,
      size: 0,
      depends: [],
      constrains: [],
    });
  }
  const list = [...pkgs.values()].sort(comparePackages);
  const lockfile: Lockfile = {
    version: LOCKFILE_VERSION,
    metadata: {
      tool_version: 'explicit',
      platforms: [platform],
      channels: [...new Set(list.map((p) => p.channel))].map((url) => ({ url })),
      sources: [],
      content_hash: {},
      specs: [],
      virtual_packages: {},
    },
    packages: list,
    go: [],
  };
  return { lockfile, format: 'explicit', md5Only, warnings: [] };
}
