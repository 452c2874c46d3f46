/**
 * The PyPI resolver against resolvelib's frozen PyPI indexes and their expected resolutions
 * (../shared/fixtures/pypi/resolvelib, served as a loopback PEP 691 index with PEP 658 files).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnsatisfiableError } from '../../src/errors.js';
import { HttpClient } from '../../src/net/http.js';
import { PypiIndexClient } from '../../src/pypi-index/client.js';
import { parseRequirement } from '../../src/pypi/requirement.js';
import { Pep440Version } from '../../src/pypi/version.js';
import { PypiFetchState, resolvePypi } from '../../src/solver/pypi/resolve.js';
import { fixture, haveFixtures } from '../support/fixtures.js';
import { PypiIndexServer } from '../support/pypi-index-server.js';

interface Case {
  index: string;
  requested: string[];
  resolved: Record<string, { version: string } | string>;
}

const caseDir = fixture('pypi', 'resolvelib', 'inputs', 'case');
const caseFiles = haveFixtures ? readdirSync(caseDir).filter((f) => f.endsWith('.json')) : [];

describe.skipIf(!haveFixtures)("resolvelib's frozen PyPI indexes", () => {
  const servers = new Map<string, PypiIndexServer>();
  let cacheDir: string;
  const http = new HttpClient({ retries: 0, concurrency: 16 });
  beforeAll(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'cgl-resolvelib-'));
  });
  afterAll(async () => {
    for (const s of servers.values()) await s.stop();
    await rm(cacheDir, { recursive: true, force: true });
  });
  const serverFor = async (index: string) => {
    let s = servers.get(index);
    if (!s) {
      s = await new PypiIndexServer().addResolvelibIndex(index).start();
      servers.set(index, s);
    }
    return s;
  };

  for (const file of caseFiles) {
    const c = JSON.parse(readFileSync(join(caseDir, file), 'utf8')) as Case;
    if (!c.index) continue;
    it(`${file}: ${c.requested.join(', ')}`, async () => {
      const server = await serverFor(c.index);
      const client = new PypiIndexClient({ indexes: [{ url: server.indexUrl, redacted: server.indexUrl }], http, cacheDir: join(cacheDir, c.index) });
      const run = () =>
        resolvePypi(
          {
            platform: 'linux-64',
            requirements: c.requested.map(parseRequirement),
            python: { version: '3.8.1', implementation: 'cpython' },
            facts: { platform: 'linux-64', glibc: [2, 17] },
            conda: [],
          },
          new PypiFetchState(client),
        );
      if (Object.keys(c.resolved ?? {}).length === 0) {
        await expect(run()).rejects.toThrow(UnsatisfiableError);
        return;
      }
      const got = await run();
      // Versions compare as PEP 440 (7.0 == 7.0.0).
      const canon = (v: string) => Pep440Version.parse(v).toString().replace(/(\.0)+$/, '');
      const want = Object.fromEntries(Object.entries(c.resolved).map(([k, v]) => [k.replace(/[-_.]+/g, '-').toLowerCase(), canon(typeof v === 'string' ? v : v.version)]));
      const have = Object.fromEntries(got.wheels.map((w) => [w.key, canon(w.version)]));
      // Our result may hold more: a requirement whose environment marker is true for the target
      // (resolvelib's chalice answer has no urllib3, which botocore 1.14.15 requires under
      // `python_version != '3.4'`). Every expected pin must match, and every extra project must
      // have been brought in only by marker-guarded requirements.
      for (const [k, v] of Object.entries(want)) expect(have[k], k).toBe(v);
      for (const w of got.wheels.filter((x) => !(x.key in want))) {
        for (const parent of w.requestedBy) {
          const p = got.wheels.find((x) => x.key === parent);
          const lines = p ? p.requiresDist.filter((l) => parseRequirement(l).key === w.key) : [];
          expect(lines.length, `${w.key} from ${parent}`).toBeGreaterThan(0);
          for (const l of lines) expect(parseRequirement(l).marker, l).toBeDefined();
        }
      }
      // Metadata only for versions the search tried; no wheel downloaded (PEP 658 files exist).
      expect(server.requestsTo(/\.whl$/)).toEqual([]);
    });
  }
});
