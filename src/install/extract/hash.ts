/** Stream a file through sha256 + md5 without holding it in memory. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export interface FileDigest {
  size: number;
  sha256: string;
  md5: string;
}

export async function hashFile(path: string): Promise<FileDigest> {
  const sha = createHash('sha256');
  const md5 = createHash('md5');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const b = chunk as Buffer;
    sha.update(b);
    md5.update(b);
    size += b.length;
  }
  return { size, sha256: sha.digest('hex'), md5: md5.digest('hex') };
}
