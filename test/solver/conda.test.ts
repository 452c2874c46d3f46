import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MatchSpec } from '../../src/conda/matchspec.js';
import type { PackageRecord, RepoDataRecord } from '../../src/conda/record.js';
import { PackageNotFoundError, UnsatisfiableError } from '../../src/errors.js';
import { parseRepoData } from '../../src/repodata/parse.js';
import { solve, SolverTimeoutError, type SolveOptions } from '../../src/solver/index.js';
import { fixture, haveFixtures } from '../support/fixtures.js';
import { checkSolution } from './check-solution.js';

const CF = 'https://conda.anaconda.org/conda-forge';
const SUBCHANNEL = 'conda-forge-subchannel-py39-2024-05';

const cache = new Map<string, RepoDataRecord[]>();
function load(path: string, channel: string, subdir?: string): RepoDataRecord[] {
  const key = `${path}|${channel}`;
  let r = cache.get(key);
  if (!r) {
    r = parseRepoData(readFileSync(path, 'utf8'), { channel, subdir, baseUrl: `${channel}/${subdir ?? 'noarch'}` });
    cache.set(key, r);
  }
  return r;
}
function subchannel(subdir: string): RepoDataRecord[] {
  return [
    ...load(fixture('repodata', SUBCHANNEL, subdir, 'repodata.json'), CF, subdir),
    ...load(fixture('repodata', SUBCHANNEL, 'noarch', 'repodata.json'), CF, 'noarch'),
  ];
}

function vpkg(name: string, version: string, build = '0'): PackageRecord {
  return { name, version, build, build_number: 0, subdir: 'linux-64', depends: [], constrains: [] };
}
const VIRTUAL: Record<string, PackageRecord[]> = {
  'linux-64': [vpkg('__unix', '0'), vpkg('__linux', '5.10'), vpkg('__glibc', '2.28'), vpkg('__archspec', '1', 'x86_64')],
  'linux-aarch64': [vpkg('__unix', '0'), vpkg('__linux', '5.10'), vpkg('__glibc', '2.28'), vpkg('__archspec', '1', 'aarch64')],
  'linux-ppc64le': [vpkg('__unix', '0'), vpkg('__linux', '5.10'), vpkg('__glibc', '2.28'), vpkg('__archspec', '1', 'ppc64le')],
  'osx-64': [vpkg('__unix', '0'), vpkg('__osx', '10.15'), vpkg('__archspec', '1', 'x86_64')],
  'osx-arm64': [vpkg('__unix', '0'), vpkg('__osx', '11.0'), vpkg('__archspec', '1', 'arm64')],
  'win-64': [vpkg('__win', '0'), vpkg('__archspec', '1', 'x86_64')],
  'win-arm64': [vpkg('__win', '0'), vpkg('__archspec', '1', 'arm64')],
};

const specs = (...s: string[]) => s.map((x) => MatchSpec.parse(x));

/** Synthetic record. */
function rec(name: string, version: string, o: Partial<RepoDataRecord> = {}): RepoDataRecord {
  const build = o.build ?? `h${o.build_number ?? 0}_0`;
  const channel = o.channel ?? 'https://example.test/main';
  const subdir = o.subdir ?? 'linux-64';
  const fn = `${name}-${version}-${build}.conda`;
  return { name, version, build, build_number: 0, subdir, depends: [], constrains: [], fn, url: `${channel}/${subdir}/${fn}`, channel, ...o };
}

function solveChecked(opts: SolveOptions) {
  const res = solve(opts);
  expect(checkSolution(res.records, opts)).toEqual([]);
  return res;
}
const nv = (rs: readonly RepoDataRecord[]) => Object.fromEntries(rs.map((r) => [r.name, r.version]));
const nvb = (rs: readonly RepoDataRecord[]) => Object.fromEntries(rs.map((r) => [r.name, `${r.version} ${r.build}`]));
function unsatMessage(opts: SolveOptions): string {
  try {
    solve(opts);
  } catch (e) {
    if (e instanceof UnsatisfiableError) return e.message;
    throw e;
  }
  throw new Error('expected UnsatisfiableError');
}

describe.skipIf(!haveFixtures)('solve on real conda-forge records (python 3.9 subchannel)', () => {
  const cases: [string, string[]][] = [
    ['linux-64', ['python 3.9.*']],
    ['linux-64', ['python 3.9.*', 'pip', 'setuptools']],
    ['linux-64', ['python 3.9.7', 'openssl 1.1.*']],
    ['linux-64', ['python >=3.9.10', 'sqlite <3.40']],
    ['linux-64', ['python_abi 3.9.*', 'python <3.9.5']],
    ['linux-aarch64', ['python 3.9.*']],
    ['linux-ppc64le', ['python 3.9.*', 'pip']],
    ['osx-64', ['python 3.9.*', 'zstd']],
    ['osx-arm64', ['python 3.9.*']],
    ['win-64', ['python 3.9.*', 'pip']],
    ['win-64', ['python 3.9.*', 'vs2015_runtime <14.30']],
    ['win-arm64', ['zstd <1.5.6', 'zlib 1.2.*']],
  ];
  it.each(cases)('%s %j gives a consistent solution', (subdir, s) => {
    const opts: SolveOptions = { specs: specs(...s), records: subchannel(subdir), virtualPackages: VIRTUAL[subdir]!, channels: [CF] };
    const res = solveChecked(opts);
    expect(res.records.length).toBeGreaterThan(0);
    expect(res.stats.ms).toBeLessThan(2000);
  });

  it('picks the newest python 3.9 and the newest openssl, with noarch records competing normally', () => {
    const records = subchannel('linux-64');
    const res = solveChecked({ specs: specs('python 3.9.*', 'pip'), records, virtualPackages: VIRTUAL['linux-64']!, channels: [CF] });
    const got = nvb(res.records);
    const newestPython = records.filter((r) => r.name === 'python' && r.version.startsWith('3.9.') && r.build.includes('cpython')).map((r) => r.version);
    expect(got.python!.split(' ')[0]).toBe(newestPython.sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2])).at(-1));
    expect(res.records.find((r) => r.name === 'pip')!.subdir).toBe('noarch');
    expect(res.records.map((r) => r.name)).toEqual([...res.records.map((r) => r.name)].sort());
    expect(res.records.some((r) => r.name.startsWith('__'))).toBe(false);
  });

  it('solves many random python requests consistently in every subdir', () => {
    let seed = 7;
    const rnd = (n: number) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 16) % n; };
    let solved = 0;
    for (const subdir of ['linux-64', 'osx-arm64', 'win-64']) {
      const records = subchannel(subdir);
      const pythons = [...new Set(records.filter((r) => r.name === 'python').map((r) => r.version))];
      const names = [...new Set(records.map((r) => r.name))].filter((n) => !n.startsWith('_'));
      for (let i = 0; i < 12; i++) {
        const s = [`python ${pythons[rnd(pythons.length)]}`, names[rnd(names.length)]!];
        const opts: SolveOptions = { specs: specs(...s), records, virtualPackages: VIRTUAL[subdir]!, channels: [CF] };
        try {
          solveChecked(opts);
          solved++;
        } catch (e) {
          if (!(e instanceof UnsatisfiableError)) throw e;
          expect(e.message).toContain(`Cannot solve the requested packages for ${subdir}`);
        }
      }
    }
    expect(solved).toBeGreaterThan(20);
  });

  it('solves numpy + python from libmamba\'s real conda-forge closure', () => {
    const records = load(fixture('repodata', 'mamba', 'conda-forge-numpy-linux-64.json'), CF, 'linux-64');
    const res = solveChecked({ specs: specs('numpy'), records, virtualPackages: VIRTUAL['linux-64']!, channels: [CF] });
    expect(res.records.map((r) => r.name)).toEqual(expect.arrayContaining(['numpy', 'python', 'libgcc-ng']));
  });

  it('locked records from an older solve are kept when the specs still allow them', () => {
    const records = subchannel('linux-64');
    const base = { records, virtualPackages: VIRTUAL['linux-64']!, channels: [CF] };
    const old = solveChecked({ ...base, specs: specs('python 3.9.7') });
    // relaxing the spec keeps the locked python 3.9.7 and everything else
    const relaxed = solveChecked({ ...base, specs: specs('python 3.9.*'), locked: old.records });
    expect(relaxed.records.map((r) => r.fn)).toEqual(old.records.map((r) => r.fn));
    // without the lock the newest python wins
    const fresh = solveChecked({ ...base, specs: specs('python 3.9.*') });
    expect(nv(fresh.records).python).not.toBe('3.9.7');
    // adding a package keeps every locked record and adds what is new
    const added = solveChecked({ ...base, specs: specs('python 3.9.*', 'pip'), locked: old.records });
    const addedFns = new Set(added.records.map((r) => r.fn));
    expect(old.records.filter((r) => !addedFns.has(r.fn))).toEqual([]);
    expect(nv(added.records).pip).toBeDefined();
    // asking for a newer python replaces the lock where needed only
    const bumped = solveChecked({ ...base, specs: specs('python >=3.9.19'), locked: old.records });
    expect(nv(bumped.records).python).toBe('3.9.19');
    expect(bumped.records.filter((r) => old.records.some((o) => o.fn === r.fn)).length).toBeGreaterThan(5);
  });

  it('gives the same solution and the same explanation whatever order the records come in', () => {
    const records = subchannel('linux-64');
    let seed = 7;
    const shuffled = records.slice();
    for (let i = shuffled.length - 1; i > 0; i--) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const j = (seed >>> 8) % (i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    for (const want of [['python 3.9.*', 'pip', 'sqlite'], ['python_abi 3.9.*', 'python <3.9.5']]) {
      const urls = (rs: RepoDataRecord[]) => solve({ specs: specs(...want), records: rs, virtualPackages: VIRTUAL['linux-64']!, channels: [CF] }).records.map((r) => r.url);
      const first = urls(records);
      expect(urls(shuffled)).toEqual(first);
      expect(urls(records.slice().reverse())).toEqual(first);
    }
    const why = (rs: RepoDataRecord[]) => unsatMessage({ specs: specs('python 3.9.*', 'openssl 1.0.*'), records: rs, virtualPackages: VIRTUAL['linux-64']!, channels: [CF] });
    expect(why(shuffled)).toBe(why(records));
  });

  it('stays under a second for the python 3.9 linux-64 solve', () => {
    const records = subchannel('linux-64');
    const t = performance.now();
    const res = solve({ specs: specs('python 3.9.*', 'pip', 'setuptools', 'wheel'), records, virtualPackages: VIRTUAL['linux-64']!, channels: [CF] });
    expect(performance.now() - t).toBeLessThan(1000);
    expect(res.stats.candidatesLoaded).toBeLessThan(records.length);
  });
});

describe.skipIf(!haveFixtures)('track_features (pytorch channel)', () => {
  it('orders records without track_features first, then by version and build number', () => {
    const records = load(fixture('repodata', 'rattler', 'pytorch__linux-64__repodata.json'), 'https://conda.anaconda.org/pytorch', 'linux-64');
    const withTf = records.filter((r) => r.track_features);
    expect(withTf.length).toBeGreaterThan(0);
    // cuda92 (a track_features metapackage) vs a synthetic plain build of the same name and a lower version
    const tf = withTf.find((r) => r.name === 'cuda92')!;
    const plain = rec('cuda92', '0.9', { channel: tf.channel });
    const res = solveChecked({ specs: specs('cuda92'), records: [tf, plain], virtualPackages: [] });
    expect(res.records[0]!.version).toBe('0.9');
    const forced = solveChecked({ specs: specs('cuda92 1.0'), records: [tf, plain], virtualPackages: [] });
    expect(forced.records[0]!.track_features).toBe(tf.track_features);
  });

  it('solves nccl2 (two track_features builds) and prefers the newer timestamp on a tie', () => {
    const records = load(fixture('repodata', 'rattler', 'pytorch__linux-64__repodata.json'), 'https://conda.anaconda.org/pytorch', 'linux-64');
    const nccl = records.filter((r) => r.name === 'nccl2');
    expect(nccl).toHaveLength(2);
    const res = solveChecked({ specs: specs('nccl2'), records, virtualPackages: VIRTUAL['linux-64']! });
    const newest = [...nccl].sort((a, b) => (b.timestamp ?? 0) - (a.timestamp ?? 0))[0]!;
    expect(res.records[0]!.build).toBe(newest.build);
  });
});

describe('conda semantics on synthetic channels', () => {
  it('prefers no track_features, then fewer track_features, over a higher version', () => {
    const records = [rec('a', '3', { track_features: 'x y' }), rec('a', '2', { track_features: 'x' }), rec('a', '1')];
    expect(nv(solveChecked({ specs: specs('a'), records, virtualPackages: [] }).records)).toEqual({ a: '1' });
    expect(nv(solveChecked({ specs: specs('a >=2'), records, virtualPackages: [] }).records)).toEqual({ a: '2' });
  });

  it('breaks version ties by build number, then by the dependencies\' highest versions, then timestamp', () => {
    const records = [
      rec('a', '1', { build: 'b0', build_number: 0, timestamp: 9 }),
      rec('a', '1', { build: 'b1', build_number: 1, timestamp: 1, depends: ['dep <2'] }),
      rec('a', '1', { build: 'b1x', build_number: 1, timestamp: 5, depends: ['dep <3'] }),
      rec('dep', '1'), rec('dep', '2'), rec('dep', '3'),
      rec('t', '1', { build: 'old', timestamp: 100 }),
      rec('t', '1', { build: 'new', timestamp: 200 }),
    ];
    const got = nvb(solveChecked({ specs: specs('a', 't'), records, virtualPackages: [] }).records);
    expect(got.a).toBe('1 b1x');
    expect(got.dep).toBe('2 h0_0');
    expect(got.t).toBe('1 new');
  });

  it('records equal in every sort key give the same result whatever order the records come in', () => {
    // Same name, version, build number, dependencies and timestamp: only the channel (priority
    // disabled), subdir or build string differs. The pick must not depend on the input order.
    const A = 'https://example.test/a';
    const B = 'https://example.test/b';
    const cases: [string, RepoDataRecord[], SolveOptions['channelPriority'], string][] = [
      ['higher-priority channel', [rec('m', '1', { channel: B, build: 'h1_0' }), rec('m', '1', { channel: A, build: 'h1_0' })], 'disabled', A],
      ['arch before noarch', [rec('n', '1', { subdir: 'noarch', build: 'pyh_0' }), rec('n', '1', { build: 'pyh_0' })], 'strict', 'linux-64'],
      ['higher build string', [rec('r', '0.2', { build: 'r3.1.3_0a' }), rec('r', '0.2', { build: 'r3.1.3_1' })], 'strict', 'r3.1.3_1'],
    ];
    for (const [what, records, channelPriority, want] of cases) {
      for (const order of [records, [...records].reverse()]) {
        const [got] = solveChecked({ specs: specs(records[0]!.name), records: order, virtualPackages: [], channels: [A, B], channelPriority }).records;
        expect([got!.channel, got!.subdir, got!.build], what).toContain(want);
      }
    }
  });

  it('enforces constrains only when the constrained package is installed', () => {
    const records = [rec('a', '1', { constrains: ['b <2'] }), rec('b', '1'), rec('b', '2'), rec('c', '1', { depends: ['b'] })];
    expect(nv(solveChecked({ specs: specs('a'), records, virtualPackages: [] }).records)).toEqual({ a: '1' });
    expect(nv(solveChecked({ specs: specs('a', 'c'), records, virtualPackages: [] }).records)).toEqual({ a: '1', b: '1', c: '1' });
  });

  it('strict channel priority takes a name only from the highest-priority channel that has it', () => {
    const hi = 'https://example.test/high';
    const lo = 'https://example.test/low';
    const records = [
      rec('a', '1', { channel: hi, depends: ['b'] }),
      rec('a', '5', { channel: lo }),
      rec('b', '2', { channel: lo }),
    ];
    const strict = solveChecked({ specs: specs('a'), records, virtualPackages: [], channels: [hi, lo] });
    expect(strict.records.map((r) => `${r.name} ${r.version} ${r.channel}`)).toEqual([`a 1 ${hi}`, `b 2 ${lo}`]);
    const disabled = solveChecked({ specs: specs('a'), records, virtualPackages: [], channels: [hi, lo], channelPriority: 'disabled' });
    expect(nv(disabled.records)).toEqual({ a: '5' });
    // the order of the channels list decides, not the order of the records
    const flipped = solveChecked({ specs: specs('a'), records, virtualPackages: [], channels: [lo, hi] });
    expect(nv(flipped.records)).toEqual({ a: '5' });
    // a spec naming a channel may take the name from that channel
    const named = solveChecked({ specs: specs('low::a'), records, virtualPackages: [], channels: [hi, lo] });
    expect(named.records.map((r) => r.channel)).toEqual([lo]);
  });

  it('defaults::name takes the name from the defaults channels (pkgs/main, pkgs/r), as conda does', () => {
    const cf = 'https://conda.anaconda.org/conda-forge';
    const main = 'https://repo.anaconda.com/pkgs/main';
    const records = [rec('a', '2', { channel: cf }), rec('a', '1', { channel: main })];
    const res = solveChecked({ specs: specs('defaults::a'), records, virtualPackages: [], channels: [cf, main] });
    expect(res.records.map((r) => `${r.name} ${r.version} ${r.channel}`)).toEqual([`a 1 ${main}`]);
  });

  it('strict channel priority: a version only in the lower channel is not found', () => {
    const hi = 'https://example.test/high';
    const lo = 'https://example.test/low';
    const records = [rec('a', '1', { channel: hi }), rec('a', '5', { channel: lo })];
    expect(() => solve({ specs: specs('a 5'), records, virtualPackages: [], channels: [hi, lo] })).toThrow(/strict channel priority/);
  });

  it('strict channel priority accepts channel names for the URLs records carry', () => {
    const hi = 'https://conda.anaconda.org/high';
    const lo = 'https://conda.anaconda.org/low';
    const records = [rec('a', '1', { channel: hi }), rec('a', '5', { channel: lo })];
    expect(nv(solveChecked({ specs: specs('a'), records, virtualPackages: [], channels: ['high', 'low'] }).records)).toEqual({ a: '1' });
    expect(nv(solveChecked({ specs: specs('a'), records, virtualPackages: [], channels: ['low', 'high'] }).records)).toEqual({ a: '5' });
  });

  it('an explanation notes dependencies hidden by strict channel priority', () => {
    const hi = 'https://example.test/high';
    const lo = 'https://example.test/low';
    const records = [rec('a', '1', { channel: hi, depends: ['b >=2'] }), rec('b', '1', { channel: hi }), rec('b', '2', { channel: lo })];
    const msg = unsatMessage({ specs: specs('a'), records, virtualPackages: [], channels: [hi, lo], platform: 'linux-64' });
    expect(msg).toContain(`b >=2, for which no candidates were found (records of b in ${lo} were not considered because of strict channel priority; --channel-priority flexible would consider them)`);
    expect(nv(solveChecked({ specs: specs('a'), records, virtualPackages: [], channels: [hi, lo], channelPriority: 'disabled' }).records)).toEqual({ a: '1', b: '2' });
    expect(nv(solveChecked({ specs: specs('a'), records, virtualPackages: [], channels: [hi, lo], channelPriority: 'flexible' }).records)).toEqual({ a: '1', b: '2' });
  });

  it('flexible channel priority prefers the higher-priority channel, falling back to a lower one only when needed', () => {
    const hi = 'https://example.test/high';
    const lo = 'https://example.test/low';
    const records = [rec('a', '1', { channel: hi }), rec('a', '5', { channel: lo }), rec('c', '1', { channel: hi, depends: ['a >=2'] })];
    // Both channels have a: flexible takes the higher channel's (older) a, disabled the newest.
    expect(nv(solveChecked({ specs: specs('a'), records, virtualPackages: [], channels: [hi, lo], channelPriority: 'flexible' }).records)).toEqual({ a: '1' });
    expect(nv(solveChecked({ specs: specs('a'), records, virtualPackages: [], channels: [hi, lo], channelPriority: 'disabled' }).records)).toEqual({ a: '5' });
    // Only the lower channel's a satisfies c: strict fails, flexible falls back.
    expect(() => solve({ specs: specs('c'), records, virtualPackages: [], channels: [hi, lo] })).toThrow('--channel-priority flexible');
    const flex = solveChecked({ specs: specs('c'), records, virtualPackages: [], channels: [hi, lo], channelPriority: 'flexible' });
    expect(flex.records.map((r) => `${r.name} ${r.version} ${r.channel}`)).toEqual([`a 5 ${lo}`, `c 1 ${hi}`]);
  });

  it('virtual packages are the only candidates for __ names', () => {
    const records = [rec('a', '2', { depends: ['__glibc >=2.17'] }), rec('__glibc', '9.99')];
    const res = solveChecked({ specs: specs('a'), records, virtualPackages: [vpkg('__glibc', '2.28')] });
    expect(nv(res.records)).toEqual({ a: '2' });
    const msg = unsatMessage({ specs: specs('a'), records: [rec('a', '2', { depends: ['__glibc >=2.34'] }), rec('__glibc', '2.99')], virtualPackages: [vpkg('__glibc', '2.28')], platform: 'linux-64' });
    expect(msg).toContain('__glibc >=2.34');
    expect(msg).toContain('2.28');
  });

  it('a constrains on a virtual package holds whenever the target has it (virtual packages are always installed)', () => {
    // conda-forge's cuda-version: each build constrains __cuda, nothing depends on __cuda.
    const records = [
      rec('cuda-version', '12.0', { constrains: ['__cuda >=12', 'cudatoolkit 12.0|12.0.*'] }),
      rec('cuda-version', '11.8', { constrains: ['__cuda >=11.8', 'cudatoolkit 11.8|11.8.*'] }),
      rec('sysroot_linux-64', '2.17', { constrains: ['__glibc >=2.17'] }),
    ];
    const onDriver = (cuda: string | undefined) =>
      solveChecked({ specs: specs('cuda-version'), records, virtualPackages: cuda ? [vpkg('__cuda', cuda)] : [] }).records;
    expect(nv(onDriver('11.8'))).toEqual({ 'cuda-version': '11.8' });
    expect(nv(onDriver('12.2'))).toEqual({ 'cuda-version': '12.0' });
    // no __cuda on the target: the constraint is on an absent package
    expect(nv(onDriver(undefined))).toEqual({ 'cuda-version': '12.0' });
    const msg = unsatMessage({ specs: specs('cuda-version 12.*'), records, virtualPackages: [vpkg('__cuda', '11.8')], platform: 'linux-64' });
    expect(msg).toContain("__cuda >=12, which the target's virtual package __cuda 11.8 does not satisfy");
    expect(() => solve({ specs: specs('sysroot_linux-64'), records, virtualPackages: [vpkg('__glibc', '2.12')] })).toThrow(UnsatisfiableError);
    expect(nv(solveChecked({ specs: specs('sysroot_linux-64'), records, virtualPackages: [vpkg('__glibc', '2.28')] }).records)).toEqual({ 'sysroot_linux-64': '2.17' });
  });

  it('locked records are preferred where possible but not forced', () => {
    const records = [rec('a', '1', { depends: ['b'] }), rec('a', '2', { depends: ['b'] }), rec('b', '1'), rec('b', '2'), rec('b', '3')];
    const locked = [records[0]!, records[3]!]; // a 1, b 2
    expect(nv(solveChecked({ specs: specs('a'), records, virtualPackages: [], locked }).records)).toEqual({ a: '1', b: '2' });
    // the user now asks for b 3: b's lock gives way, a's lock stays
    expect(nv(solveChecked({ specs: specs('a', 'b >=3'), records, virtualPackages: [], locked }).records)).toEqual({ a: '1', b: '3' });
    expect(nv(solveChecked({ specs: specs('a'), records, virtualPackages: [] }).records)).toEqual({ a: '2', b: '3' });
  });

  it('a locked record missing from the channel is still a candidate', () => {
    const records = [rec('a', '2')];
    const gone = rec('a', '1');
    const res = solve({ specs: specs('a'), records, virtualPackages: [], locked: [gone] });
    expect(res.records).toEqual([gone]);
  });

  it('a locked record from a channel that strict priority now excludes is not kept (the channel list changed)', () => {
    const hi = 'https://example.test/high';
    const lo = 'https://example.test/low';
    const fromLow = rec('a', '1', { channel: lo });
    const records = [rec('a', '1', { channel: hi, build: 'patched_0' }), fromLow];
    // locked under channels [lo]; now [hi, lo]: a comes from hi only
    const now = solveChecked({ specs: specs('a'), records, virtualPackages: [], channels: [hi, lo], locked: [fromLow] });
    expect(now.records.map((r) => r.channel)).toEqual([hi]);
    // still preferred where strict priority allows it, and whenever priority is disabled
    expect(solveChecked({ specs: specs('a'), records, virtualPackages: [], channels: [lo, hi], locked: [fromLow] }).records).toEqual([fromLow]);
    expect(solveChecked({ specs: specs('a'), records, virtualPackages: [], channels: [hi, lo], channelPriority: 'disabled', locked: [fromLow] }).records).toEqual([fromLow]);
    // a locked record whose name no channel has any more stays a candidate
    const gone = rec('z', '1', { channel: lo });
    expect(solve({ specs: specs('z'), records, virtualPackages: [], channels: [hi, lo], locked: [gone] }).records).toEqual([gone]);
  });

  it('pinned specs are hard constraints on installed names', () => {
    const records = [rec('a', '1', { depends: ['b'] }), rec('b', '1'), rec('b', '2')];
    const pinned = specs('b <2', 'zzz 1');
    const res = solveChecked({ specs: specs('a'), records, virtualPackages: [], pinned });
    expect(nv(res.records)).toEqual({ a: '1', b: '1' });
    const msg = unsatMessage({ specs: specs('b 2'), records, virtualPackages: [], pinned, platform: 'linux-64' });
    expect(msg).toContain('b ==2 cannot be installed because there are no viable options:');
    expect(msg).toContain('b 2 is ruled out by the pinned b <2');
    const deep = unsatMessage({ specs: specs('a'), records: [...records.slice(1), rec('a', '1', { depends: ['b >=2'] })], virtualPackages: [], pinned, platform: 'linux-64' });
    expect(deep).toContain('a 1 would require');
    expect(deep).toContain('b >=2, which is ruled out by the pinned b <2');
  });

  it('an invalid depends string makes only that record uninstallable', () => {
    const records = [rec('a', '2', { depends: ['b >>>2'] }), rec('a', '1'), rec('b', '2')];
    expect(nv(solveChecked({ specs: specs('a'), records, virtualPackages: [] }).records)).toEqual({ a: '1' });
  });

  it.each([
    ['no specs', [] as string[], {}],
    ['a repeated spec', ['a', 'a'], { a: '2' }],
    ['a requested virtual package (satisfied, not in the result)', ['__glibc >=2.17', 'a 1'], { a: '1' }],
  ])('edge case: %s', (_what, s, expected) => {
    const records = [rec('a', '1'), rec('a', '2')];
    const res = solveChecked({ specs: specs(...s), records, virtualPackages: [vpkg('__glibc', '2.28')] });
    expect(nv(res.records)).toEqual(expected);
  });

  it('gives up with SolverTimeoutError when the timeout has passed', () => {
    // a pigeonhole-like problem: n+1 packages each needing a distinct slot out of n
    const n = 9;
    const records: RepoDataRecord[] = [];
    for (let s = 0; s < n; s++) records.push(rec('slot', String(s + 1)));
    for (let p = 0; p <= n; p++) {
      for (let s = 0; s < n; s++) {
        const others = Array.from({ length: n + 1 }, (_, q) => q).filter((q) => q !== p).map((q) => `p${q} !=${s + 1}`);
        records.push(rec(`p${p}`, String(s + 1), { depends: [], constrains: others }));
      }
    }
    expect(() => solve({ specs: specs(...Array.from({ length: n + 1 }, (_, p) => `p${p}`)), records, virtualPackages: [], timeoutMs: 0 })).toThrow(SolverTimeoutError);
  });
});

describe('unsatisfiable and not-found explanations', () => {
  it('direct conflict between two requested specs', () => {
    const records = [rec('a', '1'), rec('a', '2')];
    const msg = unsatMessage({ specs: specs('a 1', 'a 2'), records, virtualPackages: [], platform: 'linux-64' });
    expect(msg.split('\n')[0]).toBe('Cannot solve the requested packages for linux-64:');
    expect(msg).toContain('a 1');
    expect(msg).toContain('a 1 conflicts with the requested a ==2');
    expect(msg).toContain('a 2 conflicts with the requested a ==1');
  });

  it('conflict through dependencies names the chain and the user\'s spec', () => {
    const records = [
      rec('python', '3.9.19', { depends: ['openssl >=3.2,<4.0a0'] }),
      rec('python', '3.9.18', { depends: ['openssl >=3.1,<4.0a0'] }),
      rec('openssl', '3.2.1'), rec('openssl', '3.1.0'), rec('openssl', '1.1.1w'),
    ];
    const msg = unsatMessage({ specs: specs('python 3.9.*', 'openssl 1.1.*'), records, virtualPackages: [], platform: 'linux-64' });
    expect(msg).toMatch(/python 3\.9\.\* (can|cannot) be installed/);
    expect(msg).toContain('python 3.9.19 would require');
    expect(msg).toContain('openssl >=3.2,<4.0a0, which conflicts with the requested openssl 1.1.*');
    expect(msg).toContain('openssl 1.1.*');
    expect(msg).toMatch(/[├└]─ /);
  });

  it('a dependency name no channel has is a PackageNotFoundError naming the spec, its requirer and the platform', () => {
    const records = [rec('a', '2', { depends: ['ghost >=1'] }), rec('a', '1', { depends: ['ghost'] })];
    const err = (() => { try { solve({ specs: specs('a'), records, virtualPackages: [], platform: 'osx-arm64' }); } catch (e) { return e as Error; } return undefined; })();
    expect(err).toBeInstanceOf(PackageNotFoundError);
    expect(err!.message).toContain('No candidates were found for ghost >=1 (required by a 2) for osx-arm64');
    expect(err!.message).toContain('No candidates were found for ghost (required by a 1)');
    expect(err!.message).toContain('Cannot solve the requested packages for osx-arm64');
    expect(err!.message).toContain('ghost >=1, for which no candidates were found (no channel has a package named ghost)');
  });

  it('a missing dependency mixed with a version conflict stays an UnsatisfiableError', () => {
    const records = [rec('a', '2', { depends: ['ghost'] }), rec('a', '1', { depends: ['b 2'] }), rec('b', '1'), rec('b', '2')];
    const msg = unsatMessage({ specs: specs('a', 'b 1'), records, virtualPackages: [], platform: 'linux-64' });
    // a 2 can never be installed (ghost): the tree shows the option that conflicts with the request
    expect(msg).toContain('a can be installed with any of the following options:');
    expect(msg).toContain('a 1 would require');
    expect(msg).toContain('b 2, which conflicts with the requested b ==1');
    expect(msg).toContain('b 1 conflicts with b 2 required by a 1');
  });

  it('a virtual package that is too old (__glibc)', () => {
    const records = [rec('a', '2', { depends: ['__glibc >=2.34'] }), rec('a', '1', { depends: ['__glibc >=2.31'] })];
    const msg = unsatMessage({ specs: specs('a'), records, virtualPackages: [vpkg('__glibc', '2.17')], platform: 'linux-64' });
    expect(msg).toContain("__glibc >=2.34, which the target's virtual package __glibc 2.17 does not satisfy");
    expect(msg).toContain('__glibc >=2.31');
  });

  it('a failure decided by a virtual package says once how to override the assumed virtual packages', () => {
    const hint = /assumed for the target platform.*--virtual-packages/;
    const tooOld = unsatMessage({
      specs: specs('a'),
      records: [rec('a', '2', { depends: ['__glibc >=2.34'] }), rec('a', '1', { depends: ['__glibc >=2.31'] })],
      virtualPackages: [vpkg('__glibc', '2.17')],
      platform: 'linux-64',
    });
    expect(tooOld.split('\n').filter((l) => hint.test(l))).toHaveLength(1);
    expect(tooOld.split('\n').at(-1)).toMatch(hint);
    const absent = unsatMessage({ specs: specs('b'), records: [rec('b', '1', { depends: ['__cuda >=12'] })], virtualPackages: [vpkg('__glibc', '2.17')], platform: 'linux-64' });
    expect(absent).toContain('the target has no virtual package __cuda');
    expect(absent.split('\n').at(-1)).toMatch(hint);
    // requested directly: a PackageNotFoundError with the same hint
    expect(() => solve({ specs: specs('__glibc >=2.34'), records: [], virtualPackages: [vpkg('__glibc', '2.17')], platform: 'linux-64' })).toThrow(hint);
    // not when virtual packages play no part
    expect(unsatMessage({ specs: specs('a 1', 'a 2'), records: [rec('a', '1'), rec('a', '2')], virtualPackages: [vpkg('__glibc', '2.17')] })).not.toMatch(hint);
  });

  it('a requested spec naming a channel lists only that channel\'s versions, or says the channel has none', () => {
    const cf = 'https://conda.anaconda.org/conda-forge';
    const main = 'https://repo.anaconda.com/pkgs/main';
    const records = [rec('numpy', '1.26', { channel: cf }), rec('numpy', '1.26', { channel: cf, build: 'h1_0' }), rec('numpy', '1.20', { channel: main })];
    const notFound = (s: string) => {
      try {
        solve({ specs: specs(s), records, virtualPackages: [], channels: [cf, main], platform: 'linux-64' });
      } catch (e) {
        expect(e).toBeInstanceOf(PackageNotFoundError);
        return (e as Error).message;
      }
      throw new Error('expected PackageNotFoundError');
    };
    expect(notFound('defaults::numpy >=1.26')).toContain('available versions of numpy in defaults: 1.20.');
    const other = notFound('bioconda::numpy');
    expect(other).toContain('no record of numpy comes from bioconda');
    expect(other).toContain(`numpy is available from ${cf}, ${main}`);
    expect(other).not.toContain('available versions');
    // all versions shown: no trailing "…" although a version has two builds
    expect(notFound('numpy >=2')).toMatch(/available versions of numpy: 1\.26 \(records of numpy in https:\/\/repo\.anaconda\.com\/pkgs\/main were not considered/);
  });

  it('a requested name that no channel has is a PackageNotFoundError naming spec and platform', () => {
    const err = (() => { try { solve({ specs: specs('nosuchpkg >=1'), records: [rec('a', '1')], virtualPackages: [], platform: 'win-64', channels: ['https://example.test/main'] }); } catch (e) { return e; } return undefined; })();
    expect(err).toBeInstanceOf(PackageNotFoundError);
    expect((err as Error).message).toContain('No candidates were found for nosuchpkg >=1');
    expect((err as Error).message).toContain('win-64');
  });

  it('a requested version that does not exist lists the available ones', () => {
    const err = (() => { try { solve({ specs: specs('a 9'), records: [rec('a', '1'), rec('a', '2')], virtualPackages: [], platform: 'linux-64' }); } catch (e) { return e; } return undefined; })();
    expect(err).toBeInstanceOf(PackageNotFoundError);
    expect((err as Error).message).toMatch(/available versions of a: 2, 1/);
  });

  it.skipIf(!haveFixtures)('real data: python 3.9.* with openssl 1.0.* explains through openssl', () => {
    const records = subchannel('linux-64');
    const msg = unsatMessage({ specs: specs('python 3.9.*', 'openssl 1.0.*'), records, virtualPackages: VIRTUAL['linux-64']!, channels: [CF], platform: 'linux-64' });
    expect(msg).toContain('Cannot solve the requested packages for linux-64');
    expect(msg).toContain('openssl 1.0.*');
    expect(msg).toContain('python 3.9.*');
    expect(msg).toContain('which conflicts with the requested openssl 1.0.*');
    expect(msg.split('\n').length).toBeLessThan(40);
  });
});

describe('randomized synthetic channels', () => {
  it('every solve is either consistent or explained from the requested specs', () => {
    let seed = 99;
    const rnd = (n: number) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 16) % n; };
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    let sat = 0;
    let unsat = 0;
    let notFound = 0;
    for (let iter = 0; iter < 300; iter++) {
      const dep = (self: string) => {
        const n = names.filter((x) => x !== self)[rnd(names.length - 1)]!;
        const v = 1 + rnd(4);
        return [n, `${n} >=${v}`, `${n} <${v}`, `${n} ${v}.*`, `${n} >=${v},<${v + 2}`][rnd(5)]!;
      };
      const records: RepoDataRecord[] = [];
      for (const n of names) {
        for (let v = 1; v <= 1 + rnd(4); v++) {
          for (let b = 0; b < 1 + rnd(2); b++) {
            records.push(rec(n, `${v}.0`, {
              build: `h${v}_${b}`,
              build_number: b,
              timestamp: rnd(1000),
              depends: Array.from({ length: rnd(3) }, () => dep(n)),
              constrains: rnd(5) === 0 ? [dep(n)] : [],
              track_features: rnd(12) === 0 ? 'feat' : undefined,
            }));
          }
        }
      }
      const want = Array.from({ length: 1 + rnd(3) }, () => dep(''));
      const opts: SolveOptions = { specs: specs(...want), records, virtualPackages: [], platform: 'linux-64' };
      try {
        const res = solve(opts);
        expect(checkSolution(res.records, opts), JSON.stringify(want)).toEqual([]);
        sat++;
      } catch (e) {
        if (e instanceof PackageNotFoundError) { notFound++; continue; }
        expect(e).toBeInstanceOf(UnsatisfiableError);
        const msg = (e as Error).message;
        expect(msg.startsWith('Cannot solve the requested packages for linux-64:\n')).toBe(true);
        expect(opts.specs.some((s) => msg.includes(`─ ${s.toString()} `))).toBe(true);
        expect(msg).not.toMatch(/undefined|NaN|\[object/);
        unsat++;
      }
    }
    expect(sat).toBeGreaterThan(30);
    expect(unsat).toBeGreaterThan(30);
    expect(notFound).toBeGreaterThan(0);
  });
});
