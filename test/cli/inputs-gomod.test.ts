/** `--gomod` pointing at nothing or at a directory says which. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveInputs } from '../../src/cli/inputs.js';

describe('resolveInputs --gomod errors', () => {
  let dir: string;
  let env: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cgl-inputs-gomod-'));
    env = join(dir, 'environment.yml');
    writeFileSync(env, 'channels: [conda-forge]\ndependencies: [zlib]\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (gomod: string) => () =>
    resolveInputs({ file: [env], lockfile: join(dir, 'l.yml'), gomod, goReleasesUrl: 'https://go.dev/dl/?mode=json&include=all', channelAlias: 'https://conda.anaconda.org' });

  it('a missing file', () => {
    expect(run(join(dir, 'nope', 'go.mod'))).toThrow(/cannot read go\.mod \(no such file\)/);
  });
  it('a directory', () => {
    expect(run(dir)).toThrow(/cannot read go\.mod \(it is a directory\); --gomod takes the path of a go\.mod file/);
  });
});
