/**
 * Builders for test archives: tar (tar-stream pack) compressed with the real `bzip2` / `zstd` CLIs
 * or zlib, `.conda` zips and Go `.zip`s (yazl), plus a tree snapshot for comparing extractions.
 *
 * Hostile names that yazl refuses to write (`../x`) are produced by writing a same-length
 * placeholder and patching the bytes afterwards (`patchNames`): zip CRCs cover data, not names.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import yazl from 'yazl';

export interface TarEntrySpec {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo' | 'character-device' | 'block-device';
  content?: string | Buffer;
  mode?: number;
  linkname?: string;
  mtime?: Date;
}

/** True when the CLI answers `--version` (or `--help` for cph). */
export function haveCli(name: string): boolean {
  const r = spawnSync(name, [name === 'cph' ? '--help' : '--version'], { stdio: 'ignore' });
  return r.status === 0;
}

/** An uncompressed tar archive holding `entries` in order. */
export async function buildTar(entries: TarEntrySpec[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of p) chunks.push(c as Buffer);
  })();
  for (const e of entries) {
    const type = e.type ?? 'file';
    const content = e.content === undefined ? Buffer.alloc(0) : Buffer.from(e.content);
    const header = {
      name: e.name,
      type,
      mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
      mtime: e.mtime ?? new Date(1_600_000_000_000),
      linkname: e.linkname,
      size: type === 'file' ? content.length : 0,
    };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      p.entry(header, type === 'file' ? content : Buffer.alloc(0), cb);
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

function runCompressor(cmd: string, args: string[], input: Buffer): Buffer {
  const r = spawnSync(cmd, args, { input, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr?.toString()}`);
  return r.stdout;
}

export const bzip2 = (data: Buffer) => runCompressor('bzip2', ['-c', '-9'], data);
/** zstd from stdin: frames carry NO content size, like real .conda members. */
export const zstd = (data: Buffer, level = 3) => runCompressor('zstd', ['-q', '-c', `-${level}`], data);

export async function writeTarBz2(path: string, entries: TarEntrySpec[]): Promise<void> {
  await writeFile(path, bzip2(await buildTar(entries)));
}

/** A multistream .tar.bz2: the tar bytes split in `parts` pieces, each its own bzip2 stream, concatenated. */
export async function writeMultistreamTarBz2(path: string, entries: TarEntrySpec[], parts = 3): Promise<Buffer> {
  const tar = await buildTar(entries);
  const size = Math.ceil(tar.length / parts);
  const streams: Buffer[] = [];
  for (let i = 0; i < tar.length; i += size) streams.push(bzip2(tar.subarray(i, i + size)));
  const out = Buffer.concat(streams);
  await writeFile(path, out);
  return tar;
}

export async function writeTarGz(path: string, entries: TarEntrySpec[]): Promise<void> {
  await writeFile(path, gzipSync(await buildTar(entries)));
}

/**
 * A stand-in Go toolchain `.tar.gz` with the real layout (go/VERSION starting `go<version>`, an
 * executable go/bin/go, go/src/...), byte-for-byte reproducible (fixed mtimes).
 */
export async function fakeGoArchive(version: string): Promise<Buffer> {
  const mtime = new Date(0);
  return gzipSync(
    await buildTar([
      { name: 'go/', type: 'directory', mtime },
      { name: 'go/VERSION', content: `go${version}\ntime 2024-07-02T00:00:00Z\n`, mtime },
      { name: 'go/bin/', type: 'directory', mtime },
      { name: 'go/bin/go', content: '#!/bin/sh\necho fake go\n', mode: 0o755, mtime },
      { name: 'go/src/fmt/print.go', content: 'package fmt\n', mtime },
    ]),
  );
}

export interface ZipEntrySpec {
  name: string;
  content?: string | Buffer;
  /** Unix mode including the file type bits (e.g. 0o100755, 0o120777 for a symlink). */
  mode?: number;
  dir?: boolean;
  compress?: boolean;
}

/** Write a zip with yazl. `rename` maps placeholder names to the (possibly hostile) names to patch in. */
export async function writeZip(path: string, entries: ZipEntrySpec[], rename: Record<string, string> = {}): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const e of entries) {
    if (e.dir) zip.addEmptyDirectory(e.name, { mode: e.mode ?? 0o40755, mtime: new Date(1_600_000_000_000) });
    else
      zip.addBuffer(Buffer.from(e.content ?? ''), e.name, {
        mode: e.mode ?? 0o100644,
        compress: e.compress ?? true,
        mtime: new Date(1_600_000_000_000),
      });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  await writeFile(path, patchNames(Buffer.concat(chunks), rename));
}

/** Replace every occurrence of each placeholder by a hostile name of the SAME byte length. */
export function patchNames(buf: Buffer, rename: Record<string, string>): Buffer {
  for (const [from, to] of Object.entries(rename)) {
    const a = Buffer.from(from);
    const b = Buffer.from(to);
    if (a.length !== b.length) throw new Error(`patchNames: "${from}" and "${to}" differ in length`);
    let at = buf.indexOf(a);
    if (at < 0) throw new Error(`patchNames: "${from}" not found`);
    while (at >= 0) {
      b.copy(buf, at);
      at = buf.indexOf(a, at + a.length);
    }
  }
  return buf;
}

export interface CondaSpec {
  /** Base name (without extension); members are `info-<stem>.tar.zst` / `pkg-<stem>.tar.zst`. */
  stem: string;
  info: TarEntrySpec[];
  pkg: TarEntrySpec[];
  metadata?: string | null;
  /** Extra or replacement zip members (name → bytes), e.g. to nest members in a directory. */
  memberPrefix?: string;
  rename?: Record<string, string>;
}

/** A .conda built the way conda-package-handling lays it out (stored zip of zstd tars). */
export async function writeConda(path: string, spec: CondaSpec): Promise<void> {
  const pre = spec.memberPrefix ?? '';
  const entries: ZipEntrySpec[] = [];
  if (spec.metadata !== null) {
    entries.push({ name: `${pre}metadata.json`, content: spec.metadata ?? '{"conda_pkg_format_version": 2}', compress: false });
  }
  entries.push({ name: `${pre}pkg-${spec.stem}.tar.zst`, content: zstd(await buildTar(spec.pkg)), compress: false });
  entries.push({ name: `${pre}info-${spec.stem}.tar.zst`, content: zstd(await buildTar(spec.info)), compress: false });
  await writeZip(path, entries, spec.rename);
}

export interface TreeNode {
  type: 'file' | 'dir' | 'symlink' | 'other';
  /** Permission bits (files only; symlinks' modes are not meaningful). */
  mode?: number;
  size?: number;
  sha256?: string;
  target?: string;
}

/** Everything below `root` as a sorted record path → node (never follows symlinks). */
export async function snapshotTree(root: string): Promise<Record<string, TreeNode>> {
  const out: Record<string, TreeNode> = {};
  async function walk(rel: string): Promise<void> {
    const names = (await readdir(join(root, rel))).sort();
    for (const n of names) {
      const r = rel ? `${rel}/${n}` : n;
      const abs = join(root, r);
      const st = await lstat(abs);
      if (st.isSymbolicLink()) out[r] = { type: 'symlink', target: await readlink(abs) };
      else if (st.isDirectory()) {
        out[r] = { type: 'dir' };
        await walk(r);
      } else if (st.isFile()) {
        const data = await readFile(abs);
        out[r] = { type: 'file', mode: st.mode & 0o777, size: st.size, sha256: createHash('sha256').update(data).digest('hex') };
      } else out[r] = { type: 'other' };
    }
  }
  await walk('');
  return out;
}

/** Names in `dir` (empty when it does not exist). */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}
