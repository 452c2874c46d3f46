import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { Pep440Version, Specifier, SpecifierSet } from '../../src/pypi/version.js';
import { cases, haveVectors, vectors, vectorsSkip } from './vectors.js';

const F = 'test_version';

/** A vector item that was a packaging Version object: `{__repr__: "<Version('2.0')>"}`. */
function reprVersion(x: unknown): string {
  if (typeof x === 'string') return x;
  const m = /<Version\('(.*)'\)>/.exec((x as { __repr__: string }).__repr__);
  return Pep440Version.parse(m![1]!).toString();
}
const S = 'test_specifiers';

/** Run every case; report all failures at once (a table-driven test names each bad vector). */
function check<T>(list: T[], fn: (c: T) => boolean | string): void {
  const bad: string[] = [];
  for (const c of list) {
    let r: boolean | string;
    try {
      r = fn(c);
    } catch (err) {
      r = `threw ${(err as Error).message}`;
    }
    if (r !== true) bad.push(`${JSON.stringify(c)}${typeof r === 'string' ? ` → ${r}` : ''}`);
  }
  expect(bad.slice(0, 20), `${bad.length} of ${list.length} failed`).toEqual([]);
  expect(list.length).toBeGreaterThan(0);
}

describe.skipIf(!haveVectors)('PEP 440 versions against pypa/packaging vectors', () => {
  if (!haveVectors) console.warn(vectorsSkip);
  type P = { version: string };
  it('valid versions parse, invalid ones are refused', () => {
    check(cases<P>(F, 'TestVersion::test_valid_versions'), (c) => Pep440Version.tryParse(c.version) !== undefined);
    check(cases<P>(F, 'TestVersion::test_invalid_versions'), (c) => Pep440Version.tryParse(c.version) === undefined);
    expect(() => Pep440Version.parse('french toast')).toThrow(InputError);
  });

  it('normalised forms and str()', () => {
    check(cases<{ version: string; normalized: string }>(F, 'TestVersion::test_normalized_versions'), (c) => Pep440Version.parse(c.version).toString() === c.normalized || Pep440Version.parse(c.version).toString());
    check(cases<{ version: string; expected: string }>(F, 'TestVersion::test_version_str_repr'), (c) => Pep440Version.parse(c.version).toString() === c.expected);
  });

  it('public, base_version, epoch, release, pre, post, dev, local', () => {
    check(cases<{ version: string; public: string }>(F, 'TestVersion::test_version_public'), (c) => Pep440Version.parse(c.version).public() === c.public);
    check(cases<{ version: string; base_version: string }>(F, 'TestVersion::test_version_base_version'), (c) => Pep440Version.parse(c.version).baseVersion() === c.base_version);
    check(cases<{ version: string; epoch: number }>(F, 'TestVersion::test_version_epoch'), (c) => Pep440Version.parse(c.version).epoch === c.epoch);
    check(cases<{ version: string; release: number[] }>(F, 'TestVersion::test_version_release'), (c) => JSON.stringify(Pep440Version.parse(c.version).release) === JSON.stringify(c.release));
    check(cases<{ version: string; pre: [string, number] | null }>(F, 'TestVersion::test_version_pre'), (c) => JSON.stringify(Pep440Version.parse(c.version).pre ?? null) === JSON.stringify(c.pre));
    check(cases<{ version: string; post: number | null }>(F, 'TestVersion::test_version_post'), (c) => (Pep440Version.parse(c.version).post ?? null) === c.post);
    check(cases<{ version: string; dev: number | null }>(F, 'TestVersion::test_version_dev'), (c) => (Pep440Version.parse(c.version).dev ?? null) === c.dev);
    check(cases<{ version: string; local: string | null }>(F, 'TestVersion::test_version_local'), (c) => {
      const l = Pep440Version.parse(c.version).local;
      return (l ? l.join('.') : null) === c.local;
    });
    check(cases<{ version: string; expected: boolean }>(F, 'TestVersion::test_version_is_prerelease'), (c) => Pep440Version.parse(c.version).isPrerelease() === c.expected);
    check(cases<{ version: string; expected: boolean }>(F, 'TestVersion::test_version_is_devrelease'), (c) => Pep440Version.parse(c.version).isDevrelease() === c.expected);
    check(cases<{ version: string; expected: boolean }>(F, 'TestVersion::test_version_is_postrelease'), (c) => Pep440Version.parse(c.version).isPostrelease() === c.expected);
  });

  it('orders VERSIONS_SORTED exactly (every pair: <, ==, > consistent)', () => {
    const sorted = vectors(F).VERSIONS_SORTED as string[];
    expect(sorted.length).toBe(92);
    const parsed = sorted.map((s) => Pep440Version.parse(s));
    const bad: string[] = [];
    for (let i = 0; i < parsed.length; i++) {
      for (let j = 0; j < parsed.length; j++) {
        const want = Math.sign(i - j);
        if (Math.sign(parsed[i]!.compare(parsed[j]!)) !== want) bad.push(`${sorted[i]} vs ${sorted[j]}`);
      }
    }
    expect(bad.slice(0, 10)).toEqual([]);
  });
});

describe.skipIf(!haveVectors)('PEP 440 specifiers against pypa/packaging vectors', () => {
  it('valid and invalid specifiers', () => {
    check(cases<{ specifier: string }>(S, 'TestSpecifier::test_specifiers_valid'), (c) => Specifier.parse(c.specifier) !== undefined);
    check(cases<{ specifier: string }>(S, 'TestSpecifier::test_specifiers_invalid'), (c) => {
      try {
        Specifier.parse(c.specifier);
        return 'accepted';
      } catch (err) {
        return err instanceof InputError;
      }
    });
  });

  it('version in spec (prereleases=True), including wildcards, ~=, local and post-release rules', () => {
    check(cases<{ version: string; spec_str: string; expected: boolean }>(S, 'TestSpecifier::test_specifiers'), (c) => Specifier.parse(c.spec_str).contains(c.version) === c.expected);
    check(cases<{ version: string; spec_str: string; expected: boolean }>(S, 'TestSpecifier::test_invalid_version'), (c) => Specifier.parse(c.spec_str).contains(c.version) === c.expected);
    check(cases<{ version: string; spec_str: string; expected: boolean }>(S, 'TestSpecifier::test_arbitrary_equality'), (c) => Specifier.parse(c.spec_str).contains(c.version) === c.expected);
    check(cases<{ version: string; specifier: string; expected: boolean }>(S, 'TestSpecifierSet::test_comparison_ignores_local'), (c) => SpecifierSet.parse(c.specifier).contains(c.version, true) === c.expected);
    check(cases<{ spec_str: string; version: string; expected: boolean }>(S, 'TestSpecifierSet::test_contains_post_release_boundary_intersection'), (c) => SpecifierSet.parse(c.spec_str).contains(c.version, true) === c.expected);
  });

  it('pre-release detection and SpecifierSet.filter', () => {
    check(cases<{ specifier: string; expected: boolean }>(S, 'TestSpecifier::test_specifier_prereleases_detection'), (c) => SpecifierSet.parse(c.specifier).allowsPrereleases() === c.expected);
    type Fc = { specifier: string; specifier_prereleases: boolean | null; prereleases: boolean | null; input: string[]; expected: string[] };
    check(cases<Fc>(S, 'TestSpecifierSet::test_specifier_filter'), (c) => {
      const got = SpecifierSet.parse(c.specifier, c.specifier_prereleases ?? undefined).filter(c.input, reprVersion, c.prereleases ?? undefined);
      return JSON.stringify(got) === JSON.stringify(c.expected) || JSON.stringify(got);
    });
  });
});
