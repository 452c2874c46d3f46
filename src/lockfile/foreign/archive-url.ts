/**
 * What a package URL says about its record: `…/<channel>/<subdir>/<name>-<version>-<build>.<ext>`.
 * Foreign lockfiles (conda-lock v1, @EXPLICIT) pin URLs; the name, version, build, subdir and
 * channel of each package are read from them.
 */
import { LockfileError } from '../../errors.js';

export interface ArchiveUrlParts {
  fn: string;
  name: string;
  version: string;
  build: string;
  /** The trailing `_<n>` of the build string (conda-build's convention), else 0. */
  build_number: number;
  subdir: string;
  /** The URL up to the subdir, without a trailing slash. */
  channel: string;
}

export function parseArchiveUrl(url: string, where: string): ArchiveUrlParts {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new LockfileError(`${where}: '${url}' is not a URL`, { code: 'E_LOCKFILE_INVALID' });
  }
  const segs = u.pathname.split('/');
  const fn = decodeURIComponent(segs.pop() ?? '');
  const subdir = segs.pop() ?? '';
  const m = /^(.+)-([^-]+)-([^-]+)\.(conda|tar\.bz2)$/.exec(fn);
  if (!m || !subdir) {
    throw new LockfileError(`${where}: '${url}' does not name a conda package (…/<subdir>/<name>-<version>-<build>.conda or .tar.bz2)`, {
      code: 'E_LOCKFILE_INVALID',
    });
  }
  u.pathname = segs.join('/');
  u.search = '';
  u.hash = '';
  const bn = /_(\d+)$/.exec(m[3]!);
  return {
    fn,
    name: m[1]!,
    version: m[2]!,
    build: m[3]!,
    build_number: bn ? Number(bn[1]) : 0,
    subdir,
    channel: u.toString().replace(/\/+$/, ''),
  };
}
