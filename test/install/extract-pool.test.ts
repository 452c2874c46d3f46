/**
 * Extraction on worker threads (src/install/extract/pool.ts): the same trees, results and errors as
 * an in-process extractPackage(), jobs that fail cleanly when the pool is stopped, and an idle pool
 * that holds neither the event loop nor an exit cleanup.
 */
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pendingExitCleanups } from '../../src/cleanup.js';
import { diskFullError, InstallError, UnsafeArchiveError } from '../../src/errors.js';
import { extractPackage } from '../../src/install/extract/index.js';
import { deserializeError, ExtractPool, extractPool, extractWorkerCount, serializeError } from '../../src/install/extract/pool.js';
import { readModes, writeModes } from '../../src/install/extract-modes.js';
import { haveCli, listDir, snapshotTree, writeConda, writeTarBz2, type TarEntrySpec } from '../support/archives.js';

let tmp: string;
let n = 0;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'cgl-extract-pool-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function caseDir(): Promise<{ archives: string; out: string }> {
  const root = join(tmp, `case-${++n}`);
  await mkdir(join(root, 'archives'), { recursive: true });
  await mkdir(join(root, 'out'));
  return { archives: join(root, 'archives'), out: join(root, 'out') };
}

/** ~1 MiB of poorly compressible bytes: the pkg member is then big enough for the direct stored-member read. */
function noise(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let s = seed >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    b[i] = s >>> 24;
  }
  return b;
}

const entries: TarEntrySpec[] = [
  { name: 'info/index.json', content: '{"name":"p","version":"1","build":"0"}' },
  { name: 'bin/tool', content: '#!/bin/sh\necho hi\n', mode: 0o755 },
  { name: 'share/p/data.bin', content: noise(1 << 20, 7) },
  { name: 'share/p/group-writable.txt', content: 'g\n', mode: 0o664 },
  { name: 'share/p/link', type: 'symlink', linkname: 'data.bin' },
  { name: 'lib/libp.so.1', content: 'ELF-ish\n', mode: 0o755 },
  { name: 'lib/libp.so', type: 'link', linkname: 'lib/libp.so.1' },
];

const tools = haveCli('zstd') && haveCli('bzip2');

describe.skipIf(!tools)('extraction on worker threads', () => {
  it('gives the tree, statistics, digests and modes an in-process extraction gives (.conda and .tar.bz2)', async () => {
    expect(extractWorkerCount({ CONDA_GO_LOCK_EXTRACT_WORKERS: '2' })).toBe(2);
    const pool = new ExtractPool(2);
    try {
      for (const ext of ['.conda', '.tar.bz2']) {
        const c = await caseDir();
        const archive = join(c.archives, `p-1-0${ext}`);
        if (ext === '.conda') await writeConda(archive, { stem: 'p-1-0', info: entries.slice(0, 1), pkg: entries.slice(1) });
        else await writeTarBz2(archive, entries);
        const here = await extractPackage(archive, join(c.out, 'here'));
        const there = await pool.run(archive, join(c.out, 'there'));
        expect(await snapshotTree(join(c.out, 'there'))).toEqual(await snapshotTree(join(c.out, 'here')));
        const { digests: dh, modes: mh, ...restHere } = here;
        const { digests: dt, modes: mt, ...restThere } = there;
        expect({ ...restThere, destDir: '' }).toEqual({ ...restHere, destDir: '' });
        expect(dt).toBeInstanceOf(Map);
        expect([...dt!].sort()).toEqual([...dh!].sort());
        expect(mt!.get('share/p/group-writable.txt')).toBe(0o664);
        expect(mt!.get('lib/libp.so')).toBe(0o755);
        // The mode record written from the worker's report equals the one read back from the tree.
        await writeModes(join(c.out, 'there'), mt);
        await writeModes(join(c.out, 'here'));
        expect(await readModes(join(c.out, 'there'))).toEqual(await readModes(join(c.out, 'here')));
        expect((await readModes(join(c.out, 'there')))!.get('bin/tool')).toBe(0o755);
      }
    } finally {
      await pool.close();
    }
  });

  it('a hostile or missing archive fails on the worker with the class, code and message of an in-process extraction', async () => {
    const pool = new ExtractPool(1);
    try {
      const c = await caseDir();
      const hostile = join(c.archives, 'h-1-0.conda');
      await writeConda(hostile, { stem: 'h-1-0', info: entries.slice(0, 1), pkg: [{ name: '../escape', content: 'x' }] });
      const here = await extractPackage(hostile, join(c.out, 'here')).catch((e: unknown) => e);
      const there = await pool.run(hostile, join(c.out, 'there')).catch((e: unknown) => e);
      expect(here).toBeInstanceOf(UnsafeArchiveError);
      expect(there).toBeInstanceOf(UnsafeArchiveError);
      expect((there as Error).message).toBe((here as Error).message);
      expect((there as UnsafeArchiveError).code).toBe('E_UNSAFE_ARCHIVE');

      const missing = join(c.archives, 'gone-1-0.conda');
      const m = await pool.run(missing, join(c.out, 'gone')).catch((e: unknown) => e);
      expect(m).toBeInstanceOf(InstallError);
      expect((m as InstallError).code).toBe('E_EXTRACT_IO');
      expect((m as Error).message).toContain(missing);
      expect(await listDir(c.out)).toEqual([]);
    } finally {
      await pool.close();
    }
  });

  it('stopping the pool fails the running and the queued job with E_EXTRACT_IO; the next pool works', async () => {
    const c = await caseDir();
    const big = join(c.archives, 'big-1-0.conda');
    await writeConda(big, {
      stem: 'big-1-0',
      info: entries.slice(0, 1),
      pkg: Array.from({ length: 400 }, (_, i) => ({ name: `share/f${i}.bin`, content: noise(32 * 1024, i) })),
    });
    const pool = new ExtractPool(1);
    const running = pool.run(big, join(c.out, 'a')).catch((e: unknown) => e);
    const queued = pool.run(big, join(c.out, 'b')).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    await pool.close();
    for (const e of [await running, await queued]) {
      expect(e).toBeInstanceOf(InstallError);
      expect((e as InstallError).code).toBe('E_EXTRACT_IO');
    }
    expect(pool.isClosed).toBe(true);
    const after = await pool.run(big, join(c.out, 'c')).catch((e: unknown) => e);
    expect((after as InstallError).code).toBe('E_EXTRACT_IO');

    const shared = extractPool();
    if (extractWorkerCount() === 0) return; // a one-core machine extracts in-process
    const r = await shared!.run(big, join(c.out, 'd'));
    expect(r.files).toBe(401);
    expect((await stat(join(c.out, 'd', 'share', 'f399.bin'))).size).toBe(32 * 1024);
    // idle again: no exit cleanup stays registered for it
    expect(pendingExitCleanups()).toBe(0);
  });
});

describe('errors across the thread boundary', () => {
  it('keep class, code and the errno cause (a full disk stays a disk-full error)', () => {
    const enospc = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: 'ENOSPC', errno: -28, syscall: 'write', path: '/x/y' });
    const err = new InstallError('x.conda: cannot write entry "a": ENOSPC', { code: 'E_EXTRACT_IO', cause: enospc });
    const back = deserializeError(structuredClone(serializeError(err)));
    expect(back).toBeInstanceOf(InstallError);
    expect((back as InstallError).code).toBe('E_EXTRACT_IO');
    expect(back.message).toBe(err.message);
    const cause = back.cause as NodeJS.ErrnoException;
    expect(cause).toMatchObject({ code: 'ENOSPC', errno: -28, syscall: 'write', path: '/x/y', message: enospc.message });
    expect(diskFullError(back, 'nothing changed')).toBeInstanceOf(InstallError);
    expect(diskFullError(deserializeError(serializeError(new InstallError('other'))), 'x')).toBeUndefined();
  });

  it('a worker count is read from CONDA_GO_LOCK_EXTRACT_WORKERS (0 = in-process)', () => {
    expect(extractWorkerCount({ CONDA_GO_LOCK_EXTRACT_WORKERS: '0' })).toBe(0);
    expect(extractWorkerCount({ CONDA_GO_LOCK_EXTRACT_WORKERS: '3' })).toBe(3);
    expect(extractWorkerCount({ CONDA_GO_LOCK_EXTRACT_WORKERS: 'lots' })).toBe(extractWorkerCount({}));
  });
});
