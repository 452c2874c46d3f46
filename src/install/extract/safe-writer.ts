/**
 * The one place where archive entries touch the disk.
 *
 * Every extractor (tar from .conda / .tar.bz2 / go .tar.gz, and go's .zip) hands its entries to a
 * `SafeWriter`, which writes them below a private staging directory after OUR OWN checks; we never
 * rely on a library's notion of a "safe" path:
 *
 * - entry names: no absolute paths, no `..` components, no drive letters (`C:`), no backslashes,
 *   no NUL bytes;
 * - nothing is written THROUGH a symlink created by an earlier entry (`lnk/file` when `lnk` is a
 *   symlink), and files are opened with O_EXCL so the final component is never followed either;
 * - symlink targets are resolved relative to the link's directory, following the symlinks already
 *   extracted (chains `a → b → c`), and must stay inside the root. Because a later symlink can change
 *   how an earlier, still-dangling target resolves (`l → d/../x`, then `d → .`), every symlink is
 *   re-checked whenever a new one is added;
 * - hard links must point at a regular file extracted earlier (never a directory or symlink);
 * - character/block devices, fifos and unknown entry types are refused.
 *
 * Any violation is an `UnsafeArchiveError` naming the archive and the entry.
 */
import {
  chmodSync,
  closeSync,
  constants as fsConstants,
  copyFileSync,
  fchmodSync,
  fstatSync,
  futimesSync,
  linkSync,
  mkdirSync,
  openSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { InstallError, UnsafeArchiveError } from '../../errors.js';
import { LoopTurns } from '../../loop-turns.js';

/** Case-insensitive file systems (macOS, Windows) must not let `Lib` and `lib/x` dodge the checks. */
const FOLD_CASE = process.platform === 'darwin' || process.platform === 'win32';
const MAX_SYMLINK_HOPS = 40;
/*
 * Every file-system call here is synchronous, on the spot. A package is mostly small files, and
 * the async API hands each call to the libuv thread pool: a cold install then spent most of its
 * system time waking pool threads and the event loop (futex + eventfd per call, ~4 calls a file),
 * more than in the calls themselves. Synchronous calls hold the event loop, so the writer gives it
 * a turn between them (LoopTurns).
 */
/**
 * The permission bits kept from an archive entry: the archive's own, group-write included (conda
 * keeps 0o775 / 0o664 as packed: 5,426 files of the real defaults-2020 set have them), but never
 * world-write (a file anyone may change in an environment) nor setuid/setgid/sticky.
 */
export const KEPT_MODE_BITS = 0o775;

const MAX_SYMLINKS = 100_000;

type Node =
  | { kind: 'file' }
  | { kind: 'dir' }
  | { kind: 'symlink'; path: string; parent: string[]; target: string[]; raw: string };

export interface WriterStats {
  files: number;
  directories: number;
  symlinks: number;
  hardlinks: number;
  /** Bytes of regular-file content written (hard links not counted twice). */
  bytes: number;
}

class EscapeError extends Error {}

/**
 * Split and check an archive entry name. Returns the path components (no `.`/empty parts).
 * Throws `UnsafeArchiveError` for anything that could land outside the root.
 */
export function checkEntryName(archive: string, name: string, what = 'entry'): string[] {
  const fail = (why: string): never => {
    throw new UnsafeArchiveError(`${archive}: ${what} "${printable(name)}" ${why}; refusing to extract this archive`);
  };
  if (name.length === 0) fail('has an empty name');
  if (name.includes('\0')) fail('contains a NUL byte');
  if (name.includes('\\')) fail('contains a backslash (Windows path separator trick)');
  if (name.startsWith('/')) fail('is an absolute path');
  if (/^[A-Za-z]:/.test(name)) fail('starts with a drive letter');
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') fail('contains a ".." component (path traversal)');
    if (process.platform === 'win32' && part.includes(':')) fail('contains ":" (alternate data stream or drive)');
    parts.push(part);
  }
  return parts;
}

/** Split a symlink target; absolute / drive / backslash targets are refused. `..` is allowed here. */
function checkLinkTarget(archive: string, name: string, target: string): string[] {
  const fail = (why: string): never => {
    throw new UnsafeArchiveError(
      `${archive}: symlink "${printable(name)}" -> "${printable(target)}" ${why}; refusing to extract this archive`,
    );
  };
  if (target.length === 0) fail('has an empty target');
  if (target.includes('\0')) fail('has a NUL byte in its target');
  if (target.includes('\\')) fail('has a backslash in its target');
  if (target.startsWith('/')) fail('points to an absolute path');
  if (/^[A-Za-z]:/.test(target)) fail('points to a drive letter path');
  return target.split('/').filter((p) => p !== '' && p !== '.');
}

function printable(s: string): string {
  // Keep messages on one line and free of terminal control characters.
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function keyOf(parts: readonly string[]): string {
  const k = parts.join('/');
  return FOLD_CASE ? k.normalize('NFC').toLowerCase() : k;
}

export interface FileEntryOptions {
  mode?: number;
  mtime?: Date;
}

export class SafeWriter {
  readonly stats: WriterStats = { files: 0, directories: 0, symlinks: 0, hardlinks: 0, bytes: 0 };
  /**
   * sha256 of every regular file as written, by its path below the root ('lib/x.so'), so that the
   * linker need not read a fresh extraction back to hash it. Not kept where names fold case
   * (macOS, Windows: two spellings reach one file), so there the linker hashes as before.
   */
  readonly digests: Map<string, string> | undefined = FOLD_CASE ? undefined : new Map();
  /**
   * The permission bits (0o7777) every regular file was left with, by the same keys as `digests`
   * (and likewise not kept where names fold case): the cache's mode record (extract-modes.ts) is
   * written from it instead of walking the tree again. Dropped (undefined) when the first file's
   * bits on disk are not the ones set (a file system that ignores chmod): the walk then records
   * what is there.
   */
  modes: Map<string, number> | undefined = FOLD_CASE ? undefined : new Map();
  /** The byte count of every regular file written, by the same keys as `digests` (and likewise not kept where names fold case). */
  readonly sizes: Map<string, number> | undefined = FOLD_CASE ? undefined : new Map();
  private modesChecked = false;
  /** Accepted oddities, reported in ExtractResult.warnings. */
  readonly warnings: string[] = [];
  private writeError: unknown;
  private readonly nodes = new Map<string, Node>();
  /**
   * For each path key, the symlinks whose target resolution looked that path up. When a new symlink
   * appears at a path, only these need re-checking (their walk is otherwise unchanged), which keeps
   * packages with thousands of symlinks linear instead of quadratic.
   */
  private readonly dependents = new Map<string, Set<string>>();
  /** Directory modes to apply at the end (so read-only directories do not block later entries). */
  private readonly dirModes = new Map<string, { path: string; mode: number }>();

  /**
   * @param root    the private staging directory (must exist and be empty)
   * @param archive the archive path, for error messages
   */
  constructor(
    readonly root: string,
    readonly archive: string,
  ) {}

  private unsafe(name: string, why: string): UnsafeArchiveError {
    return new UnsafeArchiveError(`${this.archive}: entry "${printable(name)}" ${why}; refusing to extract this archive`);
  }

  private abs(parts: readonly string[]): string {
    return parts.length === 0 ? this.root : join(this.root, ...parts);
  }

  /**
   * Make sure every parent of `parts` is a real directory we created (or create it), never a
   * symlink or a file. Returns nothing; throws UnsafeArchiveError on a violation.
   */
  private ensureParents(name: string, parts: readonly string[]): void {
    let missingFrom = -1;
    for (let i = 1; i < parts.length; i++) {
      const node = this.nodes.get(keyOf(parts.slice(0, i)));
      if (node === undefined) {
        if (missingFrom < 0) missingFrom = i;
        continue;
      }
      if (node.kind === 'symlink') {
        throw this.unsafe(name, `would be written through the symlink "${parts.slice(0, i).join('/')}" created by an earlier entry`);
      }
      if (node.kind === 'file') {
        throw this.unsafe(name, `needs "${parts.slice(0, i).join('/')}" to be a directory, but an earlier entry made it a file`);
      }
    }
    if (missingFrom < 0) return;
    mkdirSync(this.abs(parts.slice(0, -1)), { recursive: true });
    for (let i = missingFrom; i < parts.length; i++) {
      const k = keyOf(parts.slice(0, i));
      if (!this.nodes.has(k)) {
        this.nodes.set(k, { kind: 'dir' });
        this.stats.directories++;
      }
    }
  }

  /** Remove an existing file or symlink at `parts` (a later tar entry replaces an earlier one). */
  private replaceable(name: string, parts: readonly string[], newKind: string): void {
    const k = keyOf(parts);
    const node = this.nodes.get(k);
    if (node === undefined) return;
    if (node.kind === 'dir') throw this.unsafe(name, `would replace the directory created by an earlier entry with a ${newKind}`);
    this.throwWriteError();
    unlinkSync(this.abs(parts));
    this.nodes.delete(k);
    this.digests?.delete(k);
    this.modes?.delete(k);
    this.sizes?.delete(k);
    if (node.kind === 'symlink') this.stats.symlinks--;
    else this.stats.files--;
  }

  async directory(name: string, mode?: number): Promise<void> {
    const parts = checkEntryName(this.archive, name);
    if (parts.length === 0) return; // "./" — the root itself
    this.ensureParents(name, parts);
    const k = keyOf(parts);
    const node = this.nodes.get(k);
    if (node !== undefined && node.kind !== 'dir') {
      throw this.unsafe(name, `is a directory, but an earlier entry made it a ${node.kind}`);
    }
    if (node === undefined) {
      await this.turns.maybe();
      mkdirSync(this.abs(parts));
      this.nodes.set(k, { kind: 'dir' });
      this.stats.directories++;
    }
    if (mode !== undefined) this.dirModes.set(k, { path: this.abs(parts), mode: (mode & KEPT_MODE_BITS) | 0o700 });
  }

  /** Write a regular file from `content` (chunks are written as they arrive; nothing is buffered whole). */
  async file(name: string, content: AsyncIterable<Uint8Array> | Uint8Array, opts: FileEntryOptions = {}): Promise<void> {
    const parts = checkEntryName(this.archive, name);
    if (parts.length === 0) throw this.unsafe(name, 'is a file entry for the archive root');
    this.ensureParents(name, parts);
    this.replaceable(name, parts, 'file');
    const path = this.abs(parts);
    const mode = opts.mode === undefined || (opts.mode & 0o777) === 0 ? 0o644 : opts.mode & KEPT_MODE_BITS;
    if (content instanceof Uint8Array) {
      await this.writeBuffered(name, keyOf(parts), path, content, mode, opts.mtime);
      return;
    }
    await this.turns.maybe();
    // O_EXCL: fails on anything already there, including a (dangling) symlink — never follows one.
    const fd = openSync(path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
    // Record it immediately so an error below still leaves our bookkeeping truthful.
    this.nodes.set(keyOf(parts), { kind: 'file' });
    this.stats.files++;
    const hash = this.digests ? createHash('sha256') : undefined;
    let written = 0;
    try {
      for await (const chunk of content) {
        if (chunk.length === 0) continue;
        hash?.update(chunk);
        for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off, chunk.length - off);
        this.stats.bytes += chunk.length;
        written += chunk.length;
        await this.turns.maybe();
      }
      if (hash) this.digests!.set(keyOf(parts), hash.digest('hex'));
      this.sizes?.set(keyOf(parts), written);
      fchmodSync(fd, mode);
      this.recordMode(fd, keyOf(parts), mode);
      if (opts.mtime !== undefined && !Number.isNaN(opts.mtime.getTime())) futimesSync(fd, opts.mtime, opts.mtime);
    } finally {
      closeSync(fd);
    }
  }

  async symlink(name: string, target: string, opts: FileEntryOptions = {}): Promise<void> {
    if (target === '') {
      // Seen in real packages (conda's own test copies of defaults' zlib): the .tar.bz2 of the same
      // build stores these paths as empty regular files, so do the same. Harmless: an empty file.
      this.warnings.push(`${this.archive}: symlink "${printable(name)}" has an empty target; extracted as an empty file`);
      await this.file(name, new Uint8Array(0), opts);
      return;
    }
    const parts = checkEntryName(this.archive, name);
    if (parts.length === 0) throw this.unsafe(name, 'is a symlink entry for the archive root');
    const targetParts = checkLinkTarget(this.archive, name, target);
    if (this.stats.symlinks >= MAX_SYMLINKS) throw this.unsafe(name, `exceeds the limit of ${MAX_SYMLINKS} symlinks`);
    this.ensureParents(name, parts);
    const k = keyOf(parts);
    const previous = this.nodes.get(k);
    if (previous?.kind === 'dir') throw this.unsafe(name, 'would replace the directory created by an earlier entry with a symlink');
    const node: Node = { kind: 'symlink', path: parts.join('/'), parent: parts.slice(0, -1), target: targetParts, raw: target };
    // Check with the new link in place: its own target, and every earlier link (whose dangling
    // target may now resolve through this one).
    this.nodes.set(k, node);
    try {
      this.checkLinkInside(name, k, node);
      for (const otherKey of this.dependents.get(k) ?? []) {
        const other = this.nodes.get(otherKey);
        if (other?.kind !== 'symlink' || otherKey === k) continue;
        this.checkLinkInside(name, otherKey, other);
      }
    } catch (e) {
      if (previous) this.nodes.set(k, previous);
      else this.nodes.delete(k);
      throw e;
    }
    if (previous) {
      // Replace an earlier file/symlink of the same name (tar semantics: last entry wins).
      this.nodes.set(k, previous);
      this.replaceable(name, parts, 'symlink');
      this.nodes.set(k, node);
    }
    await this.turns.maybe();
    symlinkSync(target, this.abs(parts));
    this.stats.symlinks++;
  }

  /** A tar hard link: `target` is archive-root relative and must be a regular file extracted earlier. */
  async hardlink(name: string, target: string): Promise<void> {
    const parts = checkEntryName(this.archive, name);
    const targetParts = checkEntryName(this.archive, target, `hard link target of "${printable(name)}":`);
    if (parts.length === 0) throw this.unsafe(name, 'is a hard link entry for the archive root');
    for (let i = 1; i < targetParts.length; i++) {
      if (this.nodes.get(keyOf(targetParts.slice(0, i)))?.kind === 'symlink') {
        throw this.unsafe(name, `is a hard link whose target "${printable(target)}" goes through a symlink`);
      }
    }
    const targetNode = this.nodes.get(keyOf(targetParts));
    if (targetNode?.kind !== 'file') {
      throw this.unsafe(
        name,
        `is a hard link to "${printable(target)}", which is not a regular file extracted earlier from this archive`,
      );
    }
    if (keyOf(targetParts) === keyOf(parts)) return; // a link to itself: nothing to do
    this.throwWriteError();
    this.ensureParents(name, parts);
    this.replaceable(name, parts, 'hard link');
    await this.turns.maybe();
    try {
      linkSync(this.abs(targetParts), this.abs(parts));
    } catch (e) {
      // File systems without hard links (FAT, some network shares): a copy has the same content.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV' && code !== 'EMLINK') throw e;
      copyFileSync(this.abs(targetParts), this.abs(parts), fsConstants.COPYFILE_EXCL);
    }
    this.nodes.set(keyOf(parts), { kind: 'file' });
    const targetDigest = this.digests?.get(keyOf(targetParts));
    if (targetDigest !== undefined) this.digests!.set(keyOf(parts), targetDigest);
    const targetMode = this.modes?.get(keyOf(targetParts));
    if (targetMode !== undefined) this.modes!.set(keyOf(parts), targetMode);
    const targetSize = this.sizes?.get(keyOf(targetParts));
    if (targetSize !== undefined) this.sizes!.set(keyOf(parts), targetSize);
    this.stats.files++;
    this.stats.hardlinks++;
  }

  /** Refuse an entry type we never extract (devices, fifos, unknown). */
  refuse(name: string, type: string): never {
    throw this.unsafe(name, `is a ${type} entry; conda packages and Go archives never contain one`);
  }

  private readonly turns = new LoopTurns();

  /** Write a file held whole. O_EXCL still guarantees a fresh file, never something reached through a symlink. */
  private async writeBuffered(name: string, k: string, path: string, data: Uint8Array, mode: number, mtime?: Date): Promise<void> {
    this.throwWriteError();
    await this.turns.maybe();
    this.nodes.set(k, { kind: 'file' });
    this.stats.files++;
    this.stats.bytes += data.length;
    this.digests?.set(k, createHash('sha256').update(data).digest('hex'));
    this.sizes?.set(k, data.length);
    this.writeNow(name, k, path, data, mode, mtime);
  }

  /** Note the bits a file was given; the first time, check that the file system kept them. */
  private recordMode(fd: number, k: string, mode: number): void {
    if (this.modes === undefined) return;
    if (!this.modesChecked) {
      this.modesChecked = true;
      if ((fstatSync(fd).mode & 0o7777) !== mode) {
        this.modes = undefined;
        return;
      }
    }
    this.modes.set(k, mode);
  }

  /**
   * open(O_EXCL) + write + fchmod + futimes + close. The fchmod is not skipped when the umask would
   * give the same bits: a default ACL on the directory can take bits away too.
   */
  private writeNow(name: string, k: string, path: string, data: Uint8Array, mode: number, mtime?: Date): void {
    let fd: number | undefined;
    try {
      fd = openSync(path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, mode);
      for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
      fchmodSync(fd, mode);
      this.recordMode(fd, k, mode);
      if (mtime !== undefined && !Number.isNaN(mtime.getTime())) futimesSync(fd, mtime, mtime);
    } catch (e) {
      this.failWrite(name, e);
    } finally {
      if (fd !== undefined) {
        try {
          closeSync(fd);
        } catch (e) {
          // A failed close (a full disk on NFS) is the entry's error too, unless a write failed first.
          this.failWrite(name, e);
        }
      }
    }
  }

  /** Keep the first write failure (E_EXTRACT_IO naming the entry) and throw it. */
  private failWrite(name: string, e: unknown): never {
    this.writeError ??= new InstallError(`${this.archive}: cannot write entry "${printable(name)}": ${e instanceof Error ? e.message : String(e)}`, {
      code: 'E_EXTRACT_IO',
      cause: e,
    });
    throw this.writeError;
  }

  private throwWriteError(): void {
    if (this.writeError !== undefined) throw this.writeError;
  }

  async finish(): Promise<void> {
    this.throwWriteError();
    for (const { path, mode } of this.dirModes.values()) chmodSync(path, mode);
    chmodSync(this.root, 0o755); // the staging dir was created 0700 by mkdtemp
  }

  private checkLinkInside(entryName: string, linkKey: string, node: Extract<Node, { kind: 'symlink' }>): void {
    const visited: string[] = [];
    try {
      this.resolve(node.parent, node.target, { hops: 0 }, visited);
      for (const v of visited) {
        let set = this.dependents.get(v);
        if (set === undefined) this.dependents.set(v, (set = new Set()));
        set.add(linkKey);
      }
    } catch (e) {
      if (!(e instanceof EscapeError)) throw e;
      const linkPath = node.path;
      const self = keyOf(checkEntryName(this.archive, entryName)) === linkKey;
      throw this.unsafe(
        entryName,
        self
          ? `is a symlink to "${printable(node.raw)}", which ${e.message}`
          : `is a symlink that makes the earlier symlink "${printable(linkPath)}" -> "${printable(node.raw)}" resolve so that it ${e.message}`,
      );
    }
  }

  /**
   * Resolve `rel` from the directory `start` (canonical components below the root), following the
   * symlinks extracted so far. Returns canonical components; throws EscapeError when the path
   * leaves the root or loops.
   */
  private resolve(start: readonly string[], rel: readonly string[], state: { hops: number }, visited: string[]): string[] {
    const out = [...start];
    for (const part of rel) {
      if (part === '..') {
        if (out.length === 0) throw new EscapeError('points outside the extraction directory');
        out.pop();
        continue;
      }
      out.push(part);
      const key = keyOf(out);
      visited.push(key);
      const node = this.nodes.get(key);
      if (node?.kind === 'symlink') {
        if (++state.hops > MAX_SYMLINK_HOPS) throw new EscapeError('is a symlink loop (too many levels of symlinks)');
        const resolved = this.resolve(out.slice(0, -1), node.target, state, visited);
        out.length = 0;
        out.push(...resolved);
      }
    }
    return out;
  }
}
