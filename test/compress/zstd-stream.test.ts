/**
 * src/compress/zstd.ts decodeZstdStream (the one WASM decoder every .conda member goes through): a
 * stream given up half-way (an aborted extraction, a corrupt member) leaves nothing behind that
 * changes later decodes, and two streams decoded in turn do not share state.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeZstdStream, ZstdError } from '../../src/compress/zstd.js';
import { fixture, haveFixtures } from '../support/fixtures.js';

const FILES = ['linux-64', 'noarch'].map((s) => `conda-forge-subchannel-py39-2024-05/${s}/repodata.json`);

async function* pieces(data: Uint8Array, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < data.length; off += size) yield data.subarray(off, Math.min(off + size, data.length));
}

const corrupt = (cause?: unknown) => new ZstdError(`corrupt: ${String(cause)}`);

async function decodeAll(data: Uint8Array): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const b of decodeZstdStream(pieces(data), corrupt)) out.push(Buffer.from(b));
  return Buffer.concat(out);
}

describe.skipIf(!haveFixtures)('decodeZstdStream state', () => {
  // Read at collection time, which runs even for a skipped describe: nothing without the fixtures.
  const [a, b] = haveFixtures ? FILES.map((f) => ({ zst: readFileSync(fixture('repodata', `${f}.zst`)), json: readFileSync(fixture('repodata', f)) })) : [];

  it('a stream abandoned after its first output, or failing on corrupt input, does not poison the next decodes', async () => {
    for (let round = 0; round < 3; round++) {
      const gen = decodeZstdStream(pieces(a!.zst), corrupt);
      const first = await gen.next();
      expect(first.done).toBe(false);
      await gen.return(undefined); // the caller stops reading (aborted extraction)
      expect((await decodeAll(b!.zst)).equals(b!.json)).toBe(true);

      const bad = Buffer.from(a!.zst);
      for (let i = 4096; i < bad.length; i += 101) bad[i] = bad[i]! ^ 0x5a;
      await expect(decodeAll(bad)).rejects.toBeInstanceOf(ZstdError);
      await expect(decodeAll(a!.zst.subarray(0, a!.zst.length >> 1))).rejects.toBeInstanceOf(ZstdError);
      expect((await decodeAll(a!.zst)).equals(a!.json)).toBe(true);
    }
  });

  it('two streams read in alternation each give their own bytes', async () => {
    const ga = decodeZstdStream(pieces(a!.zst, 16 * 1024), corrupt);
    const gb = decodeZstdStream(pieces(b!.zst, 16 * 1024), corrupt);
    const outA: Buffer[] = [];
    const outB: Buffer[] = [];
    let doneA = false;
    let doneB = false;
    while (!doneA || !doneB) {
      if (!doneA) {
        const r = await ga.next();
        if (r.done) doneA = true;
        else outA.push(Buffer.from(r.value));
      }
      if (!doneB) {
        const r = await gb.next();
        if (r.done) doneB = true;
        else outB.push(Buffer.from(r.value));
      }
    }
    expect(Buffer.concat(outA).equals(a!.json)).toBe(true);
    expect(Buffer.concat(outB).equals(b!.json)).toBe(true);
  });
});
