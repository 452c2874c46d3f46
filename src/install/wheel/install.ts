/**
 * `installWheel`: unpack one verified wheel into a prefix (PEP 427 / the binary distribution
 * format spec; PEP 376/627 RECORD, INSTALLER, REQUESTED; PEP 610 direct_url.json).
 *
 * Order, so that a refused wheel leaves nothing behind:
 * 1. Read the zip's central directory (member names checked by src/install/extract: no absolute
 *    paths, `..`, drive letters, backslashes, NUL), find the one `<name>-<version>.dist-info/` that
 *    matches the file name, read WHEEL (Wheel-Version 1.x), METADATA (Name) and RECORD. Every RECORD
 *    row must name a member by a safe path, every member must have a RECORD row with a sha256 (or
 *    stronger) hash, symlink members and unknown `.data/` parts are refused.
 * 2. Unpack every member through the `SafeWriter` into a private temporary sibling of `destDir`,
 *    laid out as the prefix will be, checking each member's bytes against its RECORD hash as it is
 *    written; generate entry-point scripts, INSTALLER, REQUESTED, direct_url.json and our RECORD.
 * 3. Refuse when any destination path already exists in `destDir` (a file of a conda package or of
 *    another wheel), then move the files in. A failure while moving takes back what was moved; a
 *    kill while moving is taken back by the next sync (move-intent.ts).
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, realpath, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, posix, resolve } from 'node:path';
import { CondaGoLockError, InstallError, UnsafeArchiveError } from '../../errors.js';
import { checkEntryName, SafeWriter } from '../extract/safe-writer.js';
import { ZipReader, wrapZipError, type ZipMember } from '../extract/zip.js';
import { defaultEntryPointWriter, parseWheelEntryPoint, rewriteScriptShebang, type EntryPointWriter, type WheelEntryPoint } from './entry-points.js';
import { canonicalName as normalizeName, parseWheelFilename } from '../../pypi/index.js';
import { wheelLayout, type WheelLayout, type WheelTarget } from './layout.js';
import { header, parseEntryPointsTxt, parseHeaders } from './metadata.js';
import { testKillPoint } from '../test-hooks.js';
import { clearMoveIntent, writeMoveIntent } from './move-intent.js';
import { formatRecord, parseRecord, recordHash, RECORD_ALGORITHMS, splitRecordHash, type RecordRow } from './record.js';
import { isInside } from '../../fs/inside.js';

/** What INSTALLER says for wheels we installed (and how we recognise them again). */
export const INSTALLER_NAME = 'conda-go-lock';

/** PEP 610 `direct_url.json` for a requirement given as a URL (`name @ https://...whl`). */
export interface DirectUrl {
  url: string;
  archive_info?: { hashes?: Record<string, string>; hash?: string };
}

export interface InstallWheelOptions {
  /** The wheel file (already verified against the lockfile's sha256 + size). */
  wheel: string;
  /** Its real file name when `wheel` is a cache path with another name (default: basename). */
  filename?: string;
  /** Where files are written now: the prefix, or the staging directory that becomes it. */
  destDir: string;
  target: WheelTarget;
  /** Write REQUESTED (the user asked for this project, it is not only a dependency). */
  requested?: boolean;
  directUrl?: DirectUrl;
  entryPointWriter?: EntryPointWriter;
}

export interface InstalledWheelFile {
  /** Relative to the prefix, forward slashes. */
  path: string;
  sha256: string;
  size: number;
}

export interface InstalledWheel {
  /** PEP 503-normalised project name. */
  name: string;
  /** Version from METADATA. */
  version: string;
  /** The `.dist-info` directory relative to the prefix. */
  distInfo: string;
  /** Every file written, RECORD included, sorted by path. */
  files: InstalledWheelFile[];
  entryPoints: string[];
  /** Directories this install created in `destDir` (relative, parents first), for a rollback. */
  createdDirs: string[];
}

/** Members whose contents RECORD cannot describe (RECORD itself and its signatures). */
const UNHASHED = new Set(['RECORD', 'RECORD.jws', 'RECORD.p7s']);
/** Members read whole (scripts, so the shebang can be rewritten; small files, written in the background). */
const SMALL = 1 << 20;
const MAX_SCRIPT = 64 << 20;
const MAX_META = 16 << 20;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFREG = 0o100000;

interface PlannedMember {
  member: ZipMember;
  /** Destination relative to the prefix. */
  dest: string;
  algorithm: string;
  digest: string;
  size?: number;
  script: boolean;
  mode: number;
}

function invalid(wheel: string, why: string): UnsafeArchiveError {
  return new UnsafeArchiveError(`${wheel}: ${why}; refusing to install this wheel`);
}

function unixMode(m: ZipMember): number {
  return m.entry.versionMadeBy >> 8 === 3 ? m.entry.externalFileAttributes >>> 16 : 0;
}

function join2(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/');
}

/** Read a whole member, checking the decompressed size against the header's. */
async function readMember(zip: ZipReader, m: ZipMember, limit: number): Promise<Buffer> {
  return zip.readSmall(m, limit);
}

export async function installWheel(opts: InstallWheelOptions): Promise<InstalledWheel> {
  const filename = opts.filename ?? basename(opts.wheel);
  const label = filename;
  const wn = parseWheelFilename(filename);
  const wantName = wn.name;
  const layout = wheelLayout(opts.target);
  const writer = opts.entryPointWriter ?? defaultEntryPointWriter;

  let zip: ZipReader;
  try {
    zip = await ZipReader.open(opts.wheel);
  } catch (e) {
    if (e instanceof CondaGoLockError) throw e;
    throw new InstallError(`cannot read wheel ${opts.wheel}: ${(e as Error).message}`, { code: 'E_EXTRACT_IO', cause: e });
  }
  try {
    const members = await zip.members();
    // --- 1. structure --------------------------------------------------------------------------
    const files = new Map<string, ZipMember>();
    for (const m of members) {
      if (m.isDirectory) continue;
      const key = checkEntryName(label, m.name, 'wheel member').join('/');
      if (files.has(key)) throw invalid(label, `has two members named "${key}"`);
      files.set(key, m);
    }
    const distInfos = new Set<string>();
    for (const name of files.keys()) {
      const top = name.split('/')[0]!;
      if (top.endsWith('.dist-info')) distInfos.add(top);
    }
    const matching = [...distInfos].filter((d) => normalizeName(d.slice(0, -'.dist-info'.length).split('-')[0]!) === wantName);
    if (matching.length !== 1 || distInfos.size !== 1) {
      throw invalid(
        label,
        matching.length === 0
          ? `has no ${wn.name}-${wn.version.toString()}.dist-info directory (found ${[...distInfos].join(', ') || 'none'})`
          : `has several .dist-info directories (${[...distInfos].sort().join(', ')})`,
      );
    }
    const distInfo = matching[0]!;
    const stem = distInfo.slice(0, -'.dist-info'.length);
    const dataDir = `${stem}.data`;
    const meta = async (name: string, required: boolean): Promise<string | undefined> => {
      const m = files.get(`${distInfo}/${name}`);
      if (!m) {
        if (required) throw invalid(label, `has no ${distInfo}/${name}`);
        return undefined;
      }
      return (await readMember(zip, m, MAX_META)).toString('utf8');
    };

    const wheelHeaders = parseHeaders((await meta('WHEEL', true))!);
    const wheelVersion = header(wheelHeaders, 'Wheel-Version');
    const wv = wheelVersion ? /^(\d+)\.(\d+)/.exec(wheelVersion) : null;
    if (!wv) throw invalid(label, `${distInfo}/WHEEL has no valid Wheel-Version`);
    if (wv[1] !== '1') {
      throw new InstallError(
        `${label}: Wheel-Version ${wheelVersion} is not supported (this installer reads 1.x); use a newer conda-go-lock or another wheel`,
        { code: 'E_WHEEL_VERSION' },
      );
    }
    const purelib = (header(wheelHeaders, 'Root-Is-Purelib') ?? '').toLowerCase();
    if (purelib !== 'true' && purelib !== 'false') throw invalid(label, `${distInfo}/WHEEL has no Root-Is-Purelib: true|false`);
    const metadata = parseHeaders((await meta('METADATA', true))!);
    const metaName = header(metadata, 'Name');
    const version = header(metadata, 'Version');
    if (!metaName || !version) throw invalid(label, `${distInfo}/METADATA has no Name or Version`);
    if (normalizeName(metaName) !== wantName) {
      throw invalid(label, `${distInfo}/METADATA names project "${metaName}", but the file name says "${wn.name}"`);
    }

    // RECORD: every row a safe path of a member, every member hashed.
    const recordText = (await meta('RECORD', true))!;
    const rows = new Map<string, RecordRow>();
    for (const row of parseRecord(recordText)) {
      let key: string;
      try {
        key = checkEntryName(label, row.path, 'RECORD entry').join('/');
      } catch (e) {
        throw invalid(label, `RECORD entry "${row.path}" points outside the wheel (${(e as Error).message.replace(/^.*?" /, '')})`);
      }
      rows.set(key, row);
    }
    const planned: PlannedMember[] = [];
    for (const [key, m] of files) {
      const mode = unixMode(m);
      if ((mode & S_IFMT) === S_IFLNK) throw invalid(label, `member "${key}" is a symbolic link (wheels contain regular files only)`);
      if ((mode & S_IFMT) !== 0 && (mode & S_IFMT) !== S_IFREG) throw invalid(label, `member "${key}" is not a regular file (mode ${mode.toString(8)})`);
      if (m.entry.isEncrypted()) throw invalid(label, `member "${key}" is encrypted`);
      const inDistInfo = key.startsWith(`${distInfo}/`);
      if (inDistInfo && UNHASHED.has(key.slice(distInfo.length + 1))) continue;
      const row = rows.get(key);
      if (!row) throw invalid(label, `member "${key}" is not listed in RECORD`);
      const h = splitRecordHash(row.hash);
      if (!h) throw invalid(label, `RECORD has no hash for "${key}"`);
      if (!RECORD_ALGORITHMS.has(h.algorithm)) throw invalid(label, `RECORD hashes "${key}" with ${h.algorithm} (sha256 or stronger required)`);
      const size = row.size === '' ? undefined : Number(row.size);
      if (size !== undefined && !(Number.isSafeInteger(size) && size >= 0)) throw invalid(label, `RECORD size "${row.size}" of "${key}" is not a number`);
      const { dest, script } = destinationOf(key, dataDir, layout, metaName, label);
      planned.push({ member: m, dest, algorithm: h.algorithm, digest: h.digest, size, script, mode: mode & 0o111 ? 0o755 : 0o644 });
    }
    for (const key of rows.keys()) {
      if (!files.has(key)) throw invalid(label, `RECORD lists "${key}", which is not in the wheel`);
    }

    // Entry points.
    const entryPoints: WheelEntryPoint[] = [];
    const epText = await meta('entry_points.txt', false);
    if (epText !== undefined) {
      for (const line of parseEntryPointsTxt(epText)) {
        if (line.group === 'console_scripts') entryPoints.push(parseWheelEntryPoint(line.name, line.value, 'console', label));
        else if (line.group === 'gui_scripts') entryPoints.push(parseWheelEntryPoint(line.name, line.value, 'gui', label));
      }
    }

    // --- 2. unpack into a private sibling --------------------------------------------------------
    const distInfoDest = join2(layout.sitePackages, distInfo);
    const destDir = resolve(opts.destDir);
    await mkdir(dirname(destDir), { recursive: true });
    // Named like the install transaction's staging dirs, so recovery after a kill removes it.
    const tmp = await mkdtemp(`${destDir}.cgl-staging-wheel-`);
    try {
      const sw = new SafeWriter(tmp, label);
      const written = new Map<string, InstalledWheelFile>();
      const put = async (dest: string, content: Buffer | AsyncIterable<Uint8Array>, mode: number, known?: InstalledWheelFile) => {
        checkEntryName(label, dest, 'destination');
        if (written.has(dest)) {
          throw invalid(label, `writes "${dest}" twice`);
        }
        await sw.file(dest, content, { mode });
        if (known) written.set(dest, known);
      };
      for (const p of planned) {
        const what = `"${p.member.name}"`;
        const check = (digest: string, size: number) => {
          if (digest !== p.digest) {
            throw invalid(label, `member ${what} does not match its RECORD hash (${p.algorithm}=${p.digest} in RECORD, ${p.algorithm}=${digest} in the archive)`);
          }
          if (p.size !== undefined && size !== p.size) throw invalid(label, `member ${what} is ${size} bytes, RECORD says ${p.size}`);
        };
        if (p.script || p.member.entry.uncompressedSize <= SMALL) {
          const data = await readMember(zip, p.member, p.script ? MAX_SCRIPT : SMALL);
          check(createHash(p.algorithm).update(data).digest('base64url'), data.length);
          const out = p.script ? rewriteScriptShebang(data, opts.target, layout) : data;
          await put(p.dest, out, p.script ? 0o755 : p.mode, {
            path: p.dest,
            sha256: createHash('sha256').update(out).digest('hex'),
            size: out.length,
          });
        } else {
          const h = createHash(p.algorithm);
          const h256 = p.algorithm === 'sha256' ? h : createHash('sha256');
          let size = 0;
          const stream = await zip.open(p.member);
          async function* hashing(): AsyncIterable<Uint8Array> {
            for await (const chunk of stream) {
              const b = chunk as Buffer;
              h.update(b);
              if (h256 !== h) h256.update(b);
              size += b.length;
              yield b;
            }
          }
          await put(p.dest, hashing(), p.mode);
          const digest = h.digest('base64url');
          check(digest, size);
          written.set(p.dest, { path: p.dest, sha256: h256 === h ? Buffer.from(digest, 'base64url').toString('hex') : h256.digest('hex'), size });
        }
      }
      // Generated files.
      const generated: Array<{ path: string; content: Buffer; mode: number }> = [];
      for (const ep of entryPoints) generated.push(...writer.files(ep, opts.target, layout));
      generated.push({ path: `${distInfoDest}/INSTALLER`, content: Buffer.from(`${INSTALLER_NAME}\n`), mode: 0o644 });
      if (opts.requested) generated.push({ path: `${distInfoDest}/REQUESTED`, content: Buffer.alloc(0), mode: 0o644 });
      if (opts.directUrl) {
        generated.push({ path: `${distInfoDest}/direct_url.json`, content: Buffer.from(JSON.stringify(opts.directUrl)), mode: 0o644 });
      }
      for (const g of generated) {
        // A wheel shipping its own INSTALLER (or a script named like an entry point): ours wins
        // (the writer replaces a file it wrote earlier).
        checkEntryName(label, g.path, 'generated file');
        await sw.file(g.path, g.content, { mode: g.mode });
        written.set(g.path, { path: g.path, sha256: createHash('sha256').update(g.content).digest('hex'), size: g.content.length });
      }
      const recordPath = `${distInfoDest}/RECORD`;
      const rel = (p: string) => posix.relative(layout.sitePackages, p);
      const recordRows: RecordRow[] = [...written.values()]
        .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
        .map((f) => ({ path: rel(f.path), hash: `sha256=${Buffer.from(f.sha256, 'hex').toString('base64url')}`, size: String(f.size) }));
      recordRows.push({ path: rel(recordPath), hash: '', size: '' });
      const recordBytes = Buffer.from(formatRecord(recordRows), 'utf8');
      await put(recordPath, recordBytes, 0o644);
      written.set(recordPath, { path: recordPath, sha256: createHash('sha256').update(recordBytes).digest('hex'), size: recordBytes.length });
      await sw.finish();

      // --- 3. move into destDir ------------------------------------------------------------------
      const all = [...written.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      const createdDirs = await moveInto(tmp, destDir, all, label);
      return {
        name: wantName,
        version,
        distInfo: distInfoDest,
        files: all,
        entryPoints: entryPoints.map((e) => e.name).sort(),
        createdDirs,
      };
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  } catch (e) {
    if (e instanceof CondaGoLockError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
      throw new InstallError(`${label}: cannot install into ${opts.destDir}: ${(e as Error).message}`, { code: 'E_EXTRACT_IO', cause: e });
    }
    throw wrapZipError(opts.wheel, e);
  } finally {
    zip.close();
  }
}

/** Where an archive member lands, relative to the prefix. */
function destinationOf(key: string, dataDir: string, layout: WheelLayout, project: string, label: string): { dest: string; script: boolean } {
  if (!key.startsWith(`${dataDir}/`)) return { dest: join2(layout.sitePackages, key), script: false };
  const rest = key.slice(dataDir.length + 1);
  const slash = rest.indexOf('/');
  const part = slash < 0 ? rest : rest.slice(0, slash);
  const inner = slash < 0 ? '' : rest.slice(slash + 1);
  if (inner === '') throw invalid(label, `member "${key}" sits directly in ${dataDir}/ (expected ${dataDir}/<scheme>/...)`);
  switch (part) {
    case 'purelib':
    case 'platlib':
      return { dest: join2(layout.sitePackages, inner), script: false };
    case 'scripts':
      return { dest: join2(layout.scripts, inner), script: true };
    case 'headers':
      return { dest: join2(layout.headers(project), inner), script: false };
    case 'data':
      return { dest: join2(layout.data, inner), script: false };
    default:
      throw invalid(label, `member "${key}" is in an unknown ${dataDir}/ part "${part}" (expected purelib, platlib, scripts, headers or data)`);
  }
}

/**
 * Move `paths` (relative, forward slashes) from `from` into `to`. Refuses before moving anything
 * when a destination exists or a parent directory resolves outside `to`; on a failure midway
 * the files moved so far and the directories created are removed again.
 */
async function moveInto(from: string, to: string, files: readonly InstalledWheelFile[], label: string): Promise<string[]> {
  const paths = files.map((f) => f.path);
  await mkdir(to, { recursive: true });
  const root = await realpath(to);
  const exists = async (p: string) => (await lstat(p).catch(() => undefined)) !== undefined;
  // Check first.
  const parentsChecked = new Map<string, boolean>();
  for (const p of paths) {
    const dest = join(to, ...p.split('/'));
    if (await exists(dest)) {
      throw new InstallError(
        `${label}: ${p} already exists in the prefix (installed by a conda package or another wheel); refusing to overwrite it`,
        { code: 'E_WHEEL_CLOBBER' },
      );
    }
    // Every existing ancestor must be a directory inside the prefix (a symlink to elsewhere is refused).
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const rel = parts.slice(0, i).join('/');
      if (parentsChecked.has(rel)) {
        if (!parentsChecked.get(rel)) break;
        continue;
      }
      const abs = join(to, ...parts.slice(0, i));
      const st = await stat(abs).catch(() => undefined);
      if (!st) {
        parentsChecked.set(rel, false); // missing: created below, nothing further down exists
        break;
      }
      if (!st.isDirectory()) {
        throw new InstallError(`${label}: ${rel} in the prefix is not a directory; cannot install ${p}`, { code: 'E_WHEEL_CLOBBER' });
      }
      if (!isInside(await realpath(abs), root)) {
        throw new UnsafeArchiveError(`${label}: ${rel} in the prefix is a symbolic link that leads outside it; refusing to install ${p} through it`);
      }
      parentsChecked.set(rel, true);
    }
  }
  // The directories this creates, parents first: recorded with the paths so a kill midway is taken back (move-intent.ts).
  const willCreate = new Set<string>();
  const dirExists = new Map<string, boolean>();
  for (const p of paths) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const rel = parts.slice(0, i).join('/');
      if (willCreate.has(rel)) continue;
      let there = dirExists.get(rel);
      if (there === undefined) dirExists.set(rel, (there = await exists(join(to, ...parts.slice(0, i)))));
      if (!there) willCreate.add(rel);
    }
  }
  const dirs = [...willCreate].sort((a, b) => a.split('/').length - b.split('/').length);
  await writeMoveIntent(to, { wheel: label, files: files.map((f) => ({ path: f.path, sha256: f.sha256 })), dirs });
  const moved: string[] = [];
  const made: string[] = [];
  const madeRel: string[] = [];
  let n = 0;
  try {
    for (const p of paths) {
      const parts = p.split('/');
      for (let i = 1; i < parts.length; i++) {
        const abs = join(to, ...parts.slice(0, i));
        try {
          await mkdir(abs);
          made.push(abs);
          madeRel.push(parts.slice(0, i).join('/'));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
      }
      const dest = join(to, ...parts);
      // rename(2) replaces silently: look once more right before.
      if (await exists(dest)) {
        throw new InstallError(`${label}: ${p} appeared in the prefix while installing; refusing to overwrite it`, { code: 'E_WHEEL_CLOBBER' });
      }
      await rename(join(from, ...parts), dest);
      moved.push(dest);
      testKillPoint('wheel-move', ++n);
    }
  } catch (e) {
    for (const m of moved.reverse()) await unlink(m).catch(() => {});
    for (const d of made.reverse()) await rmdir(d).catch(() => {});
    await clearMoveIntent(to);
    throw e;
  }
  await clearMoveIntent(to);
  return madeRel;
}

/** Read a text file of an installed dist-info (INSTALLER, RECORD ...), undefined when absent. */
export async function readDistInfoFile(prefix: string, distInfo: string, name: string): Promise<string | undefined> {
  try {
    return await readFile(join(prefix, ...distInfo.split('/'), name), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
}

export { recordHash };
