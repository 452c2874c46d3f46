/**
 * Choice order on real conda-forge records: ../shared/fixtures/solver/win64-python-pandas (its
 * SOURCES.md entry). For `python`, `pandas` on win-64, pandas 1.4.1 has a single candidate and so is
 * installed before python is decided; nothing forces an old vc/openssl, and rattler (resolvo) decides
 * python's requirements first (breadth-first discovery order: python is the first spec), which gives
 * openssl 3.6.3 and then vc 14.3. Our solver must give the same answer; with `pandas` alone both
 * decide pandas' `vc` requirement first and keep vc 14.2 / openssl 3.1.1.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { fixture, fixturesSkipReason } from '../support/fixtures.js';
import { RattlerSolver } from './rattler-harness.js';
import { ChannelRecords, solveOurs } from '../../bench/lib/ours.js';
import { Version } from '../../src/conda/version.js';

const dir = fixture('solver', 'win64-python-pandas', 'chan');
const have = existsSync(dir);
if (!have) console.warn(`win64-python-pandas differential skipped: ${fixturesSkipReason}`);
const URL = 'http://fixtures.invalid/c0';
const VPS = [{ name: '__win', version: '0' }];

type Pkg = { name: string; version: string; build: string };
const dist = (p: Pkg): string => `${p.name}=${p.version}=${p.build}`;

describe.skipIf(!have)('choice order: win-64 python + pandas (real conda-forge records) against rattler', () => {
  const rattler = new RattlerSolver({ timeoutMs: 60_000 });
  afterAll(() => rattler.close());
  const channel = have ? new ChannelRecords(dir, URL) : undefined;

  async function both(specs: string[]): Promise<{ ours: Map<string, Pkg>; ref: Map<string, Pkg> }> {
    const ref = await rattler.solve(specs, dir, 'win-64', VPS);
    const ours = solveOurs(specs, channel!.forSubdir('win-64'), 'win-64', VPS, [URL]);
    if (!ref.ok) throw new Error(`rattler: ${ref.error}`);
    if (!ours.ok) throw new Error(`ours: ${ours.error}`);
    return {
      ours: new Map(ours.records.map((r) => [r.name, r])),
      ref: new Map(ref.records.map((r) => [r.name, r])),
    };
  }

  it('python, pandas: the same packages as rattler, none older (vc 14.3, openssl 3.6.3)', async () => {
    const { ours, ref } = await both(['python', 'pandas']);
    expect([...ours.values()].map(dist).sort()).toEqual([...ref.values()].map(dist).sort());
    // at least as new by conda's order, name by name
    for (const [name, r] of ref) {
      const o = ours.get(name);
      expect(o, name).toBeDefined();
      expect(Version.parse(o!.version).compare(Version.parse(r.version)), name).toBeGreaterThanOrEqual(0);
    }
    expect(dist(ours.get('vc')!)).toBe('vc=14.3=h41ae7f8_34');
    expect(dist(ours.get('openssl')!)).toBe('openssl=3.6.3=hf411b9b_0');
    expect(dist(ours.get('python')!)).toBe('python=3.10.12=h4de0772_0_cpython');
  });

  it('pandas alone: pandas decides vc first; both keep vc 14.2 and openssl 3.1.1', async () => {
    const { ours, ref } = await both(['pandas']);
    expect([...ours.values()].map(dist).sort()).toEqual([...ref.values()].map(dist).sort());
    expect(ours.get('vc')?.version).toBe('14.2');
    expect(ours.get('openssl')?.version).toBe('3.1.1');
  });

  it('pandas, python (spec order reversed) agrees with rattler too', async () => {
    const { ours, ref } = await both(['pandas', 'python']);
    expect([...ours.values()].map(dist).sort()).toEqual([...ref.values()].map(dist).sort());
  });
});
