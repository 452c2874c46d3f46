/**
 * Package and Go archive extraction.
 *
 * - `extractPackage(archive, destDir)`: a conda package, `.conda` (zip of `metadata.json`,
 *   `info-<name>.tar.zst`, `pkg-<name>.tar.zst`) or `.tar.bz2` (multistream bzip2 accepted).
 * - `extractGoArchive(archive, destDir)`: go's `goX.Y.Z.<os>-<arch>.tar.gz` or `.zip`, with the
 *   leading `go/` directory stripped so that `destDir/bin/go` exists afterwards.
 *
 * Both extract into a private sibling of `destDir` and rename it into place when everything
 * succeeded; on any error nothing is left behind. Every entry goes through `SafeWriter` (see
 * safe-writer.ts for the rules). Violations and corrupt data are `UnsafeArchiveError`; a missing
 * archive, an unknown format or an occupied `destDir` are `InstallError`.
 *
 * Re-zipped `.conda` files (e.g. by macOS Archive Utility: members nested under a directory such as
 * `Users/<name>/Downloads/<pkg>/`, ZIP data descriptors): handled. yauzl reads members through the
 * central directory, so data descriptors are fine; members are located by their base name when
 * all of them sit in one directory, and the result carries a warning saying so. Member names are
 * still checked for traversal even though they are never used as output paths.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';

import { createGunzip } from 'node:zlib';
import { CondaGoLockError, InstallError, UnsafeArchiveError } from '../../errors.js';
import { bzip2DecompressFile } from './bzip2.js';
import { SafeWriter, type WriterStats } from './safe-writer.js';
import { withStaging, type StagingOptions } from './staging.js';
import { extractTarStream } from './tar.js';
import { ZipReader, wrapZipError, type ZipMember } from './zip.js';
import { decodeZstdStream } from '../../compress/zstd.js';

export { hashFile, type FileDigest } from './hash.js';
export { checkEntryName } from './safe-writer.js';

export type ArchiveFormat = 'conda' | 'tar.bz2' | 'tar.gz' | 'zip';

export interface ExtractResult extends WriterStats {
  archive: string;
  destDir: string;
  format: ArchiveFormat;
  /** Parsed `metadata.json` of a `.conda` (e.g. `{ conda_pkg_format_version: 2 }`). */
  condaMetadata?: Record<string, unknown>;
  /** Things that were accepted but are unusual (re-zipped .conda, unknown extra members). */
  warnings: string[];
  /** sha256 of each regular file written, by its path below destDir (not kept where names fold case). */
  digests?: Map<string, string>;
  /** Byte count of each regular file written, by the same paths as `digests` (and likewise not kept where names fold case). */
  sizes?: Map<string, number>;
  /** Permission bits of each regular file written, by the same paths as `digests` (and likewise not kept where names fold case). */
  modes?: Map<string, number>;
}

export type ExtractOptions = StagingOptions;

/** The package format from a file name, or undefined. */
export function packageFormatOf(path: string): 'conda' | 'tar.bz2' | undefined {
  if (path.endsWith('.conda')) return 'conda';
  if (path.endsWith('.tar.bz2')) return 'tar.bz2';
  return undefined;
}

/** The format from the first bytes: zip ("PK\x03\x04"), bzip2 ("BZh"), gzip (1f 8b). */
async function sniff(archive: string): Promise<'zip' | 'bz2' | 'gz' | undefined> {
  let fh;
  try {
    fh = await open(archive, 'r');
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(4), 0, 4, 0);
    const b = buffer.subarray(0, bytesRead);
    if (b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04) return 'zip';
    if (b.length >= 3 && b.toString('latin1', 0, 3) === 'BZh') return 'bz2';
    if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'gz';
    return undefined;
  } catch {
    return undefined;
  } finally {
    await fh?.close();
  }
}

async function checkArchiveExists(archive: string): Promise<void> {
  try {
    const s = await stat(archive);
    if (!s.isFile()) throw new InstallError(`${archive} is not a regular file; cannot extract it`, { code: 'E_EXTRACT_IO' });
  } catch (e) {
    if (e instanceof InstallError) throw e;
    throw new InstallError(`cannot read archive ${archive}: ${(e as Error).message}`, { code: 'E_EXTRACT_IO', cause: e });
  }
}

/** Extract a conda package (`.conda` or `.tar.bz2`) into `destDir`. */
export async function extractPackage(archivePath: string, destDir: string, opts: ExtractOptions = {}): Promise<ExtractResult> {
  await checkArchiveExists(archivePath);
  // The name decides; a name without a known extension (e.g. a cache file named by hash) is sniffed.
  let format = packageFormatOf(archivePath);
  if (format === undefined) {
    const magic = await sniff(archivePath);
    format = magic === 'zip' ? 'conda' : magic === 'bz2' ? 'tar.bz2' : undefined;
  }
  if (format === undefined) {
    throw new InstallError(
      `${archivePath}: not a conda package (expected a .conda or .tar.bz2 file name, or zip / bzip2 content)`,
      { code: 'E_UNKNOWN_ARCHIVE_FORMAT' },
    );
  }
  const fmt = format;
  return withStaging(destDir, archivePath, opts, async (staging) => {
    const writer = new SafeWriter(staging, archivePath);
    const warnings: string[] = [];
    let condaMetadata: Record<string, unknown> | undefined;
    if (fmt === 'conda') {
      condaMetadata = await extractCondaInto(archivePath, writer, warnings);
    } else {
      await extractTarStream(bzip2DecompressFile(archivePath), writer, { what: archivePath });
    }
    await writer.finish();
    return { archive: archivePath, destDir, format: fmt, condaMetadata, warnings: [...warnings, ...writer.warnings], ...writer.stats, digests: writer.digests, sizes: writer.sizes, modes: writer.modes };
  });
}

type MemberKind = 'metadata' | 'info' | 'pkg';

function memberKind(base: string): MemberKind | undefined {
  if (base === 'metadata.json') return 'metadata';
  if (base.startsWith('info-') && base.endsWith('.tar.zst')) return 'info';
  if (base.startsWith('pkg-') && base.endsWith('.tar.zst')) return 'pkg';
  return undefined;
}

async function extractCondaInto(archive: string, writer: SafeWriter, warnings: string[]): Promise<Record<string, unknown> | undefined> {
  const zip = await ZipReader.open(archive);
  try {
    const members = await zip.members();
    const chosen = new Map<MemberKind, ZipMember>();
    const dirs = new Set<string>();
    for (const m of members) {
      if (m.isDirectory) continue;
      const slash = m.name.lastIndexOf('/');
      const base = m.name.slice(slash + 1);
      const kind = memberKind(base);
      if (kind === undefined) {
        warnings.push(`${archive}: ignored unexpected zip member "${m.name}"`);
        continue;
      }
      const existing = chosen.get(kind);
      if (existing) {
        throw new UnsafeArchiveError(
          `${archive}: has two ${kind} members ("${existing.name}" and "${m.name}"); refusing an ambiguous .conda`,
        );
      }
      chosen.set(kind, m);
      dirs.add(slash < 0 ? '' : m.name.slice(0, slash));
    }
    const info = chosen.get('info');
    const pkg = chosen.get('pkg');
    if (!info || !pkg) {
      throw new UnsafeArchiveError(
        `${archive}: not a valid .conda package (missing ${!pkg ? 'pkg-*.tar.zst' : 'info-*.tar.zst'}); delete it and download it again`,
      );
    }
    if (dirs.size > 1) {
      throw new UnsafeArchiveError(`${archive}: .conda members are spread over several directories (${[...dirs].join(', ')})`);
    }
    const [dir] = dirs;
    if (dir) warnings.push(`${archive}: .conda members are nested under "${dir}/" (a re-zipped package); extracted them anyway`);

    let metadata: Record<string, unknown> | undefined;
    const meta = chosen.get('metadata');
    const text = meta ? (await zip.readSmall(meta, 1 << 16)).toString('utf8') : undefined;
    // An empty metadata.json (34 of 35 real anaconda-defaults packages of late 2020 have one) says
    // nothing; conda ignores the member, and so do we.
    if (text !== undefined && text.trim() !== '') {
      try {
        const parsed: unknown = JSON.parse(text);
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
        metadata = parsed as Record<string, unknown>;
      } catch (e) {
        throw new UnsafeArchiveError(`${archive}: metadata.json is not valid JSON (${(e as Error).message})`, { cause: e });
      }
      const version = metadata.conda_pkg_format_version;
      if (version !== undefined && version !== 2) {
        throw new UnsafeArchiveError(
          `${archive}: unsupported .conda format version ${JSON.stringify(version)} (this tool reads version 2)`,
        );
      }
    } else if (!meta) {
      warnings.push(`${archive}: no metadata.json member`);
    }

    for (const m of [pkg, info]) {
      const what = `${m.name} in ${archive}`;
      const stream = await zip.open(m);
      const corrupt = (cause?: unknown) =>
        new UnsafeArchiveError(`${what}: corrupt or truncated zstd data; delete the file and download it again`, { cause });
      await extractTarStream(decodeZstdStream(stream, corrupt), writer, { what });
    }
    return metadata;
  } finally {
    zip.close();
  }
}

/**
 * Extract a Go toolchain archive (`.tar.gz` for unix, `.zip` for windows) into `destDir`, dropping
 * the leading `go/` directory. Entries outside `go/` are refused.
 */
export async function extractGoArchive(archivePath: string, destDir: string, opts: ExtractOptions = {}): Promise<ExtractResult> {
  await checkArchiveExists(archivePath);
  let format: ArchiveFormat | undefined =
    archivePath.endsWith('.tar.gz') || archivePath.endsWith('.tgz') ? 'tar.gz' : archivePath.endsWith('.zip') ? 'zip' : undefined;
  if (format === undefined) {
    const magic = await sniff(archivePath);
    format = magic === 'gz' ? 'tar.gz' : magic === 'zip' ? 'zip' : undefined;
  }
  if (format === undefined) {
    throw new InstallError(
      `${archivePath}: not a Go toolchain archive (expected a .tar.gz or .zip file name, or gzip / zip content)`,
      { code: 'E_UNKNOWN_ARCHIVE_FORMAT' },
    );
  }
  return withStaging(destDir, archivePath, opts, async (staging) => {
    const writer = new SafeWriter(staging, archivePath);
    if (format === 'tar.gz') {
      const gunzip = createGunzip();
      const file = createReadStream(archivePath);
      file.on('error', (e) => gunzip.destroy(e));
      gunzip.on('error', () => file.destroy());
      await extractTarStream(file.pipe(gunzip), writer, { what: archivePath, strip: 'go' });
    } else {
      await extractGoZipInto(archivePath, writer);
    }
    await writer.finish();
    return { archive: archivePath, destDir, format, warnings: writer.warnings, ...writer.stats };
  });
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

async function extractGoZipInto(archive: string, writer: SafeWriter): Promise<void> {
  const zip = await ZipReader.open(archive);
  try {
    for (const m of await zip.members()) {
      try {
        await extractGoZipMember(zip, m, archive, writer);
      } catch (e) {
        if (e instanceof CondaGoLockError) throw e;
        const code = (e as NodeJS.ErrnoException).code;
        if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
          throw new InstallError(`${archive}: cannot write zip member "${m.name}": ${(e as Error).message}`, {
            code: 'E_EXTRACT_IO',
            cause: e,
          });
        }
        throw wrapZipError(archive, e);
      }
    }
  } finally {
    zip.close();
  }
}

async function extractGoZipMember(zip: ZipReader, m: ZipMember, archive: string, writer: SafeWriter): Promise<void> {
  if (m.name === 'go/' || m.name === 'go') return;
  if (!m.name.startsWith('go/')) {
    throw new UnsafeArchiveError(
      `${archive}: zip member "${m.name}" is not inside the top-level "go/" directory; this is not a Go toolchain archive`,
    );
  }
  const name = m.name.slice(3);
  const madeByUnix = m.entry.versionMadeBy >> 8 === 3;
  const unixMode = madeByUnix ? m.entry.externalFileAttributes >>> 16 : 0;
  const fmt = unixMode & S_IFMT;
  if (m.isDirectory || fmt === S_IFDIR) {
    await writer.directory(name, unixMode ? unixMode & 0o777 : undefined);
  } else if (fmt === S_IFLNK) {
    const target = (await zip.readSmall(m, 4096)).toString('utf8');
    await writer.symlink(name, target);
  } else if (fmt === 0 || fmt === S_IFREG) {
    const opts = { mode: unixMode ? unixMode & 0o777 : 0o644, mtime: m.entry.getLastModDate() };
    // Small members are read whole so the writer can write them in the background.
    const content = m.entry.uncompressedSize <= 1 << 20 ? await zip.readSmall(m, 1 << 20) : await zip.open(m);
    await writer.file(name, content, opts);
  } else {
    writer.refuse(name, `special file (mode ${fmt.toString(8)})`);
  }
}
