import { describe, expect, it } from 'vitest';
import { Channel } from '../../src/conda/channel.js';
import type { RepoDataRecord } from '../../src/conda/record.js';
import { LockfileBuilder, lockedCondaPackage, lockedRecords, lockMetadata, recordOfLocked } from '../../src/lockfile/build.js';
import { goTc, pkg, sampleLockfile } from './sample.js';

const record: RepoDataRecord = {
  name: 'libzlib',
  version: '1.3.1',
  build: 'h4ab18f5_1',
  build_number: 1,
  subdir: 'linux-64',
  depends: ['libgcc-ng >=12'],
  constrains: ['zlib 1.3.1 *_1'],
  md5: 'a'.repeat(32),
  sha256: 'b'.repeat(64),
  size: 61574,
  timestamp: 1716874197000,
  license: 'Zlib',
  track_features: 'feat',
  fn: 'libzlib-1.3.1-h4ab18f5_1.conda',
  url: 'https://host.example/t/tk-123/private/linux-64/libzlib-1.3.1-h4ab18f5_1.conda',
  channel: 'https://host.example/private',
};

describe('lockfile builder', () => {
  it('locks a record without its token and reads it back as the same record', () => {
    const locked = lockedCondaPackage(record, 'linux-64');
    expect(locked.url).not.toContain('tk-123');
    expect(locked.url).toMatch(/^https:\/\/host\.example\/t\/[^/]+\/private\/linux-64\/libzlib-1\.3\.1-h4ab18f5_1\.conda$/);
    expect(recordOfLocked(locked)).toEqual({ ...record, url: locked.url });
  });

  it('refuses a record without sha256, md5 or size, naming the missing fields', () => {
    const { sha256: _s, size: _z, ...bare } = record;
    expect(() => lockedCondaPackage(bare, 'linux-64')).toThrow(expect.objectContaining({ code: 'E_RECORD_WITHOUT_HASH', message: expect.stringContaining('no sha256, size') }));
  });

  it('gives --update the previous pins of one platform, minus moving packages and dropped channels', () => {
    const prev = sampleLockfile();
    prev.packages.push(pkg({ name: 'other', version: '1', channel: 'https://elsewhere.example/chan' }));
    const names = lockedRecords(prev, 'linux-64', ['libgcc-ng'], ['https://conda.anaconda.org/conda-forge']).map((r) => r.name);
    expect(names).toContain('libzlib');
    expect(names).not.toContain('libgcc-ng');
    expect(names).not.toContain('other');
    expect(lockedRecords(undefined, 'linux-64', [], [])).toEqual([]);
  });

  it('assembles metadata and every kind of package, without credentials and without an empty pypi list', () => {
    const channel = Channel.parse('https://${USER}:${PASS}@host.example/private', { channelAlias: 'https://conda.anaconda.org', env: { USER: 'u', PASS: 'p' } });
    const metadata = lockMetadata({
      toolVersion: '9.9.9',
      platforms: ['linux-64'],
      channels: [channel],
      sources: ['environment.yml'],
      specs: ['libzlib'],
      perPlatform: new Map([['linux-64', { contentHash: 'f'.repeat(64), virtualPackages: [{ ...record, name: '__glibc', version: '2.28', build: '0' }] }]]),
      go: { spec: '1.22.*', source: 'environment.yml', releases_url: 'https://u:p@mirror.example/t/tk-1/dl/?mode=json' },
    });
    expect(metadata.channels).toEqual([{ url: 'https://host.example/private', used_env_vars: ['PASS', 'USER'], url_template: 'https://${USER}:${PASS}@host.example/private' }]);
    expect(metadata.virtual_packages).toEqual({ 'linux-64': ['__glibc 2.28 0'] });
    expect(metadata.go?.releases_url).not.toMatch(/tk-1|u:p/);
    const go = { ...goTc('linux-64', '1.22.5', 'linux', 'amd64'), url: 'https://u:p@mirror.example/dl/go1.22.5.linux-amd64.tar.gz' };
    const lockfile = new LockfileBuilder(metadata).addCondaPackages('linux-64', [record]).addGoToolchains([go]).build();
    expect(lockfile.packages.map((p) => [p.platform, p.name])).toEqual([['linux-64', 'libzlib']]);
    expect(lockfile.go[0]?.url).toBe('https://mirror.example/dl/go1.22.5.linux-amd64.tar.gz');
    expect('pypi' in lockfile).toBe(false);
  });
});
