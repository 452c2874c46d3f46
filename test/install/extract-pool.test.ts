/**
 * Extraction on worker threads (src/install/extract/pool.ts): the same trees, results and errors as
 * an in-process extractPackage(), jobs that fail cleanly when the pool is stopped, and an idle pool
 * that holds neither the event loop nor an exit cleanup.
 */
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pendingExitCleanups, runExitCleanups } from '../../src/cleanup.js';
import { diskFullError, InstallError, UnsafeArchiveError } from '../../src/errors.js';
import { extractPackage } from '../../src/install/extract/index.js';
import { ExtractPool, extractPool, extractWorkerCount, newExtractWorker, prestartForColdCache } from '../../src/install/extract/pool.js';
import { deserializeError, serializeError } from '../../src/worker-entry.js';
import { extractCached } from '../../src/install/download.js';
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
  // one byte over the buffered limit: streamed to disk (the other path of SafeWriter.file)
  { name: 'share/p/data.bin', content: noise((1 << 20) + 1, 7), mode: 0o640 },
  { name: 'share/p/group-writable.txt', content: 'g\n', mode: 0o664 },
  { name: 'share/p/link', type: 'symlink', linkname: 'data.bin' },
  { name: 'lib/libp.so.1', content: 'ELF-ish\n', mode: 0o755 },
  { name: 'lib/libp.so', type: 'link', linkname: 'lib/libp.so.1' },
];

const tools = haveCli('zstd') && haveCli('bzip2');

/** A .conda at `archive` of `count` files of `size` noise bytes below share/d<0..29>/ (slow enough to interrupt). */
async function manyFiles(archive: string, count: number, size: number): Promise<string> {
  await writeConda(archive, {
    stem: basename(archive, '.conda'),
    info: entries.slice(0, 1),
    pkg: Array.from({ length: count }, (_, i) => ({ name: `share/d${i % 30}/f${i}.bin`, content: noise(size, i) })),
  });
  return archive;
}

/**
 * Run `body` (ESM, with `ExtractPool` imported) in a process of its own: its output, and its exit
 * code, or null when it was still running after 30 s (a pool that kept it alive).
 */
async function poolScript(body: string): Promise<{ out: string; code: number | null }> {
  const pool = pathToFileURL(join(process.cwd(), 'src/install/extract/pool.ts')).href;
  const script = `const { ExtractPool } = await import(${JSON.stringify(pool)}); ${body}`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => child.kill(), 30_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  return { out, code };
}

/** Wait until an extraction below `dir` is writing: its staging directory (`.….extracting-*`) holds share/. */
async function untilWriting(dir: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const s = (await listDir(dir)).find((n) => n.includes('.extracting-'));
    if (s && (await listDir(join(dir, s))).includes('share')) return;
    if (Date.now() > deadline) throw new Error('the worker never started writing');
    await new Promise((r) => setTimeout(r, 5));
  }
}

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
        const { digests: dh, modes: mh, sizes: sh, ...restHere } = here;
        const { digests: dt, modes: mt, sizes: st, ...restThere } = there;
        expect([...st!].sort()).toEqual([...sh!].sort());
        expect({ ...restThere, destDir: '' }).toEqual({ ...restHere, destDir: '' });
        expect(dt).toBeInstanceOf(Map);
        expect([...dt!].sort()).toEqual([...dh!].sort());
        expect(mt!.get('share/p/group-writable.txt')).toBe(0o664);
        expect(mt!.get('share/p/data.bin')).toBe(0o640);
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

  it('a job stopped in the middle of its extraction fails with E_EXTRACT_IO and nothing is written after', async () => {
    const c = await caseDir();
    const big = await manyFiles(join(c.archives, 'big-1-0.conda'), 3000, 16 * 1024);
    const pool = new ExtractPool(1);
    const job = pool.run(big, join(c.out, 'a')).catch((e: unknown) => e);
    const staging = async () => (await listDir(c.out)).find((n) => n.includes('.extracting-'));
    await untilWriting(c.out);
    await pool.close();
    const e = await job;
    expect(e).toBeInstanceOf(InstallError);
    expect((e as InstallError).code).toBe('E_EXTRACT_IO');
    const s = (await staging())!;
    const count = async () => Object.keys(await snapshotTree(join(c.out, s))).length;
    const before = await count();
    expect(before).toBeLessThan(3000);
    await new Promise((r) => setTimeout(r, 200));
    expect(await count()).toBe(before);
    expect(await listDir(c.out)).not.toContain('a');
  });

  it('workers that cannot start (or whose module fails to load) fall back to extracting in-process', async () => {
    const c = await caseDir();
    const archive = join(c.archives, 'p-1-0.conda');
    await writeConda(archive, { stem: 'p-1-0', info: entries.slice(0, 1), pkg: entries.slice(1) });
    const here = await extractPackage(archive, join(c.out, 'here'));
    for (const [label, make] of [
      ['constructor throws', () => { throw new Error('worker threads are not available'); }],
      ['module fails to load', () => new Worker('throw new Error("cannot load the extractor")', { eval: true })],
    ] as const) {
      const pool = new ExtractPool(2, make as () => Worker);
      try {
        const dest = join(c.out, label.replace(/ /g, '-'));
        const [r1, r2] = await Promise.all([pool.run(archive, dest), pool.run(archive, `${dest}-2`)]);
        expect(pool.inProcess, label).toBe(true);
        for (const [r, d] of [[r1, dest], [r2, `${dest}-2`]] as const) {
          expect(r.files).toBe(here.files);
          expect(await snapshotTree(d)).toEqual(await snapshotTree(join(c.out, 'here')));
        }
      } finally {
        await pool.close();
      }
    }
    expect(pendingExitCleanups()).toBe(0);
  });

  it('an idle pool does not keep the process alive: a process that extracted once and does nothing more exits', async () => {
    const c = await caseDir();
    const archive = join(c.archives, 'p-1-0.conda');
    await writeConda(archive, { stem: 'p-1-0', info: entries.slice(0, 1), pkg: entries.slice(1) });
    const { out, code } = await poolScript(`const r = await new ExtractPool(2).run(${JSON.stringify(archive)}, ${JSON.stringify(join(c.out, 'x'))}); console.log('files', r.files);`);
    expect(out).toContain(`files ${entries.filter((e) => e.type !== 'symlink').length}`);
    expect(code).toBe(0);
  });

  it('prestart starts the workers before any job, never more than the pool size; they take the jobs and, idle, keep no process alive', async () => {
    const c = await caseDir();
    const archive = join(c.archives, 'p-1-0.conda');
    await writeConda(archive, { stem: 'p-1-0', info: entries.slice(0, 1), pkg: entries.slice(1) });
    const made: Worker[] = [];
    const pool = new ExtractPool(2, () => {
      const w = newExtractWorker();
      made.push(w);
      return w;
    });
    try {
      pool.prestart(5);
      expect(made).toHaveLength(2);
      const results = await Promise.all([1, 2, 3].map((i) => pool.run(archive, join(c.out, `x${i}`))));
      expect(results.map((r) => r.files)).toEqual([1, 2, 3].map(() => entries.filter((e) => e.type !== 'symlink').length));
      expect(made).toHaveLength(2);
      expect(pool.inProcess).toBe(false);
    } finally {
      await pool.close();
    }
    const { out, code } = await poolScript(`new ExtractPool(2).prestart(); await new Promise((r) => setTimeout(r, 300)); console.log('waited');`);
    expect(out).toContain('waited');
    expect(code).toBe(0);
  });

  it('an install starts a worker at once only for a package cache that holds no extraction', async () => {
    if (extractWorkerCount() === 0) return; // a one-core machine extracts in-process
    const c = await caseDir();
    const shared = extractPool()!;
    await shared.close();
    const slots = () => (extractPool() as unknown as { slots: unknown[] }).slots.length;
    await mkdir(join(c.out, 'warm', 'extracted'), { recursive: true });
    await prestartForColdCache(join(c.out, 'warm'));
    expect(slots()).toBe(0);
    await prestartForColdCache(join(c.out, 'cold'));
    expect(slots()).toBe(1);
    await extractPool()!.close();
  });

  it('stopping the pool fails the running and the queued job with E_EXTRACT_IO; the next pool works', async () => {
    const c = await caseDir();
    const big = await manyFiles(join(c.archives, 'big-1-0.conda'), 400, 32 * 1024);
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
    expect((await stat(join(c.out, 'd', 'share', 'd9', 'f399.bin'))).size).toBe(32 * 1024);
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

describe.skipIf(!tools)('the modes the extractor reports', () => {
  it('follow a replaced entry and a hard link, and match the disk under a umask set after loading', async () => {
    const c = await caseDir();
    const archive = join(c.archives, 'm-1-0.tar.bz2');
    await writeTarBz2(archive, [
      { name: 'info/index.json', content: '{}' },
      { name: 'bin/a', content: 'first\n', mode: 0o644 },
      { name: 'bin/a', content: 'second\n', mode: 0o755 },
      { name: 'bin/b', type: 'link', linkname: 'bin/a' },
      { name: 'share/c', content: 'c\n', mode: 0o644 },
    ]);
    const old = process.umask(0o077);
    try {
      const r = await extractPackage(archive, join(c.out, 'x'));
      expect(r.modes!.get('bin/a')).toBe(0o755);
      expect(r.modes!.get('bin/b')).toBe(0o755);
      expect(r.modes!.get('share/c')).toBe(0o644);
      for (const [p, m] of r.modes!) expect((await stat(join(c.out, 'x', p))).mode & 0o7777, p).toBe(m);
    } finally {
      process.umask(old);
    }
  });
});

// Last in this file: runExitCleanups() runs once per process.
describe.skipIf(!tools)('an interrupt during a cached extraction on a worker', () => {
  it('stops the worker, then removes the temporary tree and the staging directory', async () => {
    if (extractWorkerCount() === 0) return; // one core: extraction is in-process
    const cache = join(tmp, 'interrupt-cache');
    const archive = await manyFiles(join(tmp, 'interrupt-1-0.conda'), 3000, 16 * 1024);
    const pool = extractPool()!;
    const job = extractCached((a, d) => pool.run(a, d), archive, 'k'.repeat(64), cache).catch((e: unknown) => e);
    const extracted = join(cache, 'extracted');
    await untilWriting(extracted);
    await runExitCleanups();
    expect(await job).toBeInstanceOf(InstallError);
    expect(await listDir(extracted)).toEqual([]);
    expect(pendingExitCleanups()).toBe(0);
  });
});
