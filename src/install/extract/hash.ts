/** Stream a file through its hashes without holding it in memory: the one place install code hashes files. */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';

export interface FileDigest {
  size: number;
  sha256: string;
  /** Absent when not asked for (`md5: false`). */
  md5?: string;
}

/** Size, sha256 and (unless `md5: false`: it costs twice sha256's CPU) md5 of a file. */
export async function hashFile(path: string, opts: { md5?: boolean } = {}): Promise<FileDigest> {
  const sha = createHash('sha256');
  const md5 = opts.md5 === false ? undefined : createHash('md5');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const b = chunk as Buffer;
    sha.update(b);
    md5?.update(b);
    size += b.length;
  }
  const out: FileDigest = { size, sha256: sha.digest('hex') };
  if (md5) out.md5 = md5.digest('hex');
  return out;
}

/** The sha256 (hex) and size of a file, streamed. */
export async function sha256File(path: string): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: h.digest('hex'), size };
}

/** Files up to this size are hashed by sha256FileSized with one synchronous read (no thread-pool round trips). */
const SYNC_HASH_MAX = 1 << 20;

/**
 * sha256File for a file whose size is known (an lstat the caller made): a small one is read whole,
 * synchronously; a larger one is streamed.
 */
export async function sha256FileSized(path: string, size: number): Promise<{ sha256: string; size: number }> {
  if (size > SYNC_HASH_MAX) return sha256File(path);
  const data = readFileSync(path);
  return { sha256: createHash('sha256').update(data).digest('hex'), size: data.length };
}

/** The sha256 (hex) of a file, streamed. */
export async function sha256Hex(path: string): Promise<string> {
  return (await sha256File(path)).sha256;
}
