/** solveInWorkers: the same answers and the same error classes as `solve`, with platforms in parallel threads. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MatchSpec } from '../../src/conda/matchspec.js';
import type { RepoDataRecord } from '../../src/conda/record.js';
import { defaultVirtualPackages } from '../../src/conda/virtual-packages.js';
import { PackageNotFoundError, UnsatisfiableError } from '../../src/errors.js';
import { parseRepoData } from '../../src/repodata/parse.js';
import { solve, type SolveOptions } from '../../src/solver/index.js';
import { solveInWorkers } from '../../src/solver/parallel.js';
import type { Platform } from '../../src/conda/platform.js';
import { fixture, fixturesSkipReason, haveFixtures } from '../support/fixtures.js';

const CF = 'https://conda.anaconda.org/conda-forge';
const SUB = 'conda-forge-subchannel-py39-2024-05';

function records(subdir: string): RepoDataRecord[] {
  const read = (s: string) => parseRepoData(readFileSync(fixture('repodata', SUB, s, 'repodata.json'), 'utf8'), { channel: CF, subdir: s });
  return [...read(subdir), ...read('noarch')];
}

function request(platform: Platform, specs: string[]): SolveOptions {
  return {
    specs: specs.map((s) => MatchSpec.parse(s)),
    records: records(platform),
    virtualPackages: defaultVirtualPackages(platform),
    channels: [CF],
    platform,
  };
}

const key = (rs: RepoDataRecord[]) => rs.map((r) => `${r.name}-${r.version}-${r.build}`);

describe.skipIf(!haveFixtures)(`solveInWorkers (${haveFixtures ? 'fixtures present' : fixturesSkipReason})`, () => {
  const platforms: Platform[] = ['linux-64', 'linux-aarch64', 'osx-64', 'osx-arm64', 'win-64'];

  it('gives the in-process result for every platform, in request order', async () => {
    const reqs = platforms.map((p) => request(p, ['python 3.9.*', 'pip']));
    const parallel = await solveInWorkers(reqs, { maxWorkers: 2 });
    expect(parallel).toHaveLength(platforms.length);
    for (const [i, req] of reqs.entries()) {
      const local = solve(req);
      expect(key(parallel[i]!.records), platforms[i]).toEqual(key(local.records));
      expect(parallel[i]!.records.every((r) => r.subdir === platforms[i] || r.subdir === 'noarch')).toBe(true);
    }
  });

  it('passes locked records through (an update keeps the old python)', async () => {
    const base = request('linux-64', ['python >=3.9,<3.9.5']);
    const old = solve(base).records;
    const widened = { ...request('linux-64', ['python 3.9.*']), locked: old };
    const [res] = await solveInWorkers([widened], { maxWorkers: 1 });
    expect(res!.records.find((r) => r.name === 'python')!.version).toBe(old.find((r) => r.name === 'python')!.version);
  });

  it('rethrows an unsatisfiable solve as UnsatisfiableError with the explanation', async () => {
    const reqs = [request('linux-64', ['python 3.9.*']), request('osx-64', ['python 3.9.*', 'openssl 1.0.*'])];
    const err = await solveInWorkers(reqs, { maxWorkers: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsatisfiableError);
    let local: unknown;
    try {
      solve(reqs[1]!);
    } catch (e) {
      local = e;
    }
    expect((err as Error).message).toBe((local as Error).message);
  });

  it('rethrows a missing package as PackageNotFoundError', async () => {
    const err = await solveInWorkers([request('win-64', ['python 3.9.*', 'libgcc-ng'])], { maxWorkers: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PackageNotFoundError);
    expect((err as Error).message).toContain('libgcc-ng');
  });

  it('maxWorkers 0 solves in-process with the same result', async () => {
    const req = request('osx-arm64', ['python 3.9.*']);
    const [res] = await solveInWorkers([req], { maxWorkers: 0 });
    expect(key(res!.records)).toEqual(key(solve(req).records));
  });
});

describe('defaultWorkerCount', () => {
  const fake = (n: number) => ({ specs: [], records: new Array(n), virtualPackages: [] }) as unknown as SolveOptions;
  it('solves small or single requests in-process and large multi-platform ones in workers', async () => {
    const { defaultWorkerCount, WORKER_THRESHOLD_RECORDS } = await import('../../src/solver/parallel.js');
    expect(defaultWorkerCount([fake(1_000_000)])).toBe(0);
    expect(defaultWorkerCount([fake(100), fake(100)])).toBe(0);
    expect(defaultWorkerCount([fake(WORKER_THRESHOLD_RECORDS), fake(1)])).toBeGreaterThanOrEqual(1);
  });
});
