/**
 * syncWheels: locked wheels downloaded through the verified cache path (node server and
 * python's HTTP/1.0 http.server), installed, kept, and removed by RECORD when the lock drops them.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IntegrityError, UnsafeArchiveError } from '../../src/errors.js';
import { HttpClient } from '../../src/net/http.js';
import { readWheelState, syncWheels, type WheelPin } from '../../src/install/wheel/sync.js';
import type { WheelTarget } from '../../src/install/wheel/index.js';
import { snapshotTree, writeZip } from '../support/archives.js';
import { startChannelServer, type ChannelServer } from '../support/channel-server.js';
import { havePython3, pythonServerSkipReason, startPythonHttpServer, type PythonHttpServer } from '../support/python-server.js';

const DEBIAN = '/usr/share/python-wheels';
const haveDebian = existsSync(join(DEBIAN, 'wheel-0.38.4-py3-none-any.whl')) && existsSync(join(DEBIAN, 'setuptools-66.1.1-py3-none-any.whl'));
if (!haveDebian) console.warn(`[conda-go-lock tests] ${DEBIAN} lacks wheel 0.38.4 / setuptools 66.1.1: skipping wheel sync tests`);
const SP = 'lib/python3.9/site-packages';

let server: ChannelServer;
let pyServer: PythonHttpServer | undefined;
let served: string;
let dir: string;
let prefix: string;
let cacheDir: string;
const http = new HttpClient({ retries: 1, retryDelayMs: 5, maxRetryDelayMs: 20 });

beforeAll(async () => {
  server = await startChannelServer();
  served = await mkdtemp(join(tmpdir(), 'cgl-wheels-served-'));
  server.mount('/wheels', served);
  server.mount('/debian', DEBIAN);
  if (havePython3) pyServer = await startPythonHttpServer(DEBIAN);
});
afterAll(async () => {
  await server?.stop();
  await pyServer?.stop();
  await rm(served, { recursive: true, force: true });
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgl-wheel-sync-'));
  prefix = join(dir, 'env');
  cacheDir = join(dir, 'cache');
  await mkdir(join(prefix, 'conda-meta'), { recursive: true });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const target = (): WheelTarget => ({ platform: 'linux-64', python: { version: '3.9.18' }, prefix });

async function pin(file: string, base: string, name: string, version: string, requestedBy: string[]): Promise<WheelPin> {
  const bytes = await readFile(join(DEBIAN, file));
  return {
    name,
    version,
    filename: file,
    url: `${base}/${file}`,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
    requested_by: requestedBy,
  };
}

describe.skipIf(!haveDebian)('syncWheels', () => {
  const servers: Array<[string, () => string | undefined]> = [
    ['the node loopback server', () => server.url('/debian')],
    ['python3 -m http.server (HTTP/1.0, closes every connection)', () => pyServer?.baseUrl],
  ];
  it.each(servers)('installs, keeps and removes by RECORD, downloading from %s', async (what, base) => {
    if (!base()) return console.warn(pythonServerSkipReason);
    const wheel = await pin('wheel-0.38.4-py3-none-any.whl', base()!, 'wheel', '0.38.4', ['wheel>=0.38']);
    const st = await pin('setuptools-66.1.1-py3-none-any.whl', base()!, 'setuptools', '66.1.1', ['wheel']);
    const first = await syncWheels({ pins: [wheel, st], http, cacheDir, destDir: prefix, target: target(), requirements: ['wheel>=0.38'] });
    expect(first.installed.map((w) => `${w.name}-${w.version}`)).toEqual(['setuptools-66.1.1', 'wheel-0.38.4']);
    expect(first.downloaded).toBe(2);
    expect(existsSync(join(prefix, SP, 'wheel-0.38.4.dist-info', 'REQUESTED'))).toBe(true);
    expect(existsSync(join(prefix, SP, 'setuptools-66.1.1.dist-info', 'REQUESTED'))).toBe(false);
    expect(existsSync(join(cacheDir, 'wheels', wheel.sha256, wheel.filename))).toBe(true);
    const state = await readWheelState(prefix);
    expect(state.map((s) => [s.name, s.version, s.sha256, s.requested])).toEqual([
      ['setuptools', '66.1.1', st.sha256, false],
      ['wheel', '0.38.4', wheel.sha256, true],
    ]);

    // Same pins again: nothing downloaded (verified from the cache), nothing reinstalled.
    const again = await syncWheels({ pins: [wheel, st], http, cacheDir, destDir: prefix, target: target(), requirements: ['wheel>=0.38'] });
    expect(again).toMatchObject({ installed: [], removed: [], downloaded: 0, reused: 2 });

    // The lock drops setuptools: its files go, a user's file in its package dir stays.
    await writeFile(join(prefix, SP, 'setuptools', 'mine.txt'), 'user data');
    const wheelBefore = await snapshotTree(join(prefix, SP, 'wheel'));
    const third = await syncWheels({ pins: [wheel], http, cacheDir, destDir: prefix, target: target(), requirements: ['wheel>=0.38'] });
    expect(third.removed).toEqual(['setuptools-66.1.1']);
    expect(third.installed).toEqual([]);
    expect(readdirSync(join(prefix, SP, 'setuptools'))).toEqual(['mine.txt']);
    expect(existsSync(join(prefix, SP, 'setuptools-66.1.1.dist-info'))).toBe(false);
    expect(existsSync(join(prefix, SP, 'pkg_resources'))).toBe(false);
    expect(await snapshotTree(join(prefix, SP, 'wheel'))).toEqual(wheelBefore);
    expect((await readWheelState(prefix)).map((s) => s.name)).toEqual(['wheel']);
    void what;
  });

  it('a sha256 mismatch at install is refused before the prefix is touched, and nothing is cached', async () => {
    const good = await pin('wheel-0.38.4-py3-none-any.whl', server.url('/debian'), 'wheel', '0.38.4', ['wheel']);
    const bad = { ...good, sha256: 'f'.repeat(64) };
    const before = await snapshotTree(prefix);
    const err = await syncWheels({ pins: [bad], http, cacheDir, destDir: prefix, target: target() }).catch((e) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect(err.message).toContain('wheel 0.38.4 (wheel-0.38.4-py3-none-any.whl): sha256 mismatch');
    expect(await snapshotTree(prefix)).toEqual(before);
    expect(existsSync(join(cacheDir, 'wheels', bad.sha256))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['cache', 'env']);
  });

  it('a wheel refused after others were installed takes them back out', async () => {
    // A hostile wheel whose bytes match the lock (the index served it so): RECORD points outside.
    const evil = join(served, 'evil-1.0-py3-none-any.whl');
    const md = 'Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n';
    const wh = 'Wheel-Version: 1.0\nRoot-Is-Purelib: true\n';
    const h = (s: string) => createHash('sha256').update(s).digest('base64url');
    await writeZip(evil, [
      { name: 'evil-1.0.dist-info/METADATA', content: md },
      { name: 'evil-1.0.dist-info/WHEEL', content: wh },
      { name: 'evil-1.0.dist-info/RECORD', content: `evil-1.0.dist-info/METADATA,sha256=${h(md)},${md.length}\nevil-1.0.dist-info/WHEEL,sha256=${h(wh)},${wh.length}\n../../../../x,,\n` },
    ]);
    const bytes = await readFile(evil);
    const evilPin: WheelPin = {
      name: 'evil',
      version: '1.0',
      filename: 'evil-1.0-py3-none-any.whl',
      url: server.url('/wheels/evil-1.0-py3-none-any.whl'),
      sha256: createHash('sha256').update(bytes).digest('hex'),
      size: bytes.length,
    };
    const good = await pin('wheel-0.38.4-py3-none-any.whl', server.url('/debian'), 'wheel', '0.38.4', ['wheel']);
    const before = await snapshotTree(prefix);
    // Installed in name order: wheel first, then the hostile one (named to sort last).
    const err = await syncWheels({ pins: [{ ...evilPin, name: 'zz-evil' }, good], http, cacheDir, destDir: prefix, target: target() }).catch((e) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    expect(err.message).toContain('RECORD entry "../../../../x" points outside the wheel');
    expect(await snapshotTree(prefix)).toEqual(before);
  });
});
