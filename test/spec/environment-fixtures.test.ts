/**
 * Every *.yml / *.yaml under ../shared/fixtures/environments, each with its explicit expectation:
 * it parses (and what it reads back), or it fails with a specific code, line and reason.
 */
import { readFileSync } from 'node:fs';
import fg from 'fast-glob';
import { describe, expect, it } from 'vitest';
import { loadEnvironmentFile, matchSpecsFor } from '../../src/spec/environment.js';
import { parseVirtualPackageSpecFile } from '../../src/spec/virtual-packages.js';
import { defaultVirtualPackages, formatVirtualPackages } from '../../src/conda/virtual-packages.js';
import { InputError } from '../../src/errors.js';
import { fixture, fixturesSkipReason, haveFixtures } from '../support/fixtures.js';

interface Parses {
  name?: string;
  channels: string[];
  nodefaults?: boolean;
  platforms?: string[];
  deps: string[];
  /** dependency text → selector */
  selectors?: Record<string, string>;
  warnings?: RegExp[];
  /** conda-lock's `category:` of the file (every dependency carries it); undefined: main. */
  category?: string;
}
interface Fails {
  code: string;
  line?: number;
  column?: number;
  message: RegExp;
  /** Text expected on the reported line of the file. */
  lineHas?: string;
}
/** A file with a `- pip:` section at this line: it parses, or refuses one pip line by name. */
interface PipSectionAt {
  line: number;
  column: number;
}
type Expectation = { parses: Parses } | { fails: Fails } | { pip: PipSectionAt };

const pip = (line: number, column = 5): Expectation => ({ pip: { line, column } });
const lockfile = (line: number): Expectation => ({
  fails: { code: 'E_ENV_NOT_ENVIRONMENT', line, column: 1, message: /conda-lock lockfile, not an environment file/ },
});
const vpSpec: Expectation = {
  fails: { code: 'E_ENV_NOT_ENVIRONMENT', line: 1, column: 1, message: /virtual package spec file.*--virtual-package-spec/ },
};

const EXPECTED: Record<string, Expectation> = {
  'conda-lock-tests/gdal/environment.yml': pip(8),
  'conda-lock-tests/test-archspec/virtual-packages.yaml': vpSpec,
  'conda-lock-tests/test-channel-inversion/environment.yaml': {
    parses: { channels: ['conda-forge', 'defaults'], deps: ['zlib', 'defaults::libgomp'] },
  },
  'conda-lock-tests/test-cuda/environment.yaml': {
    parses: { name: 'cuda', channels: ['conda-forge'], deps: ['cudatoolkit >=11,<12', 'cudnn >=8,<9'] },
  },
  'conda-lock-tests/test-cuda/virtual-packages-old-glibc.yaml': vpSpec,
  'conda-lock-tests/test-cuda/virtual-packages.yaml': vpSpec,
  'conda-lock-tests/test-dependency-removal/environment-postupdate.yml': {
    parses: { channels: ['conda-forge'], platforms: ['linux-64'], deps: ['zlib'] },
  },
  'conda-lock-tests/test-dependency-removal/environment-preupdate.yml': {
    parses: { channels: ['conda-forge'], platforms: ['linux-64'], deps: ['zlib', 'xz'] },
  },
  'conda-lock-tests/test-env-filter-platform/environment.yml': {
    parses: {
      channels: ['conda-forge'],
      platforms: ['linux-64', 'osx-64', 'osx-arm64'],
      deps: ['python <3.11', 'clang_osx-arm64', 'clang_osx-64', 'gcc_linux-64>=6'],
      selectors: { 'clang_osx-arm64': 'arm64', 'clang_osx-64': 'osx64', 'gcc_linux-64>=6': 'linux64' },
    },
  },
  'conda-lock-tests/test-env-nodefaults/environment.yml': {
    parses: { channels: ['conda-forge'], nodefaults: true, deps: ['python <3.11'] },
  },
  'conda-lock-tests/test-env-yaml-allow-pypi-requests/env.explicit.yml': pip(11),
  'conda-lock-tests/test-env-yaml-allow-pypi-requests/env.implicit.yml': pip(9),
  'conda-lock-tests/test-env-yaml-allow-pypi-requests/env.no-pypi-requests.yml': pip(11),
  'conda-lock-tests/test-environment-blas-mkl/conda-lock.yml': lockfile(13),
  'conda-lock-tests/test-environment-blas-mkl/environment.yml': {
    parses: { channels: ['conda-forge'], deps: ['numpy', 'blas[build=mkl]'] },
  },
  'conda-lock-tests/test-explicit-toposorted/conda-lock.yml': lockfile(13),
  'conda-lock-tests/test-explicit-toposorted/environment.yml': pip(10),
  'conda-lock-tests/test-git-package/environment.yml': {
    parses: { channels: ['conda-forge'], platforms: ['osx-64'], deps: ['git'] },
  },
  'conda-lock-tests/test-git-tag/environment.yml': pip(6),
  'conda-lock-tests/test-git/environment.yml': pip(6),
  'conda-lock-tests/test-input-hash-zlib/environment.yml': {
    parses: { channels: ['conda-forge', 'defaults'], deps: ['zlib'] },
  },
  'conda-lock-tests/test-install-with-pip-deps/conda-lock.yml': lockfile(13),
  'conda-lock-tests/test-install-with-pip-deps/environment.yml': pip(5, 3),
  'conda-lock-tests/test-local-pip/environment.yml': pip(8),
  'conda-lock-tests/test-lockfile/conda-lock.yml': lockfile(15),
  'conda-lock-tests/test-lookup/emoji-to-python-dateutil-lookup.yml': {
    fails: { code: 'E_ENV_SCHEMA', line: 4, column: 1, message: /unknown key 'python-dateutil'/, lineHas: 'python-dateutil:' },
  },
  'conda-lock-tests/test-lookup/empty-lookup.yml': {
    fails: { code: 'E_ENV_EMPTY', message: /empty: nothing to lock/ },
  },
  'conda-lock-tests/test-lookup/environment.yml': pip(10, 3),
  'conda-lock-tests/test-move-pip-dependency/environment-postupdate.yml': {
    parses: { channels: ['conda-forge'], platforms: ['linux-64'], deps: ['six'] },
  },
  'conda-lock-tests/test-move-pip-dependency/environment-preupdate.yml': pip(6),
  'conda-lock-tests/test-multi-sources/dev.yml': { parses: { channels: [], deps: ['pytest'] } },
  'conda-lock-tests/test-multi-sources/main.yml': {
    parses: { channels: [], platforms: ['linux-64', 'osx-64', 'osx-arm64'], deps: ['python <3.11'] },
  },
  'conda-lock-tests/test-multiple-categories/conda-lock.yml': lockfile(17),
  'conda-lock-tests/test-multiple-categories/dev.yml': {
    parses: { channels: ['conda-forge'], platforms: ['linux-64'], deps: ['pandas =2.0', 'astropy =5.0'], category: 'dev' },
  },
  'conda-lock-tests/test-multiple-categories/main.yml': {
    parses: { channels: ['conda-forge'], platforms: ['linux-64'], deps: ['python =3.10'] },
  },
  'conda-lock-tests/test-multiple-categories/test.yml': {
    parses: { channels: ['conda-forge'], platforms: ['linux-64'], deps: ['pyspark =3.4'], category: 'test' },
  },
  'conda-lock-tests/test-os-name-marker/environment.yml': pip(5),
  'conda-lock-tests/test-pip-conda-name-confusion/environment.yaml': pip(10),
  'conda-lock-tests/test-pip-finds-recent-manylinux-wheels/environment.yml': pip(7),
  'conda-lock-tests/test-pip-full-url/environment.yml': pip(7),
  'conda-lock-tests/test-pip-hash-checking/environment.yml': pip(7),
  'conda-lock-tests/test-pip-repositories/environment.yaml': pip(9),
  'conda-lock-tests/test-pip-respects-glibc-version/environment.yml': pip(7),
  'conda-lock-tests/test-pip-respects-glibc-version/virtual-packages.yml': vpSpec,
  'conda-lock-tests/test-pip-with-platform-selector/environment.yml': pip(6),
  'conda-lock-tests/test-pypi-resolve-gh155/conda-lock.yml': lockfile(13),
  'conda-lock-tests/test-pypi-resolve-gh155/environment.yml': {
    fails: { code: 'E_ENV_SCHEMA', line: 4, column: 1, message: /unknown key 'platform' \(did you mean 'platforms'\?\)/, lineHas: 'platform:' },
  },
  'conda-lock-tests/test-pypi-resolve-gh290/tzdata/environment.yaml': pip(12),
  'conda-lock-tests/test-pypi-resolve-gh290/wdl/environment.yaml': pip(12),
  'conda-lock-tests/test-pypi-resolve-gh449/environment.yml': pip(4),
  'conda-lock-tests/test-pypi-resolve-namediff/environment.yml': pip(7),
  'conda-lock-tests/test-pypi-resolve/environment.yml': pip(6),
  'conda-lock-tests/test-recipe/meta.yaml': {
    fails: { code: 'E_ENV_NOT_ENVIRONMENT', line: 1, message: /conda-build recipe/ },
  },
  'conda-lock-tests/test-source-paths/sources/environment.yaml': {
    parses: { channels: ['conda-forge'], platforms: ['linux-64'], deps: ['python ==3.9.6', 'pydantic ==1.7', 'flask <2'] },
  },
  'conda-lock-tests/test-update-filter-platform/conda-lock.yml': lockfile(13),
  'conda-lock-tests/test-update-filter-platform/environment-postupdate.yml': {
    parses: { channels: ['conda-forge'], platforms: ['linux-64', 'osx-64'], deps: ['zlib ==1.2.13'] },
  },
  'conda-lock-tests/test-update-filter-platform/environment-preupdate.yml': {
    parses: { channels: ['conda-forge'], platforms: ['linux-64', 'osx-64'], deps: ['zlib ==1.2.8'] },
  },
  'conda-lock-tests/test-update/environment-postupdate.yml': {
    parses: { channels: ['conda-forge'], platforms: ['linux-64'], deps: ['python', 'pydantic >=1.9.0,<1.9.1', 'flask >2'] },
  },
  'conda-lock-tests/test-update/environment-preupdate.yml': {
    parses: { channels: ['conda-forge'], platforms: ['linux-64'], deps: ['python ==3.9.6', 'pydantic ==1.7', 'flask <2'] },
  },
  'conda-lock-tests/test-uppercase-pip/environment.yml': pip(6, 3),
  'conda-lock-tests/test-v2-to-v3-upgrade/conda-lock-v2.5.8.yml': lockfile(17),
  'conda-lock-tests/test-v2-to-v3-upgrade/conda-lock-v3.0.2.yml': lockfile(17),
  'conda-lock-tests/test-v2-to-v3-upgrade/conda-lock-v3.0.3.yml': lockfile(17),
  'conda-lock-tests/test-v2-to-v3-upgrade/dev-dependencies.yml': {
    parses: { channels: [], deps: ['ruff'], category: 'dev' },
  },
  'conda-lock-tests/test-v2-to-v3-upgrade/environment.yml': pip(6, 3),
  'conda-lock-tests/test-v2-to-v3-upgrade/test-dependencies.yml': {
    parses: { channels: [], deps: ['pylint', 'pytest', 'ruff'], category: 'test' },
  },
  'conda-lock-tests/zlib/environment.yml': { parses: { channels: ['conda-forge', 'defaults'], deps: ['zlib'] } },
  'rattler/asymmetric_vqgan.environment.yaml': pip(13),
  'rattler/channel_inversion.environment.yaml': {
    parses: { channels: ['rapidsai', 'nvidia', 'conda-forge'], deps: ['cudf', 'conda-forge::cuda-python'] },
  },
  'rattler/conda_lock_dev.environment.yaml': pip(39),
  'rattler/mamba_dev_extra.environment.yaml': {
    parses: {
      channels: ['conda-forge'],
      deps: ['ccache', 'clang-tools', 'clang', 'clangxx', 'lld', 'cmake-format', 'ruff', 'python-lsp-server-base', 'ruff-lsp', 'jupyterlab', 'ipython', 'ipdb', 'gh', 'go-task'],
    },
  },
  'rattler/python-multiplatform.environment.yml': {
    parses: {
      name: 'python',
      channels: ['conda-forge'],
      platforms: ['linux-64', 'linux-aarch64', 'linux-ppc64le', 'osx-64', 'osx-arm64', 'win-64'],
      deps: ['python =3.11.0'],
    },
  },
  'rattler/variables.environment.yaml': {
    parses: { name: 'test', channels: ['conda-forge'], deps: ['numpy'], warnings: [/'variables' is ignored/] },
  },
};

describe.skipIf(!haveFixtures)(`environment fixtures ${haveFixtures ? '' : fixturesSkipReason}`, () => {
  const root = fixture('environments');
  const onDisk = haveFixtures ? fg.sync('**/*.{yml,yaml}', { cwd: root }).sort() : [];

  it('the table covers exactly the files on disk', () => {
    expect(onDisk.length).toBeGreaterThan(60);
    expect(Object.keys(EXPECTED).sort()).toEqual(onDisk);
  });

  it.each(Object.entries(EXPECTED))('%s', (rel, want) => {
    const path = fixture('environments', rel);
    if ('pip' in want) {
      const lines = readFileSync(path, 'utf8').split('\n');
      let env;
      try {
        env = loadEnvironmentFile(path);
      } catch (e) {
        // Refused: a pip line conda-go-lock does not lock (URL, git+, editable, …), named with its line.
        expect(e).toBeInstanceOf(InputError);
        const ie = e as InputError;
        expect(ie.code).toMatch(/^E_ENV_PIP/);
        expect(ie.location!.line).toBeGreaterThan(want.pip.line);
        const quoted = /'([^']+)'/.exec(ie.message)![1]!;
        expect(lines[ie.location!.line! - 1]).toContain(quoted.split(' ')[0]);
        return;
      }
      expect(env.pip, 'the pip: section').toBeDefined();
      expect(env.pip!.location.line).toBe(want.pip.line);
      expect(env.pip!.location.column).toBe(want.pip.column);
      expect(lines[want.pip.line - 1]).toContain('pip:');
      expect(env.pip!.requirements.length + env.pip!.files.length + env.pip!.extraIndexUrls.length).toBeGreaterThan(0);
      for (const r of env.pip!.requirements) {
        if (r.location.file !== path) continue;
        expect(lines[r.location.line! - 1]).toContain(r.requirement.name);
      }
      return;
    }
    if ('parses' in want) {
      const env = loadEnvironmentFile(path);
      const p = want.parses;
      expect(env.file).toBe(path);
      expect(env.name).toBe(p.name);
      expect(env.channels).toEqual(p.channels);
      expect(env.nodefaults).toBe(p.nodefaults ?? false);
      expect(env.platforms).toEqual(p.platforms);
      expect(env.dependencies.map((d) => d.text)).toEqual(p.deps);
      expect(env.go).toBeUndefined();
      const lines = readFileSync(path, 'utf8').split('\n');
      for (const d of env.dependencies) {
        // the recorded position points at the dependency text in the file
        expect(lines[d.line - 1]!.slice(d.column - 1)).toMatch(new RegExp(`^["']?${d.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
        expect(d.spec.name).toBe(d.text.split(/[\s=<>!~[]/)[0]!.split('::').at(-1));
        expect(d.selector).toBe(p.selectors?.[d.text]);
        expect(d.category).toBe(p.category);
      }
      expect(env.category).toBe(p.category);
      expect(env.warnings.map((w) => w.message)).toHaveLength(p.warnings?.length ?? 0);
      p.warnings?.forEach((re, i) => expect(env.warnings[i]!.message).toMatch(re));
    } else {
      const f = want.fails;
      let err: unknown;
      try {
        loadEnvironmentFile(path);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InputError);
      const ie = err as InputError;
      expect(ie.code).toBe(f.code);
      expect(ie.message).toMatch(f.message);
      expect(ie.location?.file).toBe(path);
      expect(ie.location?.line).toBe(f.line);
      if (f.column !== undefined) expect(ie.location?.column).toBe(f.column);
      expect(ie.message.startsWith(`${path}${f.line !== undefined ? `:${f.line}` : ''}`)).toBe(true);
      if (f.lineHas) {
        const line = readFileSync(path, 'utf8').split('\n')[f.line! - 1]!;
        expect(line).toContain(f.lineHas);
      }
    }
  });

  it('selectors in test-env-filter-platform keep each compiler on its own platform', () => {
    const env = loadEnvironmentFile(fixture('environments/conda-lock-tests/test-env-filter-platform/environment.yml'));
    const names = (p: 'linux-64' | 'osx-64' | 'osx-arm64') => matchSpecsFor(env, p).map((s) => s.name);
    expect(names('linux-64')).toEqual(['python', 'gcc_linux-64']);
    expect(names('osx-64')).toEqual(['python', 'clang_osx-64']);
    expect(names('osx-arm64')).toEqual(['python', 'clang_osx-arm64']);
  });
});

describe.skipIf(!haveFixtures)('conda-lock virtual package spec fixtures', () => {
  it.each([
    ['conda-lock-tests/test-archspec/virtual-packages.yaml', '__archspec=1=x86_64_v2,__glibc=2.28=0,__linux=5.10=0,__unix=0=0'],
    ['conda-lock-tests/test-cuda/virtual-packages.yaml', '__archspec=1=x86_64,__glibc=2.17=0,__linux=5.10=0,__unix=0=0'],
    ['conda-lock-tests/test-cuda/virtual-packages-old-glibc.yaml', '__archspec=1=x86_64,__glibc=2.11=0,__linux=5.10=0,__unix=0=0'],
    ['conda-lock-tests/test-pip-respects-glibc-version/virtual-packages.yml', '__archspec=1=x86_64,__glibc=2.17=0,__linux=5.10=0,__unix=0=0'],
  ])('%s → linux-64 %s, other platforms unchanged', (rel, linux64) => {
    const path = fixture('environments', rel);
    const overrides = parseVirtualPackageSpecFile(readFileSync(path, 'utf8'), path);
    expect(overrides.every((o) => o.platforms?.length === 1 && o.platforms[0] === 'linux-64')).toBe(true);
    expect(formatVirtualPackages(defaultVirtualPackages('linux-64', overrides))).toBe(linux64);
    expect(defaultVirtualPackages('linux-aarch64', overrides)).toEqual(defaultVirtualPackages('linux-aarch64'));
  });
});
