import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { InvalidVersionError } from '../../src/errors.js';
import { Version, compareVersions } from '../../src/conda/version.js';
import { haveFixtures, rawFixtureRecords } from '../support/fixtures.js';

const V = (s: string) => Version.parse(s);

/**
 * Ordered chains: each entry is a group of versions that compare equal; groups are strictly increasing.
 * Drawn from the ordering documented in conda's VersionOrder docstring, the PEP 440 ordering list conda
 * tests against, the openssl letter-suffix convention and rattler's documented behaviour.
 */
const CHAINS: Record<string, string[][]> = {
  'conda VersionOrder docstring': [
    ['0.4', '0.4.0'],
    ['0.4.1.rc', '0.4.1.RC'],
    ['0.4.1'],
    ['0.5a1'],
    ['0.5b3'],
    ['0.5C1'],
    ['0.5'],
    ['0.9.6'],
    ['0.960923'],
    ['1.0'],
    ['1.1dev1'],
    ['1.1_'],
    ['1.1a1'],
    ['1.1.0dev1', '1.1.dev1'],
    ['1.1.a1'],
    ['1.1.0rc1'],
    ['1.1.0', '1.1'],
    ['1.1.0post1', '1.1.post1'],
    ['1.1post1'],
    ['1996.07.12'],
    ['1!0.4.1'],
    ['1!3.1.1.6'],
    ['2!0.4.1'],
  ],
  'PEP 440 ordering (as conda reads it)': [
    '1.0a1', '1.0a2.dev456', '1.0a12.dev456', '1.0a12', '1.0b1.dev456', '1.0b2', '1.0b2.post345.dev456',
    '1.0b2.post345', '1.0c1.dev456', '1.0c1', '1.0c3', '1.0rc2', '1.0.dev456', '1.0', '1.0.post456.dev34',
    '1.0.post456', '1.1.dev1', '1.2.r32+123456', '1.2.rev33+123456', '1.2+abc', '1.2+abc123def', '1.2+abc123',
    '1.2+123abc', '1.2+123abc456', '1.2+1234.abc', '1.2+123456',
    '1!1.0a1', '1!1.0a2.dev456', '1!1.0a12.dev456', '1!1.0a12', '1!1.0b1.dev456', '1!1.0b2',
    '1!1.0b2.post345.dev456', '1!1.0b2.post345', '1!1.0c1.dev456', '1!1.0c1', '1!1.0c3', '1!1.0rc2',
    '1!1.0.dev456', '1!1.0', '1!1.0.post456.dev34', '1!1.0.post456', '1!1.1.dev1', '1!1.2.r32+123456',
    '1!1.2.rev33+123456', '1!1.2+abc', '1!1.2+abc123def', '1!1.2+abc123', '1!1.2+123abc', '1!1.2+123abc456',
    '1!1.2+1234.abc', '1!1.2+123456',
  ].map((v) => [v]),
  'openssl letter suffixes': [
    '1.0.1dev', '1.0.1_', '1.0.1a', '1.0.1b', '1.0.1c', '1.0.1d', '1.0.1r', '1.0.1rc', '1.0.1rc1', '1.0.1rc2',
    '1.0.1s', '1.0.1', '1.0.1post.a', '1.0.1post.b', '1.0.1post.z', '1.0.1post.za', '1.0.2',
  ].map((v) => [v]),
  'openssl 1.1.1 series and 3.x': [
    // Letter suffixes sort *below* the bare version in conda (hence the `1.0.1_` convention).
    ['1.1.1a'], ['1.1.1k'], ['1.1.1w'], ['1.1.1'], ['1.1.2'], ['3.0.0alpha1'], ['3.0.0beta2'], ['3.0.0'], ['3.0.13'], ['3.2.1'],
  ],
  'pre-release markers': [
    ['1.1dev1'], ['1.1a1'], ['1.1b1'], ['1.1rc1'], ['1.1', '1.1.0', '1.1.0.0'], ['1.1post1'], ['1.2'],
  ],
  'numbers vs strings, star and dev': [
    ['1.*'], ['1.dev'], ['1._'], ['1.a'], ['1.b'], ['1', '1.0'], ['1.0.1'], ['1.post', '1.0post'], ['1.1'], ['1.1post'],
  ],
  'numeric (not lexicographic) components': [
    ['0.9'], ['0.10', '0.010'], ['0.11'], ['0.99'], ['0.100'], ['1.2.9'], ['1.2.10'], ['1.10'], ['2'], ['10'], ['2023.1'], ['20230101'],
  ],
  'local versions': [
    ['1.0+a'], ['1.0+b'], ['1.0+1', '1.0+1.0'], ['1.0+1.1'], ['1.0+2'], ['1.0.1'], ['1.0.1+0_1'], ['1.0.1+0_2'],
  ],
  'epochs beat everything': [
    ['999.999'], ['1!0'], ['1!0.1'], ['1!1000'], ['2!0dev'], ['2!0'], ['10!0'],
  ],
  'underscores and dashes as separators': [
    ['1.2.3'], ['1.2.4', '1_2_4', '1-2-4', '1.2_4', '1.2-4'], ['1.2.5'], ['1.3'],
  ],
  'hexrd and jsoncpp (conda tests)': [['0.3.0.dev'], ['0.3.3'], ['1.6.0'], ['1.7.1'], ['1.7.2'], ['1.8.0'], ['1.9.1']],
  'long numbers': [['1.2.99999999999999'], ['1.2.100000000000000000000'], ['1.2.100000000000000000001'], ['1.3']],
  'case-insensitive strings': [['1.0A1', '1.0a1'], ['1.0B2', '1.0b2'], ['1.0RC1', '1.0rc1', '1.0Rc1'], ['1.0']],
};

function flatten(groups: string[][]): string[] {
  return groups.flat();
}

describe('Version ordering (conda VersionOrder)', () => {
  for (const [title, groups] of Object.entries(CHAINS)) {
    describe(title, () => {
      it('every pair compares as the chain says', () => {
        for (let i = 0; i < groups.length; i++) {
          for (let j = 0; j < groups.length; j++) {
            for (const a of groups[i]!) {
              for (const b of groups[j]!) {
                const want = i < j ? -1 : i > j ? 1 : 0;
                expect([a, b, V(a).compare(V(b))]).toEqual([a, b, want]);
                expect(compareVersions(a, b)).toBe(want);
              }
            }
          }
        }
      });

      it('sorting random permutations gives the chain back (property)', () => {
        const flat = flatten(groups);
        const rank = new Map<string, number>();
        groups.forEach((g, i) => g.forEach((v) => rank.set(v, i)));
        let seed = 12345;
        const rand = () => {
          seed = (seed * 1103515245 + 12345) & 0x7fffffff;
          return seed / 0x80000000;
        };
        for (let round = 0; round < 50; round++) {
          const shuffled = flat.slice();
          for (let i = shuffled.length - 1; i > 0; i--) {
            const j = Math.floor(rand() * (i + 1));
            [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
          }
          const sorted = shuffled.map(V).sort(Version.compare);
          expect(sorted.map((v) => rank.get(v.toString()))).toEqual(flat.map((v) => rank.get(v)));
        }
      });
    });
  }
});

describe('Version equality classes', () => {
  const classes: string[][] = [
    ['1', '1.0', '1.0.0', '1.0.0.0', '0!1', '0!1.0', '1_0', '1-0', '01.00'],
    ['1.1.dev1', '1.1.0dev1', '1.1_dev1', '1.1-dev1', '1.1.0DEV1'],
    ['1.1.post1', '1.1.0post1', '1.1_post1', '1.1.0POST1'],
    ['2.0rc1', '2.0RC1', '2.0Rc1', '2_0rc1'],
    ['1.0+local.1', '1.0+local_1', '1.0.0+local.1.0'],
    ['1!2.3', '1!2.3.0', '01!2.3'],
  ];
  for (const cls of classes) {
    it(`${cls[0]} == ${cls.slice(1).join(' == ')}`, () => {
      for (const a of cls) for (const b of cls) expect(V(a).equals(V(b))).toBe(true);
    });
  }
  it('classes are distinct from each other', () => {
    for (let i = 0; i < classes.length; i++)
      for (let j = 0; j < classes.length; j++) if (i !== j) expect(V(classes[i]![0]!).equals(V(classes[j]![0]!))).toBe(false);
  });
  it('key is shared within a class and differs across classes and chain steps', () => {
    for (const cls of classes) expect(new Set(cls.map((s) => V(s).key)).size).toBe(1);
    expect(new Set(classes.map((c) => V(c[0]!).key)).size).toBe(classes.length);
    for (const groups of Object.values(CHAINS)) {
      for (const g of groups) expect(new Set(g.map((s) => V(s).key)).size).toBe(1);
      expect(new Set(groups.map((g) => V(g[0]!).key)).size).toBe(groups.length);
    }
  });
});

describe('Version parsing', () => {
  it.each([
    ['1.2.3', 0, [[1], [2], [3]], []],
    ['1!2.0', 1, [[2], [0]], []],
    ['1.1a1', 0, [[1], [1, 'a', 1]], []],
    ['1.1dev1', 0, [[1], [1, 'DEV', 1]], []],
    ['1.1.post1', 0, [[1], [1], [0, Infinity, 1]], []],
    ['1.0.1_', 0, [[1], [0], [1, '_']], []],
    ['1.2+3.4_abc', 0, [[1], [2]], [[3], [4], [0, 'abc']]],
    ['2023.06-rc1', 0, [[2023], [6], [0, 'rc', 1]], []],
    ['1.1.1W', 0, [[1], [1], [1, 'w']], []],
    ['1.*', 0, [[1], [0, '*']], []],
  ] as const)('%s', (text, epoch, segments, local) => {
    const v = V(text);
    expect(v.epoch).toBe(epoch);
    expect(v.segments).toEqual(segments);
    expect(v.local).toEqual(local);
    expect(v.toString()).toBe(text);
  });

  it('keeps the original text (case, dashes) for toString', () => {
    for (const s of ['1.0RC1', '2023-06-01', '1!1.2+Local', '0.4.1.RC']) expect(V(s).toString()).toBe(s);
  });

  it('returns a cached instance for the same string', () => {
    expect(Version.parse('3.11.4')).toBe(Version.parse('3.11.4'));
  });

  it('very long numeric components compare exactly', () => {
    expect(V('1.123456789012345678901').compare(V('1.123456789012345678902'))).toBe(-1);
    expect(V('1.000123456789012345678901').equals(V('1.123456789012345678901'))).toBe(true);
  });

  const INVALID: [string, RegExp][] = [
    ['', /empty/],
    ['   ', /empty/],
    ['1..2', /empty version component/],
    ['1.2.', /empty version component/],
    ['.1', /empty version component/],
    ['1.2+', /empty version component/],
    ['1.2+3+4', /duplicated local version separator/],
    ['+1', /missing version before local/],
    ['1 2', /whitespace/],
    ['1.2 .3', /whitespace/],
    ['1!2!3', /duplicated epoch separator/],
    ['a!1.0', /epoch must be an integer/],
    ['a!b!1.0', /duplicated epoch/],
    ['!', /epoch must be an integer|empty/],
    ['1!', /empty/],
    ['5.5++', /duplicated local version separator|empty/],
    ['5.5..mw', /empty version component/],
    ['5.5.mw.', /empty version component/],
    ['1-2_3', /invalid character/],
    ['1.2@3', /invalid character/],
    ['1.2,3', /invalid character/],
    ['>=1.2', /invalid character/],
    ['ä1', /invalid character/],
    ['1__2', /empty version component/],
  ];
  it.each(INVALID)('rejects %j with InvalidVersionError naming it', (text, why) => {
    let err: unknown;
    try {
      V(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidVersionError);
    expect((err as InvalidVersionError).code).toBe('E_INVALID_VERSION');
    expect((err as Error).message).toContain(`'${text}'`);
    expect((err as Error).message).toMatch(why);
  });

  it('tryParse returns undefined instead of throwing', () => {
    expect(Version.tryParse('1..2')).toBeUndefined();
    expect(Version.tryParse('1.2')?.toString()).toBe('1.2');
  });
});

describe('Version.startsWith (the 1.2.* operator)', () => {
  it.each([
    ['1.2.3', '1.2', true],
    ['1.2', '1.2', true],
    ['1.2.0', '1.2', true],
    ['1.20', '1.2', false],
    ['1.3', '1.2', false],
    ['1.0', '1.0.0', true],
    ['1', '1.0.0', true],
    ['1.0.1', '1.0.0', false],
    ['2013ab', '2013a', true],
    ['2013a', '2013b', false],
    ['2013a', '2013a', true],
    ['1.2.3+4.5.6', '1.2.3', true],
    ['1.2.3+4.5.6', '1.2.3+4', true],
    ['1.2.3+4.5.6', '1.2.3+5', false],
    ['1.2.4+5.6', '1.2.4+5', true],
    ['3.3.0.0', '3.3', true],
    ['3.3.1', '3.3', true],
    ['3.4', '3.3', false],
    ['1!1.2.3', '1.2', false],
    ['1!1.2.3', '1!1.2', true],
    // conda quirk kept on purpose: the last prefix segment only has to match the leading number.
    ['1.2a1', '1.2', true],
    ['1.2.a1', '1.2', true],
    ['1.2rc1', '1.2r', true],
    ['1.2rc1', '1.2b', false],
  ])('%s starts with %s: %s', (v, prefix, want) => {
    expect(V(v).startsWith(V(prefix))).toBe(want);
  });
});

describe('Version.compatibleWith (~=)', () => {
  it.each([
    ['1.11.0', '1.10', true],
    ['1.11.0', '1.10.0', false],
    ['3.4.0', '3.3.2', false],
    ['3.3.1', '3.3.2', false],
    ['3.3.2.0', '3.3.2', true],
    ['3.3.3', '3.3.2', true],
    ['2.0', '1.10', false],
    ['1.10', '1.10', true],
    ['1.9', '1.10', false],
    ['1!2.5', '1!2.4', true],
    ['2.5', '1!2.4', false],
  ])('%s ~= %s: %s', (v, base, want) => {
    expect(V(v).compatibleWith(V(base))).toBe(want);
  });
});

describe('Version.bumpLast', () => {
  it.each([
    ['1.2.3', '1.2.4'],
    ['1.2', '1.3'],
    ['9', '10'],
    ['1.1.1w', '1.1.2'],
    ['2!1.9rc1', '2!1.10'],
    ['1.2.3+local', '1.2.4'],
    ['1.99999999999999999', '1.100000000000000000'],
  ])('%s -> %s', (v, want) => {
    const b = V(v).bumpLast();
    expect(b.toString()).toBe(want);
    expect(b.compare(V(v))).toBe(1);
  });
});

describe('Version: differential against rattler on real repodata versions', () => {
  const require = createRequire(import.meta.url);
  const rattler = require('@conda-org/rattler') as { Version: new (s: string) => { compare(o: unknown): number } };
  const files = [
    'repodata/conda-defaults-2018/index4.flat.json',
    'repodata/conda-defaults-2018/r__linux-64__repodata.json',
    'repodata/rattler/pytorch__linux-64__repodata.json',
    'repodata/conda-forge-subchannel-py39-2024-05/linux-64/repodata.json',
  ];
  it.skipIf(!haveFixtures)('orders every sampled pair of ~2000 real versions like rattler', () => {
    const versions = new Set<string>();
    for (const f of files) {
      const recs = rawFixtureRecords(f);
      for (const r of recs as { version: string }[]) versions.add(r.version);
    }
    const list = [...versions];
    expect(list.length).toBeGreaterThan(1000);
    const mine = list.map((s) => Version.parse(s));
    const theirs = list.map((s) => new rattler.Version(s));
    const mismatches: string[] = [];
    for (let i = 0; i < list.length; i++) {
      for (let k = 1; k <= 25; k++) {
        const j = (i * 7919 + k * 104729) % list.length;
        const a = mine[i]!.compare(mine[j]!);
        const b = Math.sign(theirs[i]!.compare(theirs[j]!));
        if (a !== b) mismatches.push(`${list[i]} vs ${list[j]}: ours ${a}, rattler ${b}`);
        if ((a === 0) !== (mine[i]!.key === mine[j]!.key)) mismatches.push(`${list[i]} vs ${list[j]}: key disagrees with compare`);
      }
    }
    expect(mismatches).toEqual([]);
    // And the full sort is consistent with rattler's pairwise order.
    const sorted = mine.slice().sort(Version.compare);
    for (let i = 0; i + 1 < sorted.length; i++) expect(sorted[i]!.compare(sorted[i + 1]!)).toBeLessThanOrEqual(0);
  });
});
