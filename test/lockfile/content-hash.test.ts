import { describe, expect, it } from 'vitest';
import { canonicalJson, computeContentHash, contentHashDocument, type ContentHashInputs } from '../../src/lockfile/content-hash.js';

const base: ContentHashInputs = {
  platform: 'linux-64',
  channels: ['https://conda.anaconda.org/conda-forge'],
  specs: ['python 3.12.*', 'numpy >=1.26'],
  virtualPackages: ['__glibc 2.28 0', '__linux 0 0', '__unix 0 0'],
  go: { spec: '1.22.*', releases_url: 'https://go.dev/dl/?mode=json&include=all' },
};

describe('computeContentHash', () => {
  it('is a 64-hex sha256 and stable across calls', () => {
    const h = computeContentHash(base);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(computeContentHash({ ...base })).toBe(h);
  });

  it.each<[string, Partial<ContentHashInputs>]>([
    ['spec order', { specs: ['numpy >=1.26', 'python 3.12.*'] }],
    ['spec whitespace', { specs: ['  python   3.12.*', 'numpy >=1.26 '] }],
    ['duplicate specs', { specs: ['python 3.12.*', 'numpy >=1.26', 'python 3.12.*'] }],
    ['virtual package order', { virtualPackages: ['__unix 0 0', '__glibc 2.28 0', '__linux 0 0'] }],
    ['virtual packages as records', { virtualPackages: [{ name: '__unix', version: '0', build: '0' }, { name: '__linux', version: '0', build: '0' }, { name: '__glibc', version: '2.28', build: '0' }] }],
    ['a token in the channel URL', { channels: ['https://conda.anaconda.org/t/xy-12345678/conda-forge'] }],
    ['credentials in the channel URL', { channels: ['https://user:secret@conda.anaconda.org/conda-forge/'] }],
    ['the short channel name', { channels: ['conda-forge'] }],
    ['a Channel-like object', { channels: [{ baseUrl: 'https://conda.anaconda.org/conda-forge' }] }],
  ])('does not change with %s', (_what, change) => {
    expect(computeContentHash({ ...base, ...change })).toBe(computeContentHash(base));
  });

  it.each<[string, Partial<ContentHashInputs>]>([
    ['platform', { platform: 'osx-arm64' }],
    ['a spec', { specs: ['python 3.11.*', 'numpy >=1.26'] }],
    ['an added spec', { specs: ['python 3.12.*', 'numpy >=1.26', 'scipy'] }],
    ['channel order (priority)', { channels: ['https://conda.anaconda.org/bioconda', 'https://conda.anaconda.org/conda-forge'] }],
    ['another channel', { channels: ['https://conda.anaconda.org/bioconda'] }],
    ['a virtual package version', { virtualPackages: ['__glibc 2.17 0', '__linux 0 0', '__unix 0 0'] }],
    ['the Go spec', { go: { spec: '1.23.*', releases_url: base.go!.releases_url } }],
    ['the Go releases URL', { go: { spec: '1.22.*', releases_url: 'http://127.0.0.1:9/dl/' } }],
    ['no Go', { go: undefined }],
    ['Go pre-releases allowed', { go: { ...base.go!, prerelease: true } }],
    ['channel priority', { channelPriority: 'disabled' }],
    ['extra inputs', { extra: { pinned: ['openssl 3.*'] } }],
  ])('changes with %s', (_what, change) => {
    expect(computeContentHash({ ...base, ...change })).not.toBe(computeContentHash(base));
  });

  it('never puts a token into the hashed document', () => {
    const doc = contentHashDocument({ ...base, channels: ['https://conda.anaconda.org/t/secret-token/private'] });
    expect(canonicalJson(doc)).not.toContain('secret-token');
    expect(doc.channels).toEqual(['https://conda.anaconda.org/private']);
  });

  it('canonicalJson sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: null }], c: undefined } })).toBe('{"a":{"d":[2,{"y":null,"z":1}]},"b":1}');
  });
});
