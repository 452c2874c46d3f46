/**
 * decodeZstdMember (src/compress/zstd.ts): a .conda member decoded through the `zstd` CLI gives the
 * WASM decoder's bytes and its errors, stops cleanly when the reader stops early, and passes a
 * source's own error through.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { decodeZstdMember } from '../../src/compress/zstd.js';

const haveZstd = spawnSync('zstd', ['--version'], { stdio: 'ignore' }).status === 0;
const zstd = (data: Buffer, args: string[] = ['-3']) => spawnSync('zstd', ['-q', '-c', ...args], { input: data, maxBuffer: 1 << 30 }).stdout;

class Corrupt extends Error {}
const corrupt = (cause?: unknown) => new Corrupt('corrupt member', { cause });

function text(size: number): Buffer {
  const b = Buffer.alloc(size);
  let s = 1;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    b[i] = i % 5 === 0 ? s >>> 24 : 97 + (i % 23);
  }
  return b;
}

/** The member in 64 KiB pieces, noting whether the reader ran it to its end or returned it. */
function source(data: Buffer, state: { finished: boolean } = { finished: false }, failAt?: number): AsyncGenerator<Uint8Array> {
  return (async function* () {
    try {
      for (let off = 0; off < data.length; off += 65536) {
        if (failAt !== undefined && off >= failAt) throw new Error('the archive went away');
        yield data.subarray(off, off + 65536);
      }
    } finally {
      state.finished = true;
    }
  })();
}

async function all(gen: AsyncGenerator<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of gen) parts.push(p);
  return Buffer.concat(parts);
}

describe.skipIf(!haveZstd)('a .conda member through the zstd CLI', () => {
  const plain = text(3 << 20);
  // two frames, without content sizes (as a streamed compressor writes them)
  const member = Buffer.concat([zstd(plain.subarray(0, 1 << 20), ['-3', '--no-content-size']), zstd(plain.subarray(1 << 20), ['-3', '--no-content-size'])]);

  it.each(['cli', 'wasm'])('%s decodes a two-frame member byte for byte', async (engine) => {
    expect((await all(decodeZstdMember(source(member), member.length, corrupt, engine))).equals(plain)).toBe(true);
  });

  it.each(['cli', 'wasm'])('%s refuses a truncated, a corrupt and an empty member', async (engine) => {
    await expect(all(decodeZstdMember(source(member.subarray(0, member.length - 1000)), member.length, corrupt, engine))).rejects.toBeInstanceOf(Corrupt);
    const bad = Buffer.from(member);
    bad.fill(0x55, 4000, 9000);
    await expect(all(decodeZstdMember(source(bad), bad.length, corrupt, engine))).rejects.toBeInstanceOf(Corrupt);
    await expect(all(decodeZstdMember(source(Buffer.alloc(0)), 0, corrupt, engine))).rejects.toBeInstanceOf(Corrupt);
  });

  it("passes the source's own error through and releases the source when the reader stops early", async () => {
    const failing = { finished: false };
    await expect(all(decodeZstdMember(source(member, failing, 256 * 1024), member.length, corrupt, 'cli'))).rejects.toThrow('the archive went away');
    expect(failing.finished).toBe(true);

    const early = { finished: false };
    for await (const piece of decodeZstdMember(source(member, early), member.length, corrupt, 'cli')) {
      expect(piece.length).toBeGreaterThan(0);
      break;
    }
    const deadline = Date.now() + 10_000;
    while (!early.finished && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(early.finished).toBe(true);
  });
});
