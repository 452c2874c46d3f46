import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { Marker, type MarkerEnvironment } from '../../src/pypi/markers.js';
import { canonicalName } from '../../src/pypi/name.js';
import { formatRequirement, parseRequirement } from '../../src/pypi/requirement.js';
import { cases, haveVectors } from './vectors.js';

const M = 'test_markers';
const R = 'test_requirements';

/** packaging's default_environment() on the Python that made the vectors (3.11.7, Linux x86_64). */
const HOST: MarkerEnvironment = {
  implementation_name: 'cpython',
  implementation_version: '3.11.7',
  os_name: 'posix',
  platform_machine: 'x86_64',
  platform_release: '6.1.0',
  platform_system: 'Linux',
  platform_version: '#1 SMP',
  python_full_version: '3.11.7',
  platform_python_implementation: 'CPython',
  python_version: '3.11',
  sys_platform: 'linux',
};

function all<T>(list: T[], fn: (c: T) => boolean | string): void {
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
  expect(bad.slice(0, 15), `${bad.length} of ${list.length} failed`).toEqual([]);
  expect(list.length).toBeGreaterThan(0);
}

describe.skipIf(!haveVectors)('PEP 508 markers against pypa/packaging vectors', () => {
  it('parses the 1440 valid marker strings, the PEP 345 and setuptools spellings; refuses invalid ones', () => {
    all(cases<{ marker_string: string }>(M, 'TestMarker::test_parses_valid'), (c) => Marker.parse(c.marker_string) !== undefined);
    all(cases<{ marker_string: string }>(M, 'TestMarker::test_parses_pep345_valid'), (c) => Marker.parse(c.marker_string) !== undefined);
    all(cases<{ marker_string: string }>(M, 'TestMarker::test_parses_setuptools_legacy_valid'), (c) => Marker.parse(c.marker_string) !== undefined);
    all(cases<{ marker_string: string }>(M, 'TestMarker::test_parses_invalid'), (c) => {
      try {
        Marker.parse(c.marker_string);
        return 'accepted';
      } catch (err) {
        return err instanceof InputError;
      }
    });
  });

  it('canonical str()', () => {
    all(cases<{ marker_string: string; expected: string }>(M, 'TestMarker::test_str_repr_eq_hash'), (c) => Marker.parse(c.marker_string).toString() === c.expected || Marker.parse(c.marker_string).toString());
  });

  it('evaluates for an environment, extra normalised (PEP 685)', () => {
    type E = { marker_string: string; environment: Partial<MarkerEnvironment & { extra: string }> | null; expected: boolean };
    const run = (c: E) => {
      const { extra, ...env } = c.environment ?? {};
      return Marker.parse(c.marker_string).evaluate({ ...HOST, ...env }, extra !== undefined && extra !== '' ? [extra] : []) === c.expected;
    };
    all(cases<E>(M, 'TestMarker::test_evaluates'), run);
    all(cases<E>(M, 'TestMarker::test_evaluate_pep345_markers'), run);
    all(cases<E>(M, 'TestMarker::test_version_like_equality'), run);
    all(cases<{ expression: string; result: boolean; variable: string }>(M, 'TestMarker::test_extras_and_dependency_groups'), (c) => {
      const m = Marker.parse(c.expression.replaceAll('{0}', c.variable));
      const set = ['foo', 'bar'];
      return m.evaluate(HOST, c.variable === 'extras' ? set : [], c.variable === 'dependency_groups' ? set : []) === c.result;
    });
  });

  it('evaluates for a lock target, not this machine', () => {
    const win: MarkerEnvironment = { ...HOST, os_name: 'nt', sys_platform: 'win32', platform_system: 'Windows', platform_machine: 'AMD64', python_version: '3.9', python_full_version: '3.9.18' };
    expect(Marker.parse('sys_platform == "win32" and python_version < "3.10"').evaluate(win)).toBe(true);
    expect(Marker.parse('sys_platform == "win32" and python_version < "3.10"').evaluate(HOST)).toBe(false);
    expect(Marker.parse('python_full_version >= "3.9.17"').evaluate(win)).toBe(true);
    expect(Marker.parse('platform_machine == "arm64" or implementation_name == "pypy"').evaluate(win)).toBe(false);
  });
});

describe.skipIf(!haveVectors)('PEP 508 requirements against pypa/packaging vectors', () => {
  it('the 5184 generated combinations: name, extras, specifier/url and marker', () => {
    type B = { whitespace: string; marker: string | null; url: string | null; specifier: string; extras: { __set__: string[] }; name: string };
    all(cases<B>(R, 'test_basic_valid_requirement_parsing'), (c) => {
      const ws = c.whitespace;
      const fill = (s: string) => s.replaceAll('{ws}', ws);
      const extras = c.extras.__set__.length ? `[${c.extras.__set__.join(`${ws},${ws}`)}]` : '';
      let line = `${c.name}${ws}${extras}${ws}`;
      if (c.url) line += `@${ws}${c.url}${c.marker ? ' ' : ''}`;
      else line += fill(c.specifier);
      if (c.marker) line += `${ws};${ws}${fill(c.marker)}`;
      const r = parseRequirement(line);
      if (r.name !== c.name) return `name ${r.name}`;
      if (JSON.stringify(r.extras) !== JSON.stringify(c.extras.__set__.map(canonicalName).sort())) return `extras ${r.extras}`;
      if ((r.url ?? null) !== c.url) return `url ${r.url}`;
      const want = fill(c.specifier).replace(/[()\s]/g, '');
      if (!c.url && r.specifier.toString() !== want.split(',').filter(Boolean).sort().join(',')) return `specifier ${r.specifier}`;
      if (Boolean(r.marker) !== Boolean(c.marker)) return 'marker';
      return true;
    });
  });

  it('normalises names in comparisons and refuses bad lines', () => {
    all(cases<{ dep1: string; dep2: string }>(R, 'TestRequirementBehaviour::test_equivalent_reqs_equal_hashes_unequal_strings'), (c) => parseRequirement(c.dep1).key === parseRequirement(c.dep2).key);
    for (const bad of ['name>=1\n', 'name==1.0.post1.*', 'name>=1.0+local', 'name; os_name == "C:\\"', 'this is not a valid requirement', 'pkg[', 'pkg @', 'pkg ; ']) {
      expect(() => parseRequirement(bad), bad).toThrow(InputError);
    }
    expect(() => parseRequirement('pkg ==1.0 junk')).toThrow(/invalid requirement 'pkg ==1.0 junk'/);
  });

  it("matplotlib's nbconvert[execute]!=6.0.0,!=6.0.1,!=6.0.2 and wheel METADATA's name (specs) style", () => {
    const r = parseRequirement('nbconvert[execute]!=6.0.0,!=6.0.1,!=6.0.2');
    expect(r.key).toBe('nbconvert');
    expect(r.extras).toEqual(['execute']);
    expect(r.specifier.contains('6.0.1')).toBe(false);
    expect(r.specifier.contains('7.16.4')).toBe(true);
    const m = parseRequirement('PySocks (!=1.5.7,>=1.5.6) ; extra == "socks"');
    expect(m.key).toBe('pysocks');
    expect(m.specifier.toString()).toBe('!=1.5.7,>=1.5.6');
    expect(m.marker!.evaluate(HOST, ['socks'])).toBe(true);
    expect(m.marker!.evaluate(HOST)).toBe(false);
    expect(formatRequirement(m)).toBe('PySocks!=1.5.7,>=1.5.6; extra == "socks"');
    const u = parseRequirement('pip @ https://example.com/pip-23.0-py3-none-any.whl ; python_version >= "3.7"');
    expect(u.url).toBe('https://example.com/pip-23.0-py3-none-any.whl');
    expect(u.marker!.toString()).toBe('python_version >= "3.7"');
  });
});

describe.skipIf(!haveVectors)('PEP 503 names against pypa/packaging vectors', () => {
  it('canonicalize_name', () => {
    all(cases<{ name: string; expected: string }>('test_utils', 'test_canonicalize_name'), (c) => canonicalName(c.name) === c.expected);
  });
});
