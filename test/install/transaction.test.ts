import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InstallError } from '../../src/errors.js';
import { formatHistoryEntry, packageSetHash, pythonListRepr, requestedSpecFor, specName } from '../../src/install/conda-meta.js';
import { prefixUpToDate } from '../../src/install/install.js';
import { installOrder } from '../../src/install/order.js';
import {
  acquirePrefixLock,
  assertReplaceablePrefix,
  createStaging,
  lockFilePath,
  recoverInterrupted,
  swapIntoPlace,
  withPrefixLock,
} from '../../src/install/transaction.js';
import type { LockedCondaPackage } from '../../src/lockfile/model.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cgl-tx-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
let n = 0;
const prefixPath = () => join(root, `p${n++}`, 'env');

function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

describe('prefix lock', () => {
  it('is exclusive while held, holds the pid, and is removed on release', async () => {
    const prefix = prefixPath();
    const lock = await acquirePrefixLock(prefix);
    expect(await readFile(lockFilePath(prefix), 'utf8')).toBe(`${process.pid}\n`);
    const err = await acquirePrefixLock(prefix).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InstallError);
    expect((err as InstallError).code).toBe('E_PREFIX_LOCKED');
    expect((err as Error).message).toContain(lockFilePath(prefix));
    await lock.release();
    await lock.release(); // idempotent
    await expect(stat(lockFilePath(prefix))).rejects.toThrow();
    const again = await acquirePrefixLock(prefix);
    await again.release();
  });

  it.each([
    ['a dead pid', () => `${deadPid()}\n`],
    ['garbage', () => 'not-a-pid\n'],
  ])('a lock file holding %s is stale and taken over', async (_name, content) => {
    const prefix = prefixPath();
    await mkdir(join(prefix, '..'), { recursive: true });
    await writeFile(lockFilePath(prefix), content());
    const lock = await acquirePrefixLock(prefix);
    expect(await readFile(lockFilePath(prefix), 'utf8')).toBe(`${process.pid}\n`);
    await lock.release();
  });

  it('withPrefixLock releases the lock when the work throws', async () => {
    const prefix = prefixPath();
    await expect(withPrefixLock(prefix, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(stat(lockFilePath(prefix))).rejects.toThrow();
  });
});

describe('staging and swap', () => {
  it('swaps a staging dir into place, replacing the old prefix, leaving no siblings', async () => {
    const prefix = prefixPath();
    await mkdir(join(prefix, 'conda-meta'), { recursive: true });
    await writeFile(join(prefix, 'old.txt'), 'old');
    const staging = await createStaging(prefix);
    expect(staging.startsWith(`${prefix}.cgl-staging-`)).toBe(true);
    await writeFile(join(staging, 'new.txt'), 'new');
    await swapIntoPlace(staging, prefix);
    expect(await readdir(prefix)).toEqual(['new.txt']);
    expect(await readdir(join(prefix, '..'))).toEqual(['env']);
  });

  it('when the staging dir cannot be moved, the old prefix is restored', async () => {
    const prefix = prefixPath();
    await mkdir(prefix, { recursive: true });
    await writeFile(join(prefix, 'old.txt'), 'old');
    const err = await swapIntoPlace(join(root, 'does-not-exist'), prefix).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InstallError);
    expect(await readFile(join(prefix, 'old.txt'), 'utf8')).toBe('old');
    expect(await readdir(join(prefix, '..'))).toEqual(['env']);
  });

  it.each([
    ['absent', async (_p: string) => {}, 'absent'],
    ['empty', async (p: string) => mkdir(p, { recursive: true }), 'empty'],
    ['an environment conda-go-lock made', async (p: string) => {
      await mkdir(join(p, 'conda-meta'), { recursive: true });
      await writeFile(join(p, 'conda-meta', 'conda-go-lock'), '{}');
    }, 'environment'],
  ] as const)('assertReplaceablePrefix: %s prefix is accepted', async (_n, setup, expected) => {
    const p = prefixPath();
    await setup(p);
    expect(await assertReplaceablePrefix(p)).toBe(expected);
  });

  it.each([
    ['a non-empty directory without conda-meta', async (p: string) => {
      await mkdir(p, { recursive: true });
      await writeFile(join(p, 'x'), '');
    }],
    ['a regular file', async (p: string) => {
      await mkdir(join(p, '..'), { recursive: true });
      await writeFile(p, '');
    }],
  ])('assertReplaceablePrefix refuses %s', async (_n, setup) => {
    const p = prefixPath();
    await setup(p);
    await expect(assertReplaceablePrefix(p)).rejects.toMatchObject({ code: 'E_PREFIX_NOT_ENV' });
  });
});

const pkg = (name: string, depends: string[] = [], sha = name): LockedCondaPackage => ({
  platform: 'linux-64', name, version: '1.0', build: '0', build_number: 0, subdir: 'linux-64', channel: 'https://conda.anaconda.org/conda-forge',
  url: '', fn: `${name}-1.0-0.conda`, md5: '', sha256: sha.padEnd(64, '0'), size: 1, depends, constrains: [],
});

describe('install order, up-to-date check, history', () => {
  it('orders dependencies first, ties by name, cycles broken deterministically', () => {
    const order = installOrder([
      pkg('flask', ['python >=3.8', 'click']),
      pkg('click', ['python']),
      pkg('python', ['libzlib >=1.2', 'openssl 3.*']),
      pkg('openssl', ['ca-certificates']),
      pkg('libzlib', []),
      pkg('ca-certificates', []),
      pkg('cyc-a', ['cyc-b']),
      pkg('cyc-b', ['cyc-a']),
    ]).map((p) => p.name);
    expect(order).toEqual(['ca-certificates', 'libzlib', 'openssl', 'python', 'click', 'flask', 'cyc-a', 'cyc-b']);
  });

  it('prefixUpToDate needs the same set, the same Go pin and the same mode', () => {
    const pkgs = [pkg('a'), pkg('b')];
    const records = pkgs.map((p) => ({ ...p, channel: `${p.channel}/linux-64` })) as never[];
    const state = {
      tool: 'conda-go-lock' as const,
      state_version: 1 as const,
      platform: 'linux-64',
      content_hash: null,
      packages_hash: packageSetHash(pkgs),
      only_go: false,
      go: null,
    };
    const base = { state, records, packages: pkgs, go: undefined, platform: 'linux-64', onlyGo: false };
    expect(prefixUpToDate(base)).toBe(true);
    expect(prefixUpToDate({ ...base, state: undefined })).toBe(false);
    expect(prefixUpToDate({ ...base, packages: [pkg('a'), pkg('b', [], 'other')] })).toBe(false);
    expect(prefixUpToDate({ ...base, records: records.slice(0, 1) })).toBe(false);
    expect(prefixUpToDate({ ...base, onlyGo: true })).toBe(false);
    expect(prefixUpToDate({ ...base, platform: 'osx-64' })).toBe(false);
    const g = { platform: 'linux-64', version: '1.22.5', os: 'linux', arch: 'amd64', filename: 'f', url: 'u', sha256: 'ab', size: 1 };
    expect(prefixUpToDate({ ...base, go: g })).toBe(false);
    expect(prefixUpToDate({ ...base, go: g, state: { ...state, go: g } })).toBe(true);
    expect(prefixUpToDate({ ...base, go: { ...g, version: '1.22.6' }, state: { ...state, go: g } })).toBe(false);
  });

  it('history entries and requested specs', () => {
    const text = formatHistoryEntry({
      date: new Date(Date.UTC(2026, 10, 25, 9, 5, 7)),
      command: 'conda-go-lock install -p /e',
      added: [pkg('zlib'), { ...pkg('abc'), channel: 'https://example.org/chan' }],
      removed: [{ ...pkg('old'), channel: 'https://conda.anaconda.org/conda-forge/linux-64' }],
    });
    expect(text).toBe(
      [
        '==> 2026-11-25 09:05:07 <==',
        '# cmd: conda-go-lock install -p /e',
        '-conda-forge::old-1.0-0',
        '+https://example.org/chan::abc-1.0-0',
        '+conda-forge::zlib-1.0-0',
        '',
      ].join('\n'),
    );
    const withSpecs = formatHistoryEntry({
      date: new Date(Date.UTC(2026, 10, 25, 9, 5, 7)),
      command: 'c',
      added: [pkg('zlib')],
      removed: [],
      updateSpecs: ['zlib 1.2.*', "odd'name\\x"],
      removeSpecs: ['old'],
    });
    expect(withSpecs.split('\n').slice(3)).toEqual(["# remove specs: ['old']", "# update specs: ['zlib 1.2.*', 'odd\\'name\\\\x']", '']);
    expect(pythonListRepr([])).toBe('[]');
    expect(specName('conda-forge::numpy >=1.2')).toBe('numpy');
    expect(specName('python=3.11')).toBe('python');
    expect(specName('libblas[build=*mkl]')).toBe('libblas');
    expect(requestedSpecFor('numpy', ['python 3.11.*', 'numpy >=1.26'])).toBe('numpy >=1.26');
    expect(requestedSpecFor('zlib', ['python 3.11.*'])).toBe('');
  });
});

describe('recovery after an interrupted install', () => {
  it('removes staging dirs and restores a prefix left aside mid-swap', async () => {
    const prefix = prefixPath();
    await mkdir(`${prefix}.cgl-old-1234abcd/conda-meta`, { recursive: true });
    await writeFile(`${prefix}.cgl-old-1234abcd/keep.txt`, 'old env');
    await mkdir(`${prefix}.cgl-staging-deadbeef/lib`, { recursive: true });
    await mkdir(`${prefix}-other.cgl-staging-00000000`, { recursive: true }); // another prefix's: untouched
    const done = await recoverInterrupted(prefix);
    expect(done).toEqual([`restored ${prefix} from env.cgl-old-1234abcd`, 'removed env.cgl-staging-deadbeef']);
    expect(await readFile(join(prefix, 'keep.txt'), 'utf8')).toBe('old env');
    expect((await readdir(join(prefix, '..'))).sort()).toEqual(['env', 'env-other.cgl-staging-00000000']);
  });

  it('deletes an old prefix left aside when the new one is already in place', async () => {
    const prefix = prefixPath();
    await mkdir(prefix, { recursive: true });
    await writeFile(join(prefix, 'new.txt'), 'new');
    await mkdir(`${prefix}.cgl-old-aaaa0000`, { recursive: true });
    expect(await recoverInterrupted(prefix)).toEqual(['removed env.cgl-old-aaaa0000']);
    expect(await readdir(join(prefix, '..'))).toEqual(['env']);
    expect(await readFile(join(prefix, 'new.txt'), 'utf8')).toBe('new');
  });
});

describe('prefix lock: stale takeover', () => {
  it('a lock file naming our own pid that this process does not hold is stale (pid reused after a restart)', async () => {
    const prefix = prefixPath();
    await mkdir(join(prefix, '..'), { recursive: true });
    await writeFile(lockFilePath(prefix), `${process.pid}\n`);
    const lock = await acquirePrefixLock(prefix);
    expect(await readFile(lockFilePath(prefix), 'utf8')).toBe(`${process.pid}\n`);
    // ...while a lock this process does hold still excludes a second taker.
    const err = await acquirePrefixLock(prefix).catch((e: unknown) => e);
    expect((err as InstallError).code).toBe('E_PREFIX_LOCKED');
    await lock.release();
  });

  it('many takers racing for one stale lock: exactly one gets it', async () => {
    for (let round = 0; round < 15; round++) {
      const prefix = prefixPath();
      await mkdir(join(prefix, '..'), { recursive: true });
      await writeFile(lockFilePath(prefix), `${deadPid()}\n`);
      const settled = await Promise.allSettled(Array.from({ length: 6 }, () => acquirePrefixLock(prefix)));
      const won = settled.filter((r): r is PromiseFulfilledResult<Awaited<ReturnType<typeof acquirePrefixLock>>> => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of settled) {
        if (r.status === 'rejected') expect((r.reason as InstallError).code).toBe('E_PREFIX_LOCKED');
      }
      await won[0]!.value.release();
      expect(await readdir(join(prefix, '..'))).toEqual([]);
    }
  });
});

