/**
 * src/compress/zstd.ts: every zstd engine usable here (Node's built-in zstd, the `zstd` CLI, zstddec's WASM) decodes real
 * repodata.json.zst to the same bytes and rejects corrupt or truncated input with ZstdError.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decompressZstd, zstdChunks, zstdEngines, ZstdError, zstdFileChunks } from '../../src/compress/zstd.js';
import { fixture, haveFixtures } from '../support/fixtures.js';

const FILE = 'conda-forge-subchannel-py39-2024-05/linux-64/repodata.json';

describe.skipIf(!haveFixtures)('zstd engines', () => {
  it('wasm is always available; the CLI is found when installed', () => {
    expect(zstdEngines()).toContain('wasm');
    expect(zstdEngines().at(-1)).toBe('wasm');
  });

  it.each(zstdEngines())('%s decodes real repodata.json.zst byte for byte', async (engine) => {
    const zst = readFileSync(fixture('repodata', `${FILE}.zst`));
    const json = readFileSync(fixture('repodata', FILE));
    expect((await decompressZstd(zst, engine)).equals(json)).toBe(true);
  });

  it.each(zstdEngines())('%s yields the same bytes in pieces (zstdChunks) and rejects a truncated stream', async (engine) => {
    const zst = readFileSync(fixture('repodata', `${FILE}.zst`));
    const json = readFileSync(fixture('repodata', FILE));
    const parts: Buffer[] = [];
    for await (const p of zstdChunks(zst, engine)) parts.push(p);
    expect(Buffer.concat(parts).equals(json)).toBe(true);
    const drain = async () => {
      for await (const _ of zstdChunks(zst.subarray(0, zst.length >> 1), engine)) void _;
    };
    await expect(drain()).rejects.toBeInstanceOf(ZstdError);
  });

  it.each(zstdEngines())('%s rejects corrupt and truncated data with ZstdError', async (engine) => {
    const zst = readFileSync(fixture('repodata', `${FILE}.zst`));
    const corrupt = Buffer.from(zst);
    for (let i = 64; i < corrupt.length; i += 97) corrupt[i] = corrupt[i]! ^ 0xff;
    await expect(decompressZstd(corrupt, engine)).rejects.toBeInstanceOf(ZstdError);
    await expect(decompressZstd(zst.subarray(0, zst.length >> 1), engine)).rejects.toBeInstanceOf(ZstdError);
    await expect(decompressZstd(Buffer.from('{"not":"zstd"}'), engine)).rejects.toBeInstanceOf(ZstdError);
  });

  it.each(zstdEngines())('%s decodes a file in pieces (zstdFileChunks) and rejects a truncated, a non-zstd and a missing file', async (engine) => {
    const zst = readFileSync(fixture('repodata', `${FILE}.zst`));
    const json = readFileSync(fixture('repodata', FILE));
    const dir = mkdtempSync(join(tmpdir(), 'cgl-zstd-file-'));
    try {
      const drain = async (file: string) => {
        const parts: Buffer[] = [];
        for await (const p of zstdFileChunks(file, engine)) parts.push(p);
        return Buffer.concat(parts);
      };
      writeFileSync(join(dir, 'ok.zst'), zst);
      expect((await drain(join(dir, 'ok.zst'))).equals(json)).toBe(true);
      writeFileSync(join(dir, 'cut.zst'), zst.subarray(0, zst.length >> 1));
      await expect(drain(join(dir, 'cut.zst'))).rejects.toBeInstanceOf(ZstdError);
      writeFileSync(join(dir, 'text.zst'), '{"not":"zstd"}');
      await expect(drain(join(dir, 'text.zst'))).rejects.toBeInstanceOf(ZstdError);
      await expect(drain(join(dir, 'missing.zst'))).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
