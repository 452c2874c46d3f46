/**
 * Link one extracted package directory into a prefix.
 *
 * The file list comes from info/paths.json (paths_version 1); packages older than paths.json
 * (e.g. 2016 noarch tarballs) fall back to info/files + info/has_prefix + info/no_link.
 *
 * - Files that need no prefix replacement are hard-linked from the extracted cache; a copy is made
 *   when hard links are impossible (EXDEV: cache on another device, EPERM, EMLINK, ...) or when the
 *   entry is marked `no_link`.
 * - Files with a prefix placeholder are read, rewritten (see prefix-replace.ts) for the FINAL prefix
 *   path, and written fresh with the source file's mode.
 * - softlinks are recreated as symlinks with the same target.
 * - noarch: python paths are relocated and entry points generated (see noarch-python.ts).
 * - When a path already exists in the destination because an earlier package (in install order)
 *   wrote it, this package's file replaces it and the clobber is reported.
 *
 * The returned `paths` describe the files AS INSTALLED (sha256 after prefix replacement), ready for
 * conda-meta (see conda-meta.ts).
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { copyFile, lstat, mkdir, readFile, realpath, writeFile } from 'node:fs/promises';
import { dirname, join, posix, sep } from 'node:path';
import { InstallError, UnsafeArchiveError } from '../errors.js';
import type { NoArchKind } from '../conda/record.js';
import { applyPrefixReplacement, DEFAULT_PLACEHOLDER, isWindowsPlatform, type FileMode } from './prefix-replace.js';
import { entryPointScript, noarchPythonPath, readEntryPoints, scriptsDir, type PythonTarget } from './noarch-python.js';
import { windowsEntryPointFiles } from './windows-entry-points.js';
import { needsResign, type Resigner } from './macho.js';
import { isInside } from '../fs/inside.js';
import { testSlowPoint } from './test-hooks.js';
import { LoopTurns } from '../loop-turns.js';
import { sha256File, sha256FileSized } from './extract/hash.js';

/*
 * The per-file calls of linking are synchronous: through the async API each one is a thread-pool
 * round trip (futex + eventfd wake-ups), which cost a cold install more system time than the calls
 * themselves. The loop gives the event loop a turn between files (LoopTurns), so signals and the
 * progress line are not held up by a large package.
 */
/** Files above this size are copied / read / written with the async calls: one sync call would hold the event loop. */
const SYNC_COPY_MAX = 4 << 20;

export type PathType = 'hardlink' | 'softlink' | 'directory';

/** One entry of a package's file list, normalised from paths.json or the legacy files. */
export interface PackagePath {
  /** Relative path inside the package, forward slashes. */
  path: string;
  pathType: PathType;
  placeholder?: string;
  fileMode?: FileMode;
  sha256?: string;
  size?: number;
  noLink?: boolean;
}

/** A path as installed, in conda-meta `paths_data` form. */
export interface InstalledPath {
  _path: string;
  path_type: PathType | 'unix_python_entry_point' | 'windows_python_entry_point_script' | 'windows_python_entry_point_exe' | 'pyc_file';
  /** sha256 of the file as installed (after prefix replacement). Absent for directories. */
  sha256?: string;
  sha256_in_prefix?: string;
  size_in_bytes?: number;
  prefix_placeholder?: string;
  file_mode?: FileMode;
  no_link?: boolean;
}

export interface Clobber {
  path: string;
  /** dist (name-version-build) that had written the path before. */
  previous: string;
  /** dist that replaced it. */
  by: string;
}

export interface LinkOptions {
  /** Extracted package directory (info/ + files). */
  extractedDir: string;
  /** Directory the files are written into (a staging dir, or the prefix itself). */
  destDir: string;
  /** The prefix path the environment will finally live at; used for prefix replacement and shebangs. */
  targetPrefix: string;
  /** Target conda platform (linux-64, win-64, ...). */
  platform: string;
  /** name-version-build, for messages and clobber reports. */
  dist: string;
  noarch?: NoArchKind;
  /** Required for noarch: python packages. */
  python?: PythonTarget;
  /** path → dist of the package that wrote it; updated by this call. Pass the same map for a whole install. */
  owners?: Map<string, string>;
  /** Disable hard links (always copy). */
  copy?: boolean;
  /**
   * Directories (relative to destDir) already checked to resolve inside destDir; pass one set for a
   * whole install to avoid re-checking. Symlinks leading outside are never written through.
   */
  safeDirs?: Set<string>;
  /**
   * sha256 of the extracted files by their path in the package, when the caller extracted them in
   * this run (src/install/extract SafeWriter.digests): a hard-linked file is then not read back to
   * hash it. Absent for a cached extraction, which is hashed (it may have been modified since).
   */
  digests?: ReadonlyMap<string, string>;
  /** The byte count of the same files, from the same extraction (with both, a hard link needs no lstat of its source). */
  sizes?: ReadonlyMap<string, number>;
  warn?: (message: string) => void;
  /**
   * Makes a hard link (default: fs.linkSync). Tests inject one failing with EXDEV (cache and prefix
   * on different volumes) to check the copy fallback.
   */
  hardlink?: (src: string, dest: string) => void | Promise<void>;
  /** Re-signs Mach-O files that prefix replacement rewrote (see macho.ts); without it they are left as written. */
  resigner?: Resigner;
}

export interface LinkResult {
  paths: InstalledPath[];
  clobbers: Clobber[];
  /** Number of files hard-linked / copied / written with prefix replacement / symlinked. */
  stats: { hardlinked: number; copied: number; replaced: number; symlinked: number; resigned: number };
  /**
   * Files whose bytes in the extracted package differ from the sha256 the package's paths.json
   * records. From a reused cache entry this means the cache was modified (e.g. a hard-linked file
   * edited in some prefix); from a fresh extraction, that the package metadata is inconsistent.
   */
  mismatches: Array<{ path: string; expected: string; actual: string }>;
}

/** Reject absolute paths, `..` segments, backslash tricks and empty paths. */
export function checkRelativePath(p: string, dist: string): string {
  const norm = p.replace(/\\/g, '/');
  if (!norm || norm.startsWith('/') || /^[A-Za-z]:/.test(norm) || norm.split('/').some((s) => s === '..') || norm.includes('\0')) {
    throw new UnsafeArchiveError(`${dist}: refusing to install path ${JSON.stringify(p)} outside the prefix`);
  }
  return posix.normalize(norm).replace(/^\.\//, '');
}

async function readJsonIfExists(file: string, dist: string): Promise<unknown | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InstallError(`${dist}: ${file} is not valid JSON; delete the extracted cache entry and retry`, { cause: err });
  }
}

async function readLinesIfExists(file: string): Promise<string[] | undefined> {
  try {
    const text = await readFile(file, 'utf8');
    return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Split a has_prefix line: `placeholder mode path`, or just `path`; parts may be double-quoted. */
export function parseHasPrefixLine(line: string): { placeholder: string; mode: FileMode; path: string } {
  const parts: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line))) parts.push(m[1] !== undefined ? m[1] : m[2]!);
  if (parts.length >= 3) {
    const mode = parts[1] === 'binary' ? 'binary' : 'text';
    return { placeholder: parts[0]!, mode, path: parts.slice(2).join(' ') };
  }
  return { placeholder: DEFAULT_PLACEHOLDER, mode: 'text', path: parts.join(' ') };
}

/** The package's file list. */
export async function readPackagePaths(extractedDir: string, dist = '?'): Promise<PackagePath[]> {
  const infoDir = join(extractedDir, 'info');
  const pathsJson = (await readJsonIfExists(join(infoDir, 'paths.json'), dist)) as
    | { paths_version?: number; paths?: Array<Record<string, unknown>> }
    | undefined;
  if (pathsJson) {
    if (!Array.isArray(pathsJson.paths)) throw new InstallError(`${dist}: info/paths.json has no "paths" list`);
    if (pathsJson.paths_version !== undefined && pathsJson.paths_version !== 1) {
      throw new InstallError(`${dist}: info/paths.json has unsupported paths_version ${pathsJson.paths_version}`);
    }
    return pathsJson.paths.map((e) => {
      const path = checkRelativePath(String(e._path ?? ''), dist);
      const pt = String(e.path_type ?? 'hardlink');
      if (pt !== 'hardlink' && pt !== 'softlink' && pt !== 'directory') {
        throw new InstallError(`${dist}: info/paths.json: ${path} has unknown path_type ${JSON.stringify(pt)}`);
      }
      const out: PackagePath = { path, pathType: pt };
      if (typeof e.prefix_placeholder === 'string' && e.prefix_placeholder) {
        out.placeholder = e.prefix_placeholder;
        out.fileMode = e.file_mode === 'binary' ? 'binary' : 'text';
      }
      if (typeof e.sha256 === 'string') out.sha256 = e.sha256;
      if (typeof e.size_in_bytes === 'number') out.size = e.size_in_bytes;
      if (e.no_link === true) out.noLink = true;
      return out;
    });
  }
  const files = await readLinesIfExists(join(infoDir, 'files'));
  if (!files) throw new InstallError(`${dist}: neither info/paths.json nor info/files found in ${extractedDir}`);
  const prefixed = new Map<string, { placeholder: string; mode: FileMode }>();
  for (const line of (await readLinesIfExists(join(infoDir, 'has_prefix'))) ?? []) {
    const hp = parseHasPrefixLine(line);
    prefixed.set(checkRelativePath(hp.path, dist), { placeholder: hp.placeholder, mode: hp.mode });
  }
  const noLink = new Set(((await readLinesIfExists(join(infoDir, 'no_link'))) ?? []).map((p) => checkRelativePath(p, dist)));
  const out: PackagePath[] = [];
  for (const f of files) {
    const path = checkRelativePath(f, dist);
    let pathType: PathType = 'hardlink';
    try {
      if ((await lstat(join(extractedDir, path))).isSymbolicLink()) pathType = 'softlink';
    } catch {
      // missing: reported when linking
    }
    const entry: PackagePath = { path, pathType };
    const hp = prefixed.get(path);
    if (hp && pathType === 'hardlink') {
      entry.placeholder = hp.placeholder;
      entry.fileMode = hp.mode;
    }
    if (noLink.has(path)) entry.noLink = true;
    out.push(entry);
  }
  return out;
}

function sha256Buffer(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

const HARDLINK_FALLBACK = new Set(['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP', 'EACCES', 'ENOSYS']);

/**
 * Link one package. Paths are processed in file-list order; the returned `paths` are sorted by
 * `_path` so conda-meta is deterministic.
 */
export async function linkPackage(opts: LinkOptions): Promise<LinkResult> {
  const { extractedDir, destDir, targetPrefix, platform, dist } = opts;
  const owners = opts.owners ?? new Map<string, string>();
  const warn = opts.warn ?? (() => {});
  if (opts.noarch === 'python' && !opts.python) {
    throw new InstallError(`${dist} is a noarch: python package but the install set has no python record to place it`);
  }
  const entries = await readPackagePaths(extractedDir, dist);
  const result: LinkResult = {
    paths: [],
    clobbers: [],
    stats: { hardlinked: 0, copied: 0, replaced: 0, symlinked: 0, resigned: 0 },
    mismatches: [],
  };
  const checkSource = (e: PackagePath, actual: string) => {
    if (e.pathType === 'hardlink' && e.sha256 && e.sha256.toLowerCase() !== actual) {
      result.mismatches.push({ path: e.path, expected: e.sha256.toLowerCase(), actual });
    }
  };

  const targetPath = (p: string): string =>
    opts.noarch === 'python' ? checkRelativePath(noarchPythonPath(p, opts.python!, platform), dist) : p;

  // Never write through a symlink (from this or an earlier package) that leads out of destDir.
  await mkdir(destDir, { recursive: true });
  const rootReal = await realpath(destDir);
  const safeDirs = opts.safeDirs ?? new Set<string>();
  const assertInside = (relDir: string, rel: string): void => {
    if (relDir === '.' || relDir === '' || safeDirs.has(relDir)) return;
    const abs = join(destDir, relDir);
    let st;
    try {
      st = lstatSync(abs, { throwIfNoEntry: false });
    } catch {
      st = undefined; // (ENOTDIR: a file on the way; the mkdir below says so)
    }
    const up = posix.dirname(relDir);
    // Not there yet: it is created below its parent, so check the parent.
    if (st === undefined) return assertInside(up, rel);
    // A real directory in a checked one needs no realpath.
    if (st.isDirectory() && (up === '.' || safeDirs.has(up))) {
      safeDirs.add(relDir);
      return;
    }
    let real: string;
    try {
      real = realpathSync.native(abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (st.isSymbolicLink()) {
        throw new UnsafeArchiveError(`${dist}: refusing to write ${rel} through the dangling symbolic link ${relDir}`);
      }
      return assertInside(up, rel);
    }
    if (!isInside(real, rootReal)) {
      throw new UnsafeArchiveError(`${dist}: refusing to write ${rel}: ${relDir} is a symbolic link leading outside the prefix`);
    }
    safeDirs.add(relDir);
  };

  /** Directories this call created or found (a directory is never removed while a package is linked). */
  const madeDirs = new Set<string>();
  /** Check and make the directory `rel` goes into (once per directory). */
  const makeParent = (rel: string, dest: string): void => {
    const relDir = posix.dirname(rel);
    assertInside(relDir, rel);
    const parent = dirname(dest);
    if (!madeDirs.has(parent)) {
      mkdirSync(parent, { recursive: true });
      madeDirs.add(parent);
      // checked above, or made just now below a checked directory
      if (relDir !== '.') safeDirs.add(relDir);
    }
  };
  /**
   * The common case, a file of this run's extraction whose content is the one paths.json records:
   * hard-linked into a path nothing occupies, without an lstat of the source (its digest and byte
   * count, recorded as the extractor wrote it, say it is that regular file) or of the target (link()
   * fails on anything there, a symlink included). False when anything differs; the general path
   * below then does it all again.
   */
  const fastLink = (e: PackagePath, src: string, rel: string, dest: string, digest: string | undefined, size: number | undefined): boolean => {
    if (digest === undefined || size === undefined || e.sha256 === undefined || e.sha256.toLowerCase() !== digest) return false;
    makeParent(rel, dest);
    try {
      linkSync(src, dest);
    } catch {
      return false;
    }
    owners.set(rel, dist);
    result.stats.hardlinked++;
    result.paths.push({ _path: rel, path_type: 'hardlink', sha256: digest, sha256_in_prefix: digest, size_in_bytes: size });
    return true;
  };
  const fastOk = !opts.copy && !opts.hardlink && opts.digests !== undefined && opts.sizes !== undefined;

  /** Make `dest` writable for `rel`: parents created, an earlier package's file removed (and reported). */
  const claim = (rel: string, dest: string): void => {
    makeParent(rel, dest);
    const st = lstatSync(dest, { throwIfNoEntry: false });
    if (st) {
      if (st.isDirectory()) throw new InstallError(`${dist}: cannot install file ${rel}: a directory of that name exists`);
      const prev = owners.get(rel);
      if (prev !== undefined && prev !== dist) {
        result.clobbers.push({ path: rel, previous: prev, by: dist });
        warn(`${rel}: file from ${prev} is clobbered by ${dist}`);
      }
      rmSync(dest, { force: true });
      if (st.isSymbolicLink()) {
        // Whatever was checked through the old link no longer holds.
        for (const d of [...safeDirs]) if (d === rel || d.startsWith(`${rel}/`)) safeDirs.delete(d);
        for (const d of [...madeDirs]) if (d === dest || d.startsWith(`${dest}${sep}`)) madeDirs.delete(d);
      }
    }
    owners.set(rel, dist);
  };

  // (LoopTurns also stops the loop, throwing, once the process is exiting: the staging directory's
  // exit cleanup waits for this to settle before removing the tree)
  const turns = new LoopTurns();
  const slowDown = testSlowPoint('link');
  for (const e of entries) {
    if (slowDown) await slowDown();
    await turns.maybe();
    const rel = targetPath(e.path);
    const src = join(extractedDir, e.path);
    const dest = join(destDir, rel);

    if (e.pathType === 'directory') {
      assertInside(rel, rel);
      mkdirSync(dest, { recursive: true });
      result.paths.push({ _path: rel, path_type: 'directory' });
      continue;
    }

    if (fastOk && e.pathType === 'hardlink' && !e.placeholder && !e.noLink && fastLink(e, src, rel, dest, opts.digests!.get(e.path), opts.sizes!.get(e.path))) continue;

    let srcStat;
    try {
      srcStat = lstatSync(src);
    } catch (err) {
      throw new InstallError(`${dist}: ${e.path} is listed in the package's file list but missing from ${extractedDir}`, {
        cause: err,
      });
    }

    if (e.pathType === 'softlink' || srcStat.isSymbolicLink()) {
      if (srcStat.isSymbolicLink()) {
        const target = readlinkSync(src);
        if (target === '') throw new InstallError(`${dist}: ${e.path} is a symbolic link with an empty target; the package is broken`);
        claim(rel, dest);
        symlinkSync(target, dest);
        result.stats.symlinked++;
        const installed: InstalledPath = { _path: rel, path_type: 'softlink' };
        if (e.sha256) installed.sha256 = e.sha256;
        if (e.size !== undefined) installed.size_in_bytes = e.size;
        result.paths.push(installed);
        continue;
      }
      // A "softlink" entry that the archive stored as a regular file: copy it as it is.
    }
    if (srcStat.isDirectory()) {
      throw new InstallError(`${dist}: ${e.path} is a directory in ${extractedDir} but listed as a file`);
    }

    claim(rel, dest);
    const mode = srcStat.mode & 0o7777;
    let installed: InstalledPath;
    if (e.placeholder) {
      const data = srcStat.size > SYNC_COPY_MAX ? await readFile(src) : readFileSync(src);
      checkSource(e, sha256Buffer(data));
      const out = applyPrefixReplacement(
        data,
        { placeholder: e.placeholder, mode: e.fileMode ?? 'text' },
        targetPrefix,
        platform,
        { package: dist, file: e.path },
      );
      if (out.length > SYNC_COPY_MAX) await writeFile(dest, out, { mode });
      else writeFileSync(dest, out, { mode });
      chmodSync(dest, mode);
      result.stats.replaced++;
      let sha = sha256Buffer(out);
      // A rewritten Mach-O lost its code signature: re-signed ad hoc (macho.ts), hashed as signed.
      if (opts.resigner && needsResign(out, platform)) {
        await opts.resigner.sign(dest, rel, dist);
        result.stats.resigned++;
        sha = (await sha256File(dest)).sha256;
      }
      // As conda records it: sha256 and size_in_bytes stay the package's (info/paths.json); only
      // sha256_in_prefix describes the rewritten file.
      installed = {
        _path: rel,
        path_type: 'hardlink',
        sha256: e.sha256?.toLowerCase() ?? sha256Buffer(data),
        sha256_in_prefix: sha,
        size_in_bytes: e.size ?? data.length,
        prefix_placeholder: e.placeholder,
        file_mode: e.fileMode ?? 'text',
      };
    } else {
      let linked = false;
      if (!opts.copy && !e.noLink) {
        try {
          if (opts.hardlink) await opts.hardlink(src, dest);
          else linkSync(src, dest);
          linked = true;
        } catch (err) {
          if (!HARDLINK_FALLBACK.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
        }
      }
      if (!linked) {
        if (srcStat.size > SYNC_COPY_MAX) await copyFile(src, dest);
        else copyFileSync(src, dest);
        chmodSync(dest, mode);
      }
      if (linked) result.stats.hardlinked++;
      else result.stats.copied++;
      // A hard link is the extracted file itself: its sha256 is known when this run extracted it.
      const known = linked && !opts.hardlink ? opts.digests?.get(e.path) : undefined;
      const { sha256, size } = known !== undefined ? { sha256: known, size: srcStat.size } : await sha256FileSized(dest, srcStat.size);
      checkSource(e, sha256);
      installed = { _path: rel, path_type: 'hardlink', sha256, sha256_in_prefix: sha256, size_in_bytes: size };
    }
    if (e.noLink) installed.no_link = true;
    result.paths.push(installed);
  }

  if (opts.noarch === 'python') {
    for (const ep of await readEntryPoints(extractedDir, dist)) {
      const scripts = isWindowsPlatform(platform)
        ? windowsEntryPointFiles(ep, { scripts: scriptsDir(platform), dist })
        : [{ ...entryPointScript(ep, targetPrefix, platform, opts.python?.version), mode: 0o755 }];
      for (const script of scripts) {
        const dest = join(destDir, script.path);
        claim(script.path, dest);
        writeFileSync(dest, script.content, { mode: script.mode });
        chmodSync(dest, script.mode);
        const sha = sha256Buffer(script.content);
        result.paths.push({
          _path: script.path,
          path_type: script.pathType,
          sha256: sha,
          sha256_in_prefix: sha,
          size_in_bytes: script.content.length,
        });
      }
    }
  }

  result.paths.sort((a, b) => (a._path < b._path ? -1 : a._path > b._path ? 1 : 0));
  return result;
}
