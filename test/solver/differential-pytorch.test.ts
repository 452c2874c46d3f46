/**
 * Differential tests against rattler on the real pytorch channel snapshot (rattler's test-data,
 * 2023-10): track_features (cuda75…cuda100, nccl2) and old-style `features` (cpuonly, cuda90, …),
 * `__glibc` requirements, pytorch-mutex. The pytorch channel comes first and anaconda defaults
 * (2018, conda's tests/data/index4.json) second, for python, numpy, mkl, blas, … (strict priority).
 * Both solvers get the same records and virtual packages; the solutions must be identical or both
 * unsatisfiable.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixture, fixturesSkipReason, haveFixtures } from '../support/fixtures.js';
import { RattlerSolver } from './rattler-harness.js';
import { DEFAULTS_URL, VIRTUAL_PACKAGES, defaultsChannel } from './rattler-cases.js';
import { ChannelRecords, solveOurs } from '../../bench/lib/ours.js';

const PYTORCH_URL = 'https://conda.anaconda.org/pytorch';
type Pkg = { name: string; version: string; build: string };
const dist = (p: Pkg): string => `${p.name}=${p.version}=${p.build}`;

if (!haveFixtures) console.warn(`pytorch differential tests skipped: ${fixturesSkipReason}`);

describe.skipIf(!haveFixtures)('solver differential tests against rattler: pytorch channel (track_features, features)', () => {
  const rattler = new RattlerSolver({ timeoutMs: 60_000 });
  let tmp = '';
  let channels: { pytorch: ChannelRecords; defaults: ChannelRecords; dirs: string[] } | undefined;
  afterAll(async () => {
    await rattler.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });
  function sources() {
    if (!channels) {
      tmp = mkdtempSync(join(tmpdir(), 'cgl-differential-pytorch-'));
      const pt = join(tmp, 'pytorch');
      mkdirSync(join(pt, 'linux-64'), { recursive: true });
      mkdirSync(join(pt, 'noarch'), { recursive: true });
      copyFileSync(fixture('repodata', 'rattler', 'pytorch__linux-64__repodata.json'), join(pt, 'linux-64', 'repodata.json'));
      writeFileSync(join(pt, 'noarch', 'repodata.json'), JSON.stringify({ info: { subdir: 'noarch' }, packages: {}, 'packages.conda': {} }));
      const df = join(tmp, 'defaults');
      for (const [sd, repo] of Object.entries(defaultsChannel())) {
        mkdirSync(join(df, sd), { recursive: true });
        writeFileSync(join(df, sd, 'repodata.json'), JSON.stringify(repo));
      }
      channels = { pytorch: new ChannelRecords(pt, PYTORCH_URL), defaults: new ChannelRecords(df, DEFAULTS_URL), dirs: [pt, df] };
    }
    return channels;
  }

  const cases: string[][] = [
    // solvable
    ['nccl2'],
    ['cuda92'],
    ['cuda80', 'cuda92'],
    ['magma-cuda92'],
    ['magma-cuda90', 'cuda90'],
    ['pytorch-cpu'],
    ['pytorch-cpu', 'python 3.5.*'],
    ['pytorch-cpu', 'python 2.7.*'],
    ['faiss-cpu'],
    ['faiss-cpu', 'nomkl'],
    ['faiss-cpu', 'python 3.6.*'],
    ['faiss-cpu', 'python 2.7.*'],
    ['faiss-gpu', 'cuda90'],
    ['libfaiss'],
    ['libfaiss', 'blas * openblas'],
    ['pytorch-cpu', 'numpy 1.14.*'],
    // unsatisfiable / missing dependencies (the snapshot lacks pillow, cudatoolkit, networkx, …)
    ['pytorch'],
    ['pytorch', 'python 3.6.*'],
    ['pytorch 0.4.*'],
    ['torchvision'],
    ['torchvision-cpu'],
    ['ignite', 'python 3.6.*'],
    ['pytorch', 'nomkl'],
  ];
  const tally = { solved: 0, unsat: 0 };
  it.each(cases.map((s) => [s.join(', '), s] as const))('pytorch + defaults 2018: %s', async (_s, specs) => {
    const src = sources();
    const vps = VIRTUAL_PACKAGES['linux-64'];
    const records = [...src.pytorch.forSubdir('linux-64'), ...src.defaults.forSubdir('linux-64')];
    const ref = await rattler.solve(specs, src.dirs, 'linux-64', vps);
    const ours = solveOurs(specs, records, 'linux-64', vps, [PYTORCH_URL, DEFAULTS_URL]);
    const what = `specs ${JSON.stringify(specs)} on linux-64 (pytorch, defaults 2018)`;
    if (!ref.ok && ref.panic) throw new Error(`rattler gave no answer on ${what}: ${ref.error}`);
    const side = (r: typeof ours | typeof ref) =>
      r.ok ? `solved: ${r.records.map(dist).sort().join(' ')}` : `unsatisfiable: ${r.error.split('\n').slice(0, 6).join(' | ')}`;
    expect(ours.ok, `${what}\n  ours:    ${side(ours)}\n  rattler: ${side(ref)}`).toBe(ref.ok);
    if (!ours.ok || !ref.ok) {
      tally.unsat++;
      return;
    }
    tally.solved++;
    expect(ours.records.map(dist).sort(), `${what}\n  rattler: ${side(ref)}`).toEqual(ref.records.map(dist).sort());
  });
  it('most cases were solvable', () => {
    expect(tally.solved).toBeGreaterThan(cases.length / 2);
  });
});
