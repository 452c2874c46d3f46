import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GoToolchainError, NetworkError } from '../../src/errors.js';
import { GO_CONDA_PLATFORMS, goPlatform } from '../../src/go/platform.js';
import { DEFAULT_GO_RELEASES_URL, defaultGoDownloadBase, resolveGoToolchain } from '../../src/go/resolve.js';
import { normaliseLockfile } from '../../src/lockfile/normalise.js';
import { parseLockfile } from '../../src/lockfile/read.js';
import { serializeLockfile } from '../../src/lockfile/write.js';
import { HttpClient, closeSharedDispatchers } from '../../src/net/http.js';
import { type ChannelServer, startChannelServer } from '../support/channel-server.js';
import { fixture, haveFixtures } from '../support/fixtures.js';
import { sampleLockfile } from '../lockfile/sample.js';

const ALL = ['linux-64', 'linux-aarch64', 'linux-ppc64le', 'osx-64', 'osx-arm64', 'win-64', 'win-arm64'];

describe('goPlatform', () => {
  it.each([
    ['linux-64', 'linux', 'amd64', 'tar.gz'],
    ['linux-aarch64', 'linux', 'arm64', 'tar.gz'],
    ['linux-ppc64le', 'linux', 'ppc64le', 'tar.gz'],
    ['osx-64', 'darwin', 'amd64', 'tar.gz'],
    ['osx-arm64', 'darwin', 'arm64', 'tar.gz'],
    ['win-64', 'windows', 'amd64', 'zip'],
    ['win-arm64', 'windows', 'arm64', 'zip'],
  ])('%s → %s/%s (.%s)', (p, os, arch, ext) => {
    expect(goPlatform(p)).toEqual({ os, arch, ext });
  });

  it.each(['noarch', 'linux-s390x', 'win-32', ''])('refuses %j', (p) => {
    expect(() => goPlatform(p)).toThrow(expect.objectContaining({ code: 'E_GO_PLATFORM' }));
  });

  it('covers exactly the platforms conda-go-lock supports', () => {
    expect([...GO_CONDA_PLATFORMS].sort()).toEqual([...ALL].sort());
  });
});

describe('defaultGoDownloadBase', () => {
  it.each([
    [DEFAULT_GO_RELEASES_URL, 'https://go.dev/dl/'],
    ['http://127.0.0.1:4567/dl/?mode=json&include=all', 'http://127.0.0.1:4567/dl/'],
    ['https://mirror.example/golang/releases.json', 'https://mirror.example/dl/'],
    ['file:///srv/go/releases.json', 'file:///srv/go/'],
  ])('%s → %s', (u, base) => {
    expect(defaultGoDownloadBase(u)).toBe(base);
  });
});

describe.skipIf(!haveFixtures)('resolveGoToolchain through a local HTTP server', () => {
  let srv: ChannelServer;
  let http: HttpClient;
  let raw: Array<{ version: string; files: Array<{ filename: string; os: string; arch: string; sha256: string; size: number; kind: string }> }>;

  beforeAll(async () => {
    srv = await startChannelServer();
    const body = readFileSync(fixture('go', 'go-dl-include-all-2021-11-08.json'));
    raw = JSON.parse(body.toString('utf8'));
    srv.route('/dl/', body, 'application/json');
    http = new HttpClient({ retries: 2, retryDelayMs: 5 });
  });
  afterAll(async () => {
    await srv.stop();
    await closeSharedDispatchers();
  });

  const releasesUrl = () => srv.url('/dl/?mode=json&include=all');

  it('pins 1.17.* for all seven platforms with local URLs and the published sha256/size', async () => {
    const pins = await resolveGoToolchain({ spec: '1.17.*', platforms: [...ALL].reverse(), http, releasesUrl: releasesUrl() });
    expect(pins.map((p) => p.platform)).toEqual([...ALL].sort());
    const files = raw.find((r) => r.version === 'go1.17.3')!.files;
    for (const pin of pins) {
      const { os, arch, ext } = goPlatform(pin.platform);
      expect(pin).toMatchObject({ version: '1.17.3', os, arch, filename: `go1.17.3.${os}-${arch}.${ext}` });
      const f = files.find((x) => x.filename === pin.filename)!;
      expect(f.kind).toBe('archive');
      expect(pin.sha256).toBe(f.sha256);
      expect(pin.size).toBe(f.size);
      expect(pin.url).toBe(`${srv.baseUrl}/dl/${pin.filename}`);
    }
    expect(srv.requestsTo('/dl/').length).toBeGreaterThan(0);
  });

  it('pins validate against the lockfile schema and round-trip', async () => {
    const pins = await resolveGoToolchain({ spec: 'toolchain go1.16.5', platforms: ['linux-64', 'osx-arm64'], http, releasesUrl: releasesUrl() });
    const lf = { ...sampleLockfile(), go: pins };
    expect(parseLockfile(serializeLockfile(lf), 'x.yml').go).toEqual(normaliseLockfile(lf).go);
  });

  it('a configurable download base', async () => {
    const [pin] = await resolveGoToolchain({
      spec: '1.16.5', platforms: ['win-64'], http, releasesUrl: releasesUrl(), downloadBaseUrl: 'https://dl.google.com/go',
    });
    expect(pin!.url).toBe('https://dl.google.com/go/go1.16.5.windows-amd64.zip');
  });

  it('darwin/arm64 before go1.16 → GoToolchainError naming platform, version and where support starts', async () => {
    const err = await resolveGoToolchain({ spec: '1.15.*', platforms: ['linux-64', 'osx-arm64'], http, releasesUrl: releasesUrl() }).catch((e) => e);
    expect(err).toBeInstanceOf(GoToolchainError);
    expect(err.code).toBe('E_GO_NO_ARCHIVE');
    expect(err.message).toContain('Go 1.15.15 has no tar.gz archive for osx-arm64 (darwin/arm64)');
    expect(err.message).toContain('start with go1.16');
  });

  it('windows/arm64 before go1.17 → error naming go1.17', async () => {
    const err = await resolveGoToolchain({ spec: '1.16.*', platforms: ['win-arm64'], http, releasesUrl: releasesUrl() }).catch((e) => e);
    expect(err.code).toBe('E_GO_NO_ARCHIVE');
    expect(err.message).toMatch(/Go 1\.16\.10 has no zip archive for win-arm64 \(windows\/arm64\); windows\/arm64 archives start with go1\.17/);
  });

  it('a release without sha256 is never pinned', async () => {
    const err = await resolveGoToolchain({ spec: '1.5.2', platforms: ['linux-64'], http, releasesUrl: releasesUrl() }).catch((e) => e);
    expect(err).toBeInstanceOf(GoToolchainError);
    expect(err.code).toBe('E_GO_NO_SHA256');
    expect(err.message).toContain('go1.5.2.linux-amd64.tar.gz');
    expect(err.message).toContain('before Go 1.6');
  });

  it.each([
    ['', 'an empty sha256'],
    ['abc123', "sha256 'abc123', which is not 64 hex digits"],
  ])('a newer release whose feed lacks a valid sha256 (%j) says what is missing, not "before Go 1.6"', async (sha256, said) => {
    const feed = [{ version: 'go1.19.8', stable: true, files: [{ filename: 'go1.19.8.linux-amd64.tar.gz', os: 'linux', arch: 'amd64', version: 'go1.19.8', sha256, size: 1, kind: 'archive' }] }];
    const url = 'https://mirror.example/dl/?mode=json&include=all';
    const err = await resolveGoToolchain({ spec: '1.19.8', platforms: ['linux-64'], http: { getJson: async () => feed as never }, releasesUrl: url }).catch((e) => e);
    expect(err).toBeInstanceOf(GoToolchainError);
    expect(err.code).toBe('E_GO_NO_SHA256');
    expect(err.message).toContain(`go1.19.8.linux-amd64.tar.gz has ${said} in the release metadata at ${url}`);
    expect(err.message).not.toContain('1.6 or newer');
  });

  it('Go 1.4 on osx-64 takes the newest macOS variant archive (but has no sha256 → refused)', async () => {
    const err = await resolveGoToolchain({ spec: '1.4.2', platforms: ['osx-64'], http, releasesUrl: releasesUrl() }).catch((e) => e);
    expect(err.message).toContain('go1.4.2.darwin-amd64-osx10.8.tar.gz');
  });

  it('retries a 503 and succeeds', async () => {
    srv.fault({ path: '/dl/', fault: { kind: 'status', status: 503 }, times: 1 });
    const before = srv.requestsTo('/dl/').length;
    const pins = await resolveGoToolchain({ spec: '1.17.2', platforms: ['linux-64'], http, releasesUrl: releasesUrl() });
    expect(pins[0]!.version).toBe('1.17.2');
    expect(srv.requestsTo('/dl/').length - before).toBe(2);
    srv.clearFaults();
  });

  it('a missing release list → NetworkError', async () => {
    const err = await resolveGoToolchain({ spec: 'stable', platforms: ['linux-64'], http, releasesUrl: srv.url('/nope/?mode=json') }).catch((e) => e);
    expect(err).toBeInstanceOf(NetworkError);
  });

  it('a release list that is not JSON → error, nothing pinned', async () => {
    srv.route('/broken/', 'this is not json', 'text/plain');
    await expect(resolveGoToolchain({ spec: 'stable', platforms: ['linux-64'], http, releasesUrl: srv.url('/broken/') })).rejects.toThrow();
  });

  it('cross-check with docker-library/golang: our mapping picks the same archives and sha256 for Go 1.27.0 / 1.26.x', async () => {
    // docker-library's versions.json is a different schema; rebuild a go.dev/dl-style feed from it.
    const docker = JSON.parse(readFileSync(fixture('go', 'docker-library-golang__versions.json'), 'utf8')) as Record<
      string,
      { version: string; arches: Record<string, { url?: string; sha256: string; env?: { GOOS: string; GOARCH: string } }> }
    >;
    const feed = ['1.27', '1.26'].map((line) => {
      const d = docker[line]!;
      return {
        version: `go${d.version}`,
        stable: true,
        files: Object.values(d.arches)
          .filter((a) => a.url) // arm32v5 is built from source, no archive
          .map((a) => ({
            filename: a.url!.split('/').pop()!,
            os: a.env?.GOOS ?? '',
            arch: a.env?.GOARCH ?? '',
            version: `go${d.version}`,
            sha256: a.sha256,
            size: 1,
            kind: a.url!.endsWith('.src.tar.gz') ? 'source' : 'archive',
          })),
      };
    });
    srv.route('/docker/dl.json', JSON.stringify(feed), 'application/json');
    const pins = await resolveGoToolchain({ spec: 'stable', platforms: ALL, http, releasesUrl: srv.url('/docker/dl.json') });
    expect(pins).toHaveLength(7);
    const byUrl = new Map(Object.values(docker['1.27']!.arches).filter((a) => a.url).map((a) => [a.url!.split('/').pop()!, a]));
    for (const pin of pins) {
      const d = byUrl.get(pin.filename);
      expect(d, pin.filename).toBeDefined();
      expect(pin.sha256).toBe(d!.sha256);
      expect(`${d!.env!.GOOS}/${d!.env!.GOARCH}`).toBe(`${pin.os}/${pin.arch}`);
    }
    expect(pins.find((p) => p.platform === 'win-arm64')!.filename).toBe('go1.27.0.windows-arm64.zip');
  });
});
