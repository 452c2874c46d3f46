/**
 * The two bzip2 back ends (the `bzip2` program and seek-bzip) give the same bytes and the same
 * errors on the same inputs: single and multistream files, trailing bytes, truncation, corruption.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnsafeArchiveError } from '../../src/errors.js';
import { bzip2CliAvailable, bzip2DecompressFile, type Bzip2Backend } from '../../src/install/extract/bzip2.js';
import { bzip2, haveCli } from '../support/archives.js';

const haveBzip2 = haveCli('bzip2');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgl-bzip2-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function payload(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    b[i] = i % 4 === 0 ? s >>> 24 : 97 + (i % 23);
  }
  return b;
}

type Outcome = { ok: true; sha: string; length: number } | { ok: false; kind: 'truncated' | 'corrupt'; message: string };

async function run(file: string, backend: Bzip2Backend): Promise<Outcome> {
  const chunks: Buffer[] = [];
  try {
    for await (const c of bzip2DecompressFile(file, 'X.tar.bz2', { backend })) chunks.push(c);
  } catch (e) {
    expect(e).toBeInstanceOf(UnsafeArchiveError);
    const message = (e as Error).message;
    expect(message).toMatch(/^X\.tar\.bz2: (truncated|corrupt) bzip2 data .*delete it and download it again$/);
    return { ok: false, kind: message.includes('truncated') ? 'truncated' : 'corrupt', message };
  }
  const all = Buffer.concat(chunks);
  const { createHash } = await import('node:crypto');
  return { ok: true, sha: createHash('sha256').update(all).digest('hex'), length: all.length };
}

describe.skipIf(!haveBzip2)('bzip2: the CLI and seek-bzip agree', () => {
  const a = payload(1_500_000, 1); // more than one 900 kB block
  const b = payload(300_000, 2);
  const cases: Array<[string, () => Buffer, Outcome['ok']]> = [
    ['single stream, several blocks', () => bzip2(a), true],
    ['multistream (pbzip2/lbzip2 style)', () => Buffer.concat([bzip2(a), bzip2(b), bzip2(Buffer.from('tail'))]), true],
    ['trailing bytes after the last stream are ignored', () => Buffer.concat([bzip2(b), Buffer.from('\nnot bzip2 at all\n')]), true],
    ['an empty stream', () => bzip2(Buffer.alloc(0)), true],
    ['truncated in the middle', () => { const z = bzip2(a); return z.subarray(0, z.length >> 1); }, false],
    ['a header and nothing else', () => Buffer.from('BZh9'), false],
    ['three bytes of header', () => Buffer.from('BZh'), false],
    ['truncated just before the end-of-stream marker', () => { const z = bzip2(b); return z.subarray(0, z.length - 3); }, false],
    ['an empty file', () => Buffer.alloc(0), false],
    ['not bzip2', () => Buffer.from('hello, world'), false],
    ['a second "stream" that is garbage', () => Buffer.concat([bzip2(b), Buffer.from('BZh9garbage')]), false],
    ['flipped bits inside a block', () => { const z = Buffer.from(bzip2(b)); for (let i = 200; i < z.length - 50; i += 997) z[i]! ^= 0x55; return z; }, false],
  ];
  it.each(cases)('%s', async (name, make, ok) => {
    const file = join(dir, `${name.replace(/\W+/g, '-')}.bz2`);
    await writeFile(file, make());
    const cli = await run(file, 'cli');
    const js = await run(file, 'js');
    expect(cli.ok).toBe(ok);
    if (cli.ok && js.ok) expect(cli).toEqual(js);
    else {
      expect(js.ok).toBe(false);
      expect((cli as { kind: string }).kind).toBe((js as { kind: string }).kind);
    }
  });

  it('the multistream output is the concatenation of the parts', async () => {
    const file = join(dir, 'multi-check.bz2');
    await writeFile(file, Buffer.concat([bzip2(a), bzip2(b)]));
    const chunks: Buffer[] = [];
    for await (const c of bzip2DecompressFile(file, file, { backend: 'cli' })) chunks.push(c);
    expect(Buffer.concat(chunks).equals(Buffer.concat([a, b]))).toBe(true);
  });

  it('a consumer that stops early does not leave bzip2 running', async () => {
    const file = join(dir, 'early.bz2');
    await writeFile(file, bzip2(payload(5_000_000, 3)));
    const gen = bzip2DecompressFile(file, file, { backend: 'cli' });
    const first = await gen.next();
    expect(first.done).toBe(false);
    await gen.return(undefined);
    // Nothing to assert on the process table portably; the generator's return resolved, which
    // means the child was killed and its close event seen.
  });

  it('the CLI is used by default when it is available', async () => {
    expect(await bzip2CliAvailable()).toBe(true);
  });
});
