import { describe, expect, it } from 'vitest';
import { LockfileError } from '../../src/errors.js';
import type { LockedPypiPackage, Lockfile } from '../../src/lockfile/model.js';
import { normaliseLockfile } from '../../src/lockfile/normalise.js';
import { parseLockfile } from '../../src/lockfile/read.js';
import { assertValidLockfile, serializeLockfile } from '../../src/lockfile/write.js';
import { sampleLockfile } from './sample.js';

// requests 2.31.0 as PyPI lists it (json-api/harupy/requests_2.31.0.json).
function requests(platform: string): LockedPypiPackage {
  return {
    platform,
    name: 'requests',
    version: '2.31.0',
    filename: 'requests-2.31.0-py3-none-any.whl',
    url: 'https://files.pythonhosted.org/packages/70/8e/0e2d847013cb52cd35b38c009bb167a1a26b2ce6cd6965bf26b47bc0bf44/requests-2.31.0-py3-none-any.whl',
    sha256: '58cd2187c01e70e6e26505bca751777aa9f2ee0b7f4300988b709f44e013003f',
    size: 62574,
    requires_python: '>=3.7',
    requires_dist: ['urllib3 (<3,>=1.21.1)', 'PySocks (!=1.5.7,>=1.5.6) ; extra == "socks"', 'charset-normalizer (<4,>=2)', 'idna (<4,>=2.5)', 'certifi (>=2017.4.17)'],
    requested_by: ['requests ==2.31.0'],
    index: 'https://pypi.org/simple',
  };
}

function withPypi(): Lockfile {
  const lf = sampleLockfile();
  lf.metadata.pypi = {
    requirements: ['requests ==2.31.0', 'idna'],
    index_url: 'https://pypi.org/simple',
    extra_index_urls: ['https://private.example/simple'],
    index_templates: [{ url: 'https://private.example/simple', used_env_vars: ['PIP_TOKEN'], url_template: 'https://${PIP_TOKEN}@private.example/simple' }],
  };
  lf.pypi = [
    { ...requests('osx-arm64') },
    { ...requests('linux-64'), name: 'idna', version: '3.4', filename: 'idna-3.4-py3-none-any.whl', url: 'https://files.pythonhosted.org/idna-3.4-py3-none-any.whl', requires_dist: [], requested_by: ['requests', 'idna'] },
    requests('linux-64'),
  ];
  return lf;
}

describe('lockfile pypi section', () => {
  it('round-trips, sorted by platform then name, requires_dist and requested_by sorted', () => {
    const text = serializeLockfile(withPypi());
    const back = parseLockfile(text, 'x.yml');
    expect(back).toStrictEqual(normaliseLockfile(withPypi()));
    expect(back.pypi!.map((p) => `${p.platform}/${p.name}`)).toEqual(['linux-64/idna', 'linux-64/requests', 'osx-arm64/requests']);
    expect(back.pypi![0]!.requested_by).toEqual(['idna', 'requests']);
    expect(back.pypi![1]!.requires_dist[0]).toBe('PySocks (!=1.5.7,>=1.5.6) ; extra == "socks"');
    expect(text).toMatch(/\npypi:\n/);
    expect(text).toContain("version: '2.31.0'");
    // Shuffled input gives the same bytes.
    const lf = withPypi();
    lf.pypi!.reverse();
    expect(serializeLockfile(lf)).toBe(text);
  });

  it('a lockfile without a pip: section has no pypi key at all (old lockfiles keep their bytes)', () => {
    const text = serializeLockfile(sampleLockfile());
    expect(text).not.toMatch(/^pypi:/m);
    expect('pypi' in parseLockfile(text, 'x.yml')).toBe(false);
  });

  it('the schema refuses a token in an index URL, a non-normalised name and a non-wheel file', () => {
    const bad = (mut: (lf: Lockfile) => void) => {
      const lf = withPypi();
      mut(lf);
      return () => assertValidLockfile(normaliseLockfile(lf));
    };
    expect(bad((lf) => (lf.metadata.pypi!.index_url = 'https://user:secret@pypi.example/simple'))).toThrow(/index_url/);
    expect(bad((lf) => (lf.pypi![0]!.index = 'https://host/t/abc123/simple'))).toThrow(/pypi\[\d\]\.index/);
    expect(bad((lf) => (lf.pypi![0]!.name = 'Typing_Extensions'))).toThrow(/pypi\[\d\]\.name/);
    expect(bad((lf) => (lf.pypi![0]!.filename = 'requests-2.31.0.tar.gz'))).toThrow(/pypi\[\d\]\.filename/);
    expect(bad((lf) => (lf.pypi![0]!.requested_by = []))).toThrow(/requested_by/);
    expect(bad(() => undefined)).not.toThrow();
  });

  it('the reader refuses a PyPI package locked twice for one platform, or for an unlisted platform', () => {
    const lf = normaliseLockfile(withPypi());
    const twice = serializeLockfile({ ...lf, pypi: [...lf.pypi!, { ...lf.pypi![1]!, filename: 'requests-2.31.0-py2.py3-none-any.whl' }] });
    expect(() => parseLockfile(twice, 'x.yml')).toThrow(LockfileError);
    expect(() => parseLockfile(twice, 'x.yml')).toThrow(/requests 2\.31\.0\): locked twice for linux-64/);
    const other = serializeLockfile({ ...lf, pypi: [{ ...lf.pypi![0]!, platform: 'win-64' }] });
    expect(() => parseLockfile(other, 'x.yml')).toThrow(/platform win-64 is not in metadata\.platforms/);
  });
});
