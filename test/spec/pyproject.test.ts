/**
 * src/spec/pyproject.ts: conda-lock's reading of pyproject.toml — poetry constraints, categories,
 * markers per platform, the PyPI/conda split, positions in errors.
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { parsePyprojectToml, poetryClauses } from '../../src/spec/pyproject.js';
import { loadEnvironmentFile } from '../../src/spec/environment.js';
import { fixture, haveFixtures } from '../support/fixtures.js';
import { existsSync } from 'node:fs';

const parse = (text: string, opts = {}) => parsePyprojectToml(text, 'pyproject.toml', opts);
const specs = (text: string, opts = {}) => parse(text, opts).dependencies.map((d) => `${d.category ?? 'main'}:${d.spec.toString()}${d.platforms ? ` @${d.platforms.join(',')}` : ''}`);
function thrown(fn: () => unknown): InputError {
  try {
    fn();
  } catch (err) {
    return err as InputError;
  }
  throw new Error('did not throw');
}

describe('poetry constraints', () => {
  it.each([
    ['^1.2.3', '>=1.2.3,<2.0.0'],
    ['^0.14.2', '>=0.14.2,<0.15.0'],
    ['^0.0.1', '>=0.0.1,<0.0.2'],
    ['^2.3', '>=2.3.0,<3.0.0'],
    ['~1.2.3', '>=1.2.3,<1.3.0'],
    ['~1.2', '>=1.2.0,<1.3.0'],
    ['~1', '>=1.0.0,<2.0.0'],
    ['>=1, <2', '>=1,<2'],
    ['>= 1 < 2', '>=1,<2'],
    ['1.2.3', '==1.2.3'],
    ['1.2.*', '1.2.*'],
    ['~=1.4', '~=1.4'],
    ['>=1.6,<1.8 || >=1.9,<3', '>=1.6,<1.8|>=1.9,<3'],
    // Pre-, post- and dev-releases keep their suffix on the lower bound (PEP 440's normal form).
    ['^1.2.3b1', '>=1.2.3b1,<2.0.0'],
    ['^0.8.post1', '>=0.8.0.post1,<0.9.0'],
    ['~1.2.3rc1', '>=1.2.3rc1,<1.3.0'],
    ['^2.0.0-beta.1', '>=2.0.0b1,<3.0.0'],
    ['^1.0.dev3', '>=1.0.0.dev3,<2.0.0'],
    ['= 1.2', '==1.2'],
  ])('%s → %s', (poetry, conda) => {
    const text = `[tool.poetry.dependencies]\npkg = "${poetry}"\n[tool.conda-lock]\nchannels = ["conda-forge"]\n`;
    expect(specs(text)).toEqual([`main:pkg ${conda}`]);
  });

  it('"" and "*" are any version; garbage is E_PYPROJECT at its line', () => {
    expect(poetryClauses('')).toEqual([]);
    expect(poetryClauses('*')).toEqual([]);
    const err = thrown(() => parse('[tool.poetry.dependencies]\npython = "^3.9"\nbad = "^x.y"\n'));
    expect(err.code).toBe('E_PYPROJECT');
    expect(err.location).toMatchObject({ line: 3, column: 1 });
  });
});

describe('categories and sources', () => {
  it('poetry: a dependency in two extras is in both categories; groups are categories; dev-dependencies are dev', () => {
    const text = [
      '[tool.poetry.dependencies]',
      'python = "^3.9"',
      'regex = { version = ">=2021", optional = true }',
      '[tool.poetry.group.docs.dependencies]',
      'mkdocs = "*"',
      '[tool.poetry.dev-dependencies]',
      'pytest = "*"',
      '[tool.poetry.extras]',
      'pandas = ["regex"]',
      'sqlite = ["regex"]',
    ].join('\n');
    expect(specs(text)).toEqual(['main:python >=3.9.0,<4.0.0', 'pandas:regex >=2021', 'sqlite:regex >=2021', 'dev:pytest', 'docs:mkdocs']);
  });

  it('PEP 621: the dev and test extras are dev (as conda-lock); a self-referencing extra takes the named extras', () => {
    const text = [
      '[project]',
      'name = "My_Proj"',
      'dependencies = ["numpy >=1.26"]',
      '[project.optional-dependencies]',
      'test = ["pytest"]',
      'cli = ["click ==8.*"]',
      'all = ["my-proj[cli,test]"]',
    ].join('\n');
    expect(specs(text)).toEqual(['main:numpy >=1.26', 'dev:pytest', 'cli:click 8.*', 'all:click 8.*', 'all:pytest']);
  });

  it('markers: platform ones select platforms; python_version counts as true with a warning', () => {
    const env = parse('[project]\ndependencies = ["pywin32 ; sys_platform == \'win32\'", "tomli ; python_version < \'3.11\'"]\n');
    expect(env.dependencies.map((d) => `${d.spec.name} ${d.platforms?.join(',') ?? 'all'}`)).toEqual(['pywin32 win-64,win-arm64', 'tomli all']);
    expect(env.warnings.map((w) => w.message).join('\n')).toMatch(/tomli.*python_version cannot be known before the conda solve/);
  });

  it('PyPI names map to conda names; null from the mapping, source = "pypi" and default-non-conda-source = "pip" make PyPI requirements', () => {
    const toConda = (n: string) => ({ torch: 'pytorch', docker: 'docker-py' } as Record<string, string>)[n] ?? (n === 'notonconda' ? null : n);
    const env = parse(
      '[project]\ndependencies = ["torch >=2", "docker", "notonconda >=1", "rich"]\n[tool.conda-lock.dependencies]\npython = "3.11.*"\nrich = {source = "pypi"}\n',
      { pypiToConda: toConda },
    );
    expect(env.dependencies.map((d) => d.spec.toString())).toEqual(['python 3.11.*', 'pytorch >=2', 'docker-py']);
    expect(env.pip!.requirements.map((r) => r.text)).toEqual(['notonconda >=1', 'rich']);
    const pip = parse('[project]\ndependencies = ["requests >=2"]\n[project.optional-dependencies]\ndev = ["pytest"]\n[tool.conda-lock]\ndefault-non-conda-source = "pip"\n');
    expect(pip.dependencies).toEqual([]);
    expect(pip.pip!.requirements.map((r) => `${r.category ?? 'main'}:${r.text}`)).toEqual(['main:requests >=2', 'dev:pytest']);
  });

  it('pip-repositories are extra indexes; allow-pypi-requests = false makes the first the index, and without any is E_PYPROJECT', () => {
    const base = '[project]\ndependencies = ["requests"]\n[tool.conda-lock]\ndefault-non-conda-source = "pip"\n';
    expect(parse(`${base}pip-repositories = ["https://a.example/simple"]\n`).pip).toMatchObject({ extraIndexUrls: ['https://a.example/simple'] });
    const closed = parse(`${base}allow-pypi-requests = false\npip-repositories = ["https://a.example/simple", "https://b.example/simple"]\n`).pip!;
    expect(closed.indexUrl).toBe('https://a.example/simple');
    expect(closed.extraIndexUrls).toEqual(['https://b.example/simple']);
    const err = thrown(() => parse(`${base}allow-pypi-requests = false\n`));
    expect(err.code).toBe('E_PYPROJECT');
    expect(err.location?.line).toBe(5);
  });

  it('skip-non-conda-lock: only [tool.conda-lock.dependencies]; nothing at all is E_ENV_EMPTY', () => {
    expect(specs('[project]\ndependencies = ["requests"]\n[tool.conda-lock]\nskip-non-conda-lock = true\n[tool.conda-lock.dependencies]\nsqlite = "*"\n')).toEqual(['main:sqlite']);
    expect(thrown(() => parse('[tool.black]\nline_length = 88\n')).code).toBe('E_ENV_EMPTY');
  });

  it.each([
    ['[tool.conda-lock]\nchannels = "conda-forge"\n', 2, /channels must be a list of strings/],
    ['[tool.conda-lock]\ndependencies = ["numpy"]\n', 2, /dependencies must be a table/],
    ['[tool.conda-lock.dependencies]\nnumpy = 1.26\n', 2, /numpy: the version spec must be a string/],
    ['[tool.conda-lock.dependencies]\nnumpy = {version = "1"}\n', 2, /can only be \{source = "pypi"\}/],
    ['[tool.conda-lock]\ndefault-non-conda-source = "mamba"\n[tool.conda-lock.dependencies]\nx = "*"\n', 2, /must be "conda" or "pip"/],
    ['[tool.conda-lock]\nskip-non-conda-lock = "yes"\n[tool.conda-lock.dependencies]\nx = "*"\n', 2, /must be true or false/],
    ['[project]\ndependencies = "numpy"\n', 2, /project.dependencies must be a list of PEP 508/],
    ['[project]\ndependencies = []\noptional-dependencies = ["x"]\n', 3, /must be a table of extra/],
    ['[tool.poetry.dependencies]\nnumpy = 1979-05-27\n', 2, /a poetry dependency is "version"/],
    ['[tool.poetry.dependencies]\nnumpy = {version = 2}\n', 2, /version must be a string/],
    ['[tool.poetry]\ndependencies = 3\n', 2, /tool.poetry.dependencies must be a table/],
  ])('wrong types are E_PYPROJECT at their line, never a crash: %s', (text, line, message) => {
    const err = thrown(() => parse(text));
    expect(err).toBeInstanceOf(InputError);
    expect(err.code).toBe('E_PYPROJECT');
    expect(err.location?.line).toBe(line);
    expect(err.message).toMatch(message);
  });

  it('[dependency-groups] (PEP 735) is not read (as conda-lock), with a warning at its table', () => {
    const env = parse('[project]\ndependencies = ["numpy"]\n\n[dependency-groups]\ndev = ["pytest"]\n');
    expect(env.dependencies.map((d) => d.spec.name)).toEqual(['numpy']);
    expect(env.warnings).toEqual([expect.objectContaining({ message: expect.stringMatching(/\[dependency-groups\] \(PEP 735\) is not read/), location: expect.objectContaining({ line: 4 }) })]);
  });

  it('broken TOML is E_TOML with line and column', () => {
    const err = thrown(() => parse('[tool.conda-lock]\nchannels = [\n  "conda-forge",\n  oops\n]\n'));
    expect(err.code).toBe('E_TOML');
    expect(err.location).toMatchObject({ file: 'pyproject.toml', line: 4 });
    expect(err.message).toMatch(/pyproject.toml:4:3: invalid TOML: invalid value/);
  });
});

describe.skipIf(!haveFixtures || !existsSync(fixture('environments', 'conda-lock-tests', 'test-poetry-ibis')))('conda-lock\'s ibis pyproject.toml (real, 400 lines)', () => {
  it('reads every section: main, the 25 extras, dev/test/docs groups; channels from [tool.conda-lock]', () => {
    const env = loadEnvironmentFile(fixture('environments', 'conda-lock-tests', 'test-poetry-ibis', 'pyproject.toml'));
    expect(env.channels).toEqual(['conda-forge']);
    const cats = new Set(env.dependencies.map((d) => d.category ?? 'main'));
    expect([...cats].sort()).toEqual(['all', 'bigquery', 'clickhouse', 'dask', 'datafusion', 'decompiler', 'dev', 'docs', 'druid', 'duckdb', 'geospatial', 'impala', 'main', 'mssql', 'mysql', 'pandas', 'polars', 'postgres', 'pyspark', 'snowflake', 'sqlite', 'test', 'trino', 'visualization']);
    const shapely = env.dependencies.find((d) => d.spec.name === 'shapely' && d.category === 'geospatial')!;
    expect(shapely.spec.toString()).toBe('shapely >=1.6,<1.8|>=1.9,<3');
    expect(shapely.line).toBe(80);
  });
});

describe('pyproject.toml edge sizes', () => {
  it('"*" as one alternative or clause allows any version; it does not narrow to the others', () => {
    expect(poetryClauses('* || >=2')).toEqual([]);
    expect(poetryClauses('*, !=1.5')).toEqual([[{ op: '!=', version: '1.5' }]]);
  });

  it('a [ followed by thousands of spaces (inside a multi-line string) and 20,000 dependencies are read, not hung on', () => {
    const deps = Array.from({ length: 20_000 }, (_, i) => `  "pkg${i} >=1",`).join('\n');
    const text = `[project]\nname = "p"\ndescription = """\n[${' '.repeat(6000)}x\n"""\ndependencies = [\n${deps}\n]\n[tool.conda-lock]\nchannels = ["conda-forge"]\n`;
    expect(parse(text).dependencies).toHaveLength(20_000);
  });

  it('without a mapping, a conda name is the name as written, lowercased (ruamel.yaml stays ruamel.yaml)', () => {
    const text = '[project]\nname = "p"\ndependencies = ["ruamel.yaml >=0.17", "Zope.Interface"]\n[tool.conda-lock]\nchannels = ["conda-forge"]\n';
    expect(specs(text)).toEqual(['main:ruamel.yaml >=0.17', 'main:zope.interface']);
  });
});
