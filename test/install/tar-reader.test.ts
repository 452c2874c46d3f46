/**
 * The tar reader (src/install/extract/tar-reader.ts) against archives written by GNU tar and
 * Python's tarfile in every format they write, read back through tar-stream as a second opinion,
 * fed in chunks of awkward sizes; and its errors on malformed data.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract as tarStreamExtract } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTar, TarFormatError, type TarEntry } from '../../src/install/extract/tar-reader.js';
import { ZipReader } from '../../src/install/extract/zip.js';
import { buildTar, haveCli } from '../support/archives.js';
import { fixture, fixturesSkipReason, haveFixtures } from '../support/fixtures.js';

interface Seen {
  name: string;
  type: string;
  size: number;
  mode: number;
  mtime?: number;
  linkname: string;
  sha256?: string;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function* inPieces(data: Buffer, sizes: number[]): AsyncGenerator<Uint8Array> {
  let i = 0;
  for (let at = 0; at < data.length; i++) {
    const n = sizes[i % sizes.length]!;
    // Uint8Array, not Buffer: the reader takes either
    yield new Uint8Array(data.subarray(at, at + n));
    at += n;
  }
}

async function readAll(source: AsyncIterable<Uint8Array>, wholeUpTo?: number): Promise<Seen[]> {
  const out: Seen[] = [];
  for await (const e of readTar(source, { wholeUpTo })) out.push(await seen(e));
  return out;
}

async function seen(e: TarEntry): Promise<Seen> {
  const s: Seen = { name: e.header.name, type: e.header.type, size: e.header.size, mode: e.header.mode, linkname: e.header.linkname };
  if (e.header.mtime) s.mtime = Math.floor(e.header.mtime.getTime() / 1000);
  if (e.header.type === 'file') {
    let body: Buffer;
    if (Buffer.isBuffer(e.body)) body = e.body;
    else {
      const parts: Buffer[] = [];
      for await (const c of e.body) parts.push(c);
      body = Buffer.concat(parts);
    }
    s.sha256 = sha(body);
  }
  return s;
}

/** The same archive read by tar-stream, in the same shape. */
async function byTarStream(data: Buffer): Promise<Seen[]> {
  const ex = tarStreamExtract();
  const out: Seen[] = [];
  const done = (async () => {
    for await (const entry of ex) {
      const h = entry.header;
      const parts: Buffer[] = [];
      for await (const c of entry) parts.push(c as Buffer);
      const s: Seen = { name: h.name, type: h.type ?? 'file', size: h.size ?? 0, mode: (h.mode ?? 0) & 0o7777, linkname: h.linkname ?? '' };
      if (h.mtime) s.mtime = Math.floor(h.mtime.getTime() / 1000);
      if (s.type === 'file') s.sha256 = sha(Buffer.concat(parts));
      else s.size = h.size ?? 0;
      out.push(s);
    }
  })();
  ex.end(data);
  await done;
  return out;
}

let work: string;
let tree: string;
const longDir = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(60)}`;
/** Fits ustar only split into its 155-byte prefix and 100-byte name. */
const ustarLong = `${'p'.repeat(140)}/${'q'.repeat(90)}.txt`;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'cgl-tar-reader-'));
  tree = join(work, 'tree');
  mkdirSync(join(tree, 'pkg', 'bin'), { recursive: true });
  mkdirSync(join(tree, 'pkg', longDir), { recursive: true });
  writeFileSync(join(tree, 'pkg', 'empty'), '');
  writeFileSync(join(tree, 'pkg', 'bin', 'tool'), '#!/bin/sh\necho hi\n');
  chmodSync(join(tree, 'pkg', 'bin', 'tool'), 0o755);
  writeFileSync(join(tree, 'pkg', 'exactly-512'), Buffer.alloc(512, 7));
  // above the reader's whole-body limit in the tests below: comes out in chunks
  writeFileSync(join(tree, 'pkg', 'big.bin'), Buffer.from(Array.from({ length: 300_001 }, (_, i) => (i * 31) & 0xff)));
  writeFileSync(join(tree, 'pkg', longDir, `${'n'.repeat(90)}.txt`), 'a long path\n');
  writeFileSync(join(tree, 'pkg', 'naïve-файл.txt'), 'utf-8 name\n');
  mkdirSync(join(tree, 'pkg', ustarLong, '..'));
  writeFileSync(join(tree, 'pkg', ustarLong), 'split name\n');
  linkSync(join(tree, 'pkg', 'bin', 'tool'), join(tree, 'pkg', 'bin', 'tool-hardlink'));
  symlinkSync('tool', join(tree, 'pkg', 'bin', 'short-link'));
  symlinkSync(`${longDir}/${'n'.repeat(90)}.txt`, join(tree, 'pkg', 'long-target-link'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function gnuTar(format: string, members = ['pkg']): Buffer {
  const out = join(work, `${format}.tar`);
  const r = spawnSync('tar', ['--format', format, '--sort=name', '-cf', out, '-C', tree, ...members], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar --format ${format}: ${r.stderr}`);
  return readFileSync(out);
}

const pieces: Array<[string, number[]]> = [
  ['one chunk', [1 << 30]],
  ['1-byte chunks', [1]],
  ['chunks of 7, 511, 513 and 128 KiB', [7, 511, 513, 131072]],
];

describe('archives GNU tar writes', () => {
  for (const format of ['gnu', 'pax', 'ustar', 'oldgnu']) {
    it(`--format=${format}: every entry as tar-stream reads it, in any chunking; long names and link targets whole`, async () => {
      // ustar cannot store a link target over 100 bytes
      const members = format === 'ustar' ? ['pkg/bin', 'pkg/empty', 'pkg/exactly-512', 'pkg/big.bin', `pkg/${ustarLong}`, 'pkg/naïve-файл.txt'] : ['pkg'];
      const data = gnuTar(format, members);
      const reference = await byTarStream(data);
      for (const [, sizes] of pieces.slice(0, format === 'gnu' ? 3 : 1)) {
        expect(await readAll(inPieces(data, sizes), 4096)).toEqual(reference);
      }
      const names = reference.map((e) => e.name);
      expect(names).toContain(`pkg/${ustarLong}`);
      if (format !== 'ustar') expect(names).toContain(`pkg/${longDir}/${'n'.repeat(90)}.txt`);
      expect(reference.find((e) => e.name === 'pkg/big.bin')?.sha256).toBe(sha(readFileSync(join(tree, 'pkg', 'big.bin'))));
      expect(reference.find((e) => e.name === 'pkg/bin/tool')?.mode).toBe(0o755);
      expect(reference.find((e) => e.name === 'pkg/bin/tool-hardlink')).toMatchObject({ type: 'link', linkname: 'pkg/bin/tool' });
      if (format !== 'ustar') {
        expect(reference.find((e) => e.name === 'pkg/long-target-link')).toMatchObject({ type: 'symlink', linkname: `${longDir}/${'n'.repeat(90)}.txt` });
      }
    });
  }

  it('--format=v7 (no magic; tar-stream refuses it): directories known by their trailing slash', async () => {
    const data = gnuTar('v7', ['pkg/bin', 'pkg/empty']);
    const got = await readAll(inPieces(data, [1000]));
    expect(got.map((e) => [e.name, e.type])).toEqual([
      ['pkg/bin/', 'directory'],
      ['pkg/bin/short-link', 'symlink'],
      ['pkg/bin/tool', 'file'],
      ['pkg/bin/tool-hardlink', 'link'],
      ['pkg/empty', 'file'],
    ]);
    expect(got[2]!.sha256).toBe(sha(Buffer.from('#!/bin/sh\necho hi\n')));
  });
});

describe.skipIf(!haveCli('python3'))("archives Python's tarfile writes", () => {
  for (const format of ['PAX_FORMAT', 'GNU_FORMAT']) {
    it(`${format}, with a global pax header and a name only pax can hold`, async () => {
      const out = join(work, `${format}.tar`);
      const script = [
        'import sys, tarfile, io',
        `t = tarfile.open(sys.argv[1], "w", format=tarfile.${format}${format === 'PAX_FORMAT' ? ', pax_headers={"comment": "global"}' : ''})`,
        't.add(sys.argv[2], arcname="pkg")',
        'data = b"x" * 1000',
        'i = tarfile.TarInfo("pkg/" + "\\u00e9" * 120 + ".txt"); i.size = len(data); i.mtime = 1600000000.5',
        't.addfile(i, io.BytesIO(data))',
        't.close()',
      ].join('\n');
      const r = spawnSync('python3', ['-c', script, out, join(tree, 'pkg')], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const data = readFileSync(out);
      const got = await readAll(inPieces(data, [7, 511, 513, 131072]), 4096);
      const reference = await byTarStream(data);
      // tar-stream takes no mtime from pax records (tarfile writes the fractional ones there)
      const noTime = (xs: Seen[]) => xs.map(({ mtime: _, ...rest }) => rest);
      expect(noTime(got)).toEqual(noTime(reference));
      for (const [i, e] of got.entries()) expect(Math.abs(e.mtime! - reference[i]!.mtime!)).toBeLessThanOrEqual(1);
      expect(got.at(-1)).toMatchObject({ name: `pkg/${'é'.repeat(120)}.txt`, size: 1000, sha256: sha(Buffer.alloc(1000, 'x')), mtime: 1600000000 });
    });
  }
});

describe.skipIf(!haveFixtures || !haveCli('zstd'))('the 35 real defaults-2020 packages', () => {
  if (!haveFixtures) it.skip(fixturesSkipReason, () => {});
  it('every member reads as tar-stream reads it', async () => {
    const dir = fixture('packages', 'defaults-2020-linux-64');
    let entries = 0;
    for (const fn of readdirSync(dir).filter((f) => f.endsWith('.conda'))) {
      const zip = await ZipReader.open(join(dir, fn));
      const members = (await zip.members()).filter((m) => m.name.endsWith('.tar.zst'));
      expect(members).toHaveLength(2);
      for (const m of members) {
        const member = m.name;
        const parts: Uint8Array[] = [];
        for await (const c of await zip.open(m)) parts.push(c);
        const zst = Buffer.concat(parts);
        const r = spawnSync('zstd', ['-q', '-d', '-c'], { input: zst, maxBuffer: 1 << 30 });
        expect(r.status, `${fn} ${member}: ${r.stderr}`).toBe(0);
        const data = r.stdout;
        const got = await readAll(inPieces(data, [131072]), 1 << 20);
        expect(got, `${fn} ${member}`).toEqual(await byTarStream(data));
        entries += got.length;
      }
      zip.close();
    }
    expect(entries).toBeGreaterThan(5000);
  }, 120_000);
});

/** A header block written by hand (ustar), its checksum filled in. */
function header(fields: { name: string; size?: number; type?: string; mode?: number; sizeField?: Buffer; magic?: string }): Buffer {
  const b = Buffer.alloc(512);
  b.write(fields.name, 0, 'utf8');
  b.write(`${(fields.mode ?? 0o644).toString(8).padStart(7, '0')}\0`, 100, 'latin1');
  b.write('0000000\0', 108, 'latin1');
  b.write('0000000\0', 116, 'latin1');
  if (fields.sizeField) fields.sizeField.copy(b, 124);
  else b.write(`${(fields.size ?? 0).toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  b.write('13351604240\0', 136, 'latin1');
  b.write(fields.type ?? '0', 156, 'latin1');
  b.write(fields.magic ?? 'ustar\u000000', 257, 'latin1');
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : b[i]!;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}
const body = (content: Buffer) => Buffer.concat([content, Buffer.alloc((512 - (content.length % 512)) % 512)]);
const end = Buffer.alloc(1024);

async function errorOf(data: Buffer): Promise<unknown> {
  try {
    await readAll(inPieces(data, [100]));
  } catch (e) {
    return e;
  }
  throw new Error('read without an error');
}

describe('malformed and unusual data', () => {
  it('a GNU base-256 size is read; a negative one is refused', async () => {
    const size = Buffer.alloc(12);
    size[0] = 0x80;
    size.writeUInt32BE(5, 8);
    const data = Buffer.concat([header({ name: 'f', sizeField: size }), body(Buffer.from('hello')), end]);
    expect(await readAll(inPieces(data, [1 << 20]))).toMatchObject([{ name: 'f', size: 5, sha256: sha(Buffer.from('hello')) }]);
    size[0] = 0xff;
    const err = await errorOf(Buffer.concat([header({ name: 'f', sizeField: size }), end]));
    expect(err).toBeInstanceOf(TarFormatError);
    expect((err as Error).message).toMatch(/"size" is a negative number/);
  });

  it('a header with a wrong checksum is refused', async () => {
    const h = header({ name: 'f', size: 1 });
    h[0] = 'g'.charCodeAt(0);
    const err = await errorOf(Buffer.concat([h, body(Buffer.from('x')), end]));
    expect(err).toBeInstanceOf(TarFormatError);
    expect((err as Error).message).toMatch(/checksum does not match/);
  });

  it('a size that is not a number is refused', async () => {
    const err = await errorOf(Buffer.concat([header({ name: 'f', sizeField: Buffer.from('00000000z12\0') }), end]));
    expect((err as Error).message).toMatch(/"size" is not an octal number/);
  });

  it('data ending inside a header, a body or an extension header is truncated', async () => {
    const file = Buffer.concat([header({ name: 'f', size: 600 }), body(Buffer.alloc(600, 1))]);
    for (const cut of [100, 512 + 300, 512 + 1023]) {
      const err = await errorOf(file.subarray(0, cut));
      expect(err).toBeInstanceOf(TarFormatError);
      expect((err as Error).message).toMatch(/truncated/);
    }
    const pax = Buffer.from('30 path=a-name-set-by-pax.txt\n');
    const paxOnly = Buffer.concat([header({ name: 'PaxHeader', type: 'x', size: pax.length }), body(pax)]);
    expect((await errorOf(paxOnly)) as Error).toBeInstanceOf(TarFormatError);
    expect(await readAll(inPieces(Buffer.concat([paxOnly, header({ name: 'f' }), end]), [100]))).toMatchObject([{ name: 'a-name-set-by-pax.txt' }]);
  });

  it('data ending on a header boundary with no end blocks is a whole archive', async () => {
    const data = Buffer.concat([header({ name: 'f', size: 2 }), body(Buffer.from('hi'))]);
    expect(await readAll(inPieces(data, [512]))).toMatchObject([{ name: 'f', sha256: sha(Buffer.from('hi')) }]);
  });

  it('malformed pax records and oversized extension headers are refused', async () => {
    for (const rec of ['99 path=x\n', '5 path=x\n', 'abc path=x\n', '10 path=xy', '9 =value\n']) {
      const pax = Buffer.from(rec);
      const err = await errorOf(Buffer.concat([header({ name: 'P', type: 'x', size: pax.length }), body(pax), header({ name: 'f' }), end]));
      expect(err, rec).toBeInstanceOf(TarFormatError);
    }
    const err = await errorOf(Buffer.concat([header({ name: '././@LongLink', type: 'L', size: 2 << 20 }), end]));
    expect((err as Error).message).toMatch(/extension header of 2097152 bytes/);
  });

  it('a pax size overrides the header; a bad one is refused', async () => {
    const pax = Buffer.from('10 size=3\n');
    const data = Buffer.concat([header({ name: 'P', type: 'x', size: pax.length }), body(pax), header({ name: 'f', size: 0 }), body(Buffer.from('abc')), end]);
    expect(await readAll(inPieces(data, [512]))).toMatchObject([{ name: 'f', size: 3, sha256: sha(Buffer.from('abc')) }]);
    const bad = Buffer.from('11 size=-3\n');
    const err = await errorOf(Buffer.concat([header({ name: 'P', type: 'x', size: bad.length }), body(bad), header({ name: 'f' }), end]));
    expect((err as Error).message).toMatch(/bad size "-3"/);
  });

  it('a directory, a link or a device that claims data is refused: where the next header starts would be ours alone', async () => {
    const hidden = Buffer.concat([header({ name: 'hidden-file', size: 1 }), body(Buffer.from('h'))]);
    for (const type of ['5', '1', '2', '3', '6']) {
      const err = await errorOf(Buffer.concat([header({ name: 'd', type, size: hidden.length }), hidden, end]));
      expect(err, type).toBeInstanceOf(TarFormatError);
      expect((err as Error).message).toMatch(/claims 1024 bytes of data/);
    }
  });

  it('pax records of keywords we do not use are checked and dropped; a run of extension headers has a limit', async () => {
    const many = Buffer.from(Array.from({ length: 20_000 }, (_, i) => {
      const rec = ` SCHILY.k${i}=v\n`;
      return `${rec.length + String(rec.length + 2).length}${rec}`;
    }).join(''));
    const records = Buffer.concat([many, Buffer.from('21 path=from-pax.txt\n')]);
    const data = Buffer.concat([header({ name: 'P', type: 'g', size: records.length }), body(records), header({ name: 'f' }), end]);
    expect(await readAll(inPieces(data, [65536]))).toMatchObject([{ name: 'from-pax.txt' }]);
    const small = Buffer.from('12 uid=1000\n');
    const run = Array.from({ length: 65 }, () => Buffer.concat([header({ name: 'P', type: 'x', size: small.length }), body(small)]));
    const err = await errorOf(Buffer.concat([...run, header({ name: 'f' }), end]));
    expect((err as Error).message).toMatch(/more than 64 extension headers in a row/);
    expect(await readAll(inPieces(Buffer.concat([...run.slice(0, 64), header({ name: 'f' }), end]), [512]))).toMatchObject([{ name: 'f' }]);
  });

  it('other entry kinds come out with their type letter and their data skipped', async () => {
    const data = Buffer.concat([header({ name: 'sparse', type: 'S', size: 10 }), body(Buffer.alloc(10)), header({ name: 'fifo', type: '6' }), header({ name: 'after', size: 1 }), body(Buffer.from('z')), end]);
    expect((await readAll(inPieces(data, [100]))).map((e) => [e.name, e.type])).toEqual([
      ['sparse', 'type "S"'],
      ['fifo', 'fifo'],
      ['after', 'file'],
    ]);
  });

  it('what follows the end block is read to the end and not parsed', async () => {
    let pulled = 0;
    const data = Buffer.concat([header({ name: 'f', size: 1 }), body(Buffer.from('1')), end, Buffer.from('not a header at all'.repeat(100))]);
    async function* counting(): AsyncGenerator<Uint8Array> {
      for await (const c of inPieces(data, [512])) {
        pulled += c.length;
        yield c;
      }
    }
    expect((await readAll(counting())).map((e) => e.name)).toEqual(['f']);
    expect(pulled).toBe(data.length);
  });

  it('a body read in part is skipped to the next entry; a consumer that stops closes the source', async () => {
    const big = Buffer.alloc(10_000, 3);
    const data = Buffer.concat([header({ name: 'big', size: big.length }), body(big), header({ name: 'next', size: 1 }), body(Buffer.from('n')), end]);
    const names: string[] = [];
    for await (const e of readTar(inPieces(data, [700]), { wholeUpTo: 1000 })) {
      names.push(e.header.name);
      if (!Buffer.isBuffer(e.body)) for await (const _ of e.body) break;
      else expect(e.body.toString()).toBe('n');
    }
    expect(names).toEqual(['big', 'next']);

    let closed = false;
    async function* source(): AsyncGenerator<Uint8Array> {
      try {
        yield* inPieces(data, [700]);
      } finally {
        closed = true;
      }
    }
    for await (const _ of readTar(source())) break;
    expect(closed).toBe(true);
  });

  it('an archive tar-stream packs (the test builders) reads the same', async () => {
    const data = await buildTar([
      { name: 'dir', type: 'directory' },
      { name: 'dir/file', content: 'content', mode: 0o600 },
      { name: 'dir/link', type: 'symlink', linkname: 'file' },
      { name: `${'x'.repeat(150)}/${'y'.repeat(80)}`, content: 'long' },
    ]);
    expect(await readAll(inPieces(data, [333]))).toEqual(await byTarStream(data));
  });
});
