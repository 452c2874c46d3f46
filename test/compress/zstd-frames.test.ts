/**
 * src/compress/zstd-frames.ts: the structural walk finds where real zstd streams end, so a body cut
 * short anywhere is refused — also by Node's built-in zstd, which returns partial output for it.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decompressZstd, zstdChunks, zstdEngines, ZstdError } from '../../src/compress/zstd.js';
import { zstdFramesProblem } from '../../src/compress/zstd-frames.js';
import { fixture, haveFixtures } from '../support/fixtures.js';

const haveZstdCli = spawnSync('zstd', ['--version'], { stdio: 'ignore' }).status === 0;

/** Compress with the zstd CLI (flags choose checksum / content size / level). */
function zstdCli(data: Uint8Array, flags: string[]): Buffer {
  const r = spawnSync('zstd', ['-c', '-q', ...flags], { input: data, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`zstd failed: ${r.stderr}`);
  return r.stdout;
}

const skippable = (payload: Buffer): Buffer => {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(0x184d2a53, 0);
  head.writeUInt32LE(payload.length, 4);
  return Buffer.concat([head, payload]);
};

describe.skipIf(!haveFixtures)('zstd frame walk on real repodata.json.zst', () => {
  const dir = fixture('repodata', 'conda-forge-subchannel-py39-2024-05');
  // Read at collection time, which runs even for a skipped describe: nothing without the fixtures.
  const files = haveFixtures ? readdirSync(dir).map((s) => join(dir, s, 'repodata.json.zst')) : [];

  it.each(files)('%s: complete is accepted; every sampled cut is refused', (file) => {
    const zst = readFileSync(file);
    expect(zstdFramesProblem(zst)).toBeUndefined();
    const step = Math.max(1, Math.floor(zst.length / 200));
    for (let cut = 0; cut < zst.length; cut += step) {
      expect(zstdFramesProblem(zst.subarray(0, cut)), `cut at ${cut} of ${zst.length}`).toMatch(/truncated|empty input/);
    }
    for (let cut = zst.length - 8; cut < zst.length; cut++) expect(zstdFramesProblem(zst.subarray(0, cut))).toMatch(/truncated/);
    expect(zstdFramesProblem(Buffer.concat([zst, Buffer.from('garbage!')]))).toMatch(/not a zstd frame/);
    expect(zstdFramesProblem(Buffer.concat([zst, Buffer.from([0x28, 0xb5])]))).toMatch(/stray byte/);
  });

  it.each(zstdEngines())('%s engine: a body cut at the last byte is a ZstdError, whole or in pieces', async (engine) => {
    const zst = readFileSync(files[0]!);
    const cut = zst.subarray(0, zst.length - 1);
    await expect(decompressZstd(cut, engine)).rejects.toBeInstanceOf(ZstdError);
    const drain = async () => {
      for await (const _ of zstdChunks(cut, engine)) void _;
    };
    await expect(drain()).rejects.toBeInstanceOf(ZstdError);
  });
});

describe.skipIf(!haveZstdCli)('zstd frame walk on streams the zstd CLI writes', () => {
  const text = Buffer.from(Array.from({ length: 20000 }, (_, i) => `{"name":"pkg-${i % 977}","build":"h${i}_0"}\n`).join(''));
  const shapes: [string, string[]][] = [
    ['checksum + content size', ['--check']],
    ['no checksum', ['--no-check']],
    ['no content size (streamed)', ['--no-content-size']],
    ['level 19, long window', ['-19', '--long=24']],
  ];

  it.each(shapes)('%s: whole stream accepted, cuts refused, frames can follow each other', async (_label, flags) => {
    const zst = zstdCli(text, flags);
    expect(zstdFramesProblem(zst)).toBeUndefined();
    for (let cut = 0; cut < zst.length; cut += 7) expect(zstdFramesProblem(zst.subarray(0, cut))).toBeDefined();
    const two = Buffer.concat([zst, skippable(Buffer.from('metadata')), zst]);
    expect(zstdFramesProblem(two)).toBeUndefined();
    expect(zstdFramesProblem(two.subarray(0, zst.length + 12))).toMatch(/truncated/);
    // What the walk accepts, the decoders decode to the same bytes
    for (const engine of zstdEngines()) expect((await decompressZstd(two, engine)).equals(Buffer.concat([text, text])), engine).toBe(true);
  });

  it('an RLE block (one byte repeated) is walked by its 1-byte payload', () => {
    const zst = zstdCli(Buffer.alloc(300_000, 0x61), ['--check']);
    expect(zstdFramesProblem(zst)).toBeUndefined();
    expect(zstdFramesProblem(zst.subarray(0, zst.length - 5))).toMatch(/truncated/);
  });

  it('a reserved block type or header bit is corrupt, not silently accepted', () => {
    const zst = Buffer.from(zstdCli(text, ['--check']));
    const badBit = Buffer.from(zst);
    badBit[4] = badBit[4]! | 0x08;
    expect(zstdFramesProblem(badBit)).toMatch(/reserved bit/);
    expect(zstdFramesProblem(Buffer.alloc(0))).toBe('empty input');
    expect(zstdFramesProblem(Buffer.from('{"not":"zstd"}'))).toMatch(/bad magic/);
  });
});
