/**
 * The committed example lockfiles are exactly what the current code writes from their inputs and the
 * fixture snapshots (offline). UPDATE_EXAMPLES=1 rewrites them instead of comparing.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLockfile } from '../../src/lockfile/read.js';
import { EXAMPLES_DIR, exampleLockArgs, exampleNames, seedExampleCache } from '../support/example-lockfiles.js';
import { fixturesSkipReason, haveFixtures } from '../support/fixtures.js';
import { runCli } from './helpers.js';

const update = process.env.UPDATE_EXAMPLES === '1';

describe.skipIf(!haveFixtures)(`example lockfiles (${haveFixtures ? 'fixtures present' : fixturesSkipReason})`, () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'cgl-examples-'));
    await seedExampleCache(join(tmp, 'cache'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('there are examples to check', () => {
    expect(exampleNames().length).toBeGreaterThanOrEqual(2);
  });

  for (const name of exampleNames()) {
    it(`${name}: regenerating offline gives the committed bytes`, async () => {
      const committed = join(EXAMPLES_DIR, name, 'conda-go-lock.yml');
      // Lock next to the inputs (so `sources` are relative the same way), under a temporary name.
      const out = join(EXAMPLES_DIR, name, `.regen-${process.pid}.yml`);
      try {
        const r = await runCli(exampleLockArgs(name, out, join(tmp, 'cache')));
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        if (update) copyFileSync(out, committed);
        expect(existsSync(committed), `${committed} is missing: run UPDATE_EXAMPLES=1`).toBe(true);
        expect(readFileSync(out, 'utf8')).toBe(readFileSync(committed, 'utf8'));
        const lock = await readLockfile(committed);
        expect(lock.go.length).toBe(lock.metadata.platforms.length);
        for (const p of lock.packages) expect(p.url.startsWith('https://conda.anaconda.org/conda-forge/')).toBe(true);
        // And it is up to date for `check` (no network).
        const check = await runCli(['check', '-f', join(EXAMPLES_DIR, name, 'environment.yml'), '--lockfile', committed, '--go-releases-url', 'https://go.dev/dl/?mode=json&include=all']);
        expect(check.code).toBe(0);
      } finally {
        rmSync(out, { force: true });
      }
    });
  }
});
