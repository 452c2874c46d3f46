/**
 * Build CEP-16 sharded channels on the fly for tests: msgpack (msgpackr) + zstd (the `zstd` CLI).
 * `haveZstdCli` is false when the CLI is missing; tests that compress skip then.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pack } from 'msgpackr';

export const haveZstdCli = (() => {
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Compress with the zstd CLI reading stdin, so the frame has no content size (like many real files). */
export function zstdCompress(data: Uint8Array): Buffer {
  return execFileSync('zstd', ['-q', '-c', '-3'], { input: data, maxBuffer: 1 << 30 });
}

export interface ShardRecordInput {
  name: string;
  version: string;
  build: string;
  depends?: string[];
  /** `.conda` (default) or `.tar.bz2`. */
  ext?: '.conda' | '.tar.bz2';
  [key: string]: unknown;
}

export interface ShardedChannelOptions {
  subdir: string;
  records: ShardRecordInput[];
  /** info.base_url (default ''). */
  baseUrl?: string;
  /** info.shards_base_url (default ''); shard files are written under this relative directory. */
  shardsBaseUrl?: string;
  /** Store md5/sha256 as msgpack bin (like live conda-forge shards) instead of hex strings. */
  hashesAsBin?: boolean;
}

/** Write `<dir>/<subdir>/repodata_shards.msgpack.zst` and one shard per name. Returns name → shard sha256. */
export async function writeShardedSubdir(dir: string, opts: ShardedChannelOptions): Promise<Map<string, string>> {
  const subdirDir = join(dir, opts.subdir);
  const shardsDir = join(subdirDir, opts.shardsBaseUrl ?? '');
  await mkdir(shardsDir, { recursive: true });
  const byName = new Map<string, ShardRecordInput[]>();
  for (const r of opts.records) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
  const hashes = new Map<string, string>();
  const index: Record<string, Uint8Array> = {};
  for (const [name, recs] of byName) {
    const shard: { packages: Record<string, unknown>; 'packages.conda': Record<string, unknown>; removed: string[] } = {
      packages: {},
      'packages.conda': {},
      removed: [],
    };
    for (const r of recs) {
      const { ext = '.conda', ...rest } = r;
      const fn = `${r.name}-${r.version}-${r.build}${ext}`;
      const sha = createHash('sha256').update(fn).digest();
      const md5 = createHash('md5').update(fn).digest();
      const rec = {
        build_number: 0,
        depends: [],
        subdir: opts.subdir,
        size: 100,
        timestamp: 1700000000000,
        ...rest,
        sha256: opts.hashesAsBin ? sha : sha.toString('hex'),
        md5: opts.hashesAsBin ? md5 : md5.toString('hex'),
      };
      (ext === '.conda' ? shard['packages.conda'] : shard.packages)[fn] = rec;
    }
    const bytes = zstdCompress(pack(shard));
    const hex = createHash('sha256').update(bytes).digest('hex');
    await writeFile(join(shardsDir, `${hex}.msgpack.zst`), bytes);
    hashes.set(name, hex);
    index[name] = Buffer.from(hex, 'hex');
  }
  const idx = {
    info: { base_url: opts.baseUrl ?? '', shards_base_url: opts.shardsBaseUrl ?? '', subdir: opts.subdir },
    version: 1,
    shards: index,
  };
  await writeFile(join(subdirDir, 'repodata_shards.msgpack.zst'), zstdCompress(pack(idx)));
  return hashes;
}
