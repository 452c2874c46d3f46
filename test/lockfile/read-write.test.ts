import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as yamlParse } from 'yaml';
import { LockfileError } from '../../src/errors.js';
import type { Lockfile } from '../../src/lockfile/model.js';
import { normaliseLockfile } from '../../src/lockfile/normalise.js';
import { parseLockfile, readLockfile } from '../../src/lockfile/read.js';
import { isAmbiguousPlainScalar, serializeLockfile, writeLockfile } from '../../src/lockfile/write.js';
import { goTc, pkg, sampleLockfile } from './sample.js';

/** Deterministic Fisher-Yates with a small LCG so a failure is reproducible. */
function shuffle<T>(xs: T[], seed: number): T[] {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function catchErr(fn: () => unknown): LockfileError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LockfileError);
    return err as LockfileError;
  }
  throw new Error('expected a LockfileError');
}

describe('serializeLockfile / parseLockfile round trip', () => {
  it('parse(serialize(x)) deep-equals the canonical x, and canonical x is a fixed point', () => {
    const lf = sampleLockfile();
    const canonical = normaliseLockfile(lf);
    const text = serializeLockfile(lf);
    expect(parseLockfile(text, 'conda-go-lock.yml')).toStrictEqual(canonical);
    expect(normaliseLockfile(canonical)).toStrictEqual(canonical);
  });

  it('serialize(parse(text)) === text for our own output', () => {
    const text = serializeLockfile(sampleLockfile());
    expect(serializeLockfile(parseLockfile(text, 'x.yml'))).toBe(text);
  });

  it('keeps optional fields absent (no nulls), and present ones intact', () => {
    const back = parseLockfile(serializeLockfile(sampleLockfile()), 'x.yml');
    const mutex = back.packages.find((p) => p.name === '_libgcc_mutex')!;
    expect('noarch' in mutex).toBe(false);
    expect('timestamp' in mutex).toBe(false);
    const zlib = back.packages.find((p) => p.name === 'libzlib' && p.platform === 'linux-64')!;
    expect(zlib.timestamp).toBe(1716874197000);
    expect(zlib.license).toBe('Zlib');
  });

  it('works without a Go toolchain and without metadata.go', () => {
    const lf = sampleLockfile();
    lf.go = [];
    delete lf.metadata.go;
    const text = serializeLockfile(lf);
    expect(text).toMatch(/^go: \[\]$/m);
    expect(parseLockfile(text, 'x.yml')).toStrictEqual(normaliseLockfile(lf));
  });
});

describe('determinism', () => {
  it.each([1, 2, 3, 42, 1234])('shuffled packages, go entries, depends and platforms give identical bytes (seed %i)', (seed) => {
    const lf = sampleLockfile();
    const expected = serializeLockfile(lf);
    const shuffled: Lockfile = {
      ...lf,
      metadata: {
        ...lf.metadata,
        platforms: shuffle(lf.metadata.platforms, seed),
        content_hash: Object.fromEntries(shuffle(Object.entries(lf.metadata.content_hash), seed)),
        virtual_packages: Object.fromEntries(
          shuffle(Object.entries(lf.metadata.virtual_packages), seed + 1).map(([k, v]) => [k, shuffle(v, seed)]),
        ),
      },
      packages: shuffle(lf.packages, seed).map((p) => ({
        ...Object.fromEntries(shuffle(Object.entries(p), seed + 7)),
        depends: shuffle(p.depends, seed),
        constrains: shuffle(p.constrains, seed),
      })) as Lockfile['packages'],
      go: shuffle(lf.go, seed),
    };
    expect(serializeLockfile(shuffled)).toBe(expected);
  });

  it('sorts packages by platform, then name, then build', () => {
    const lf = sampleLockfile();
    lf.packages.push(pkg({ name: 'aaa', version: '1', build: 'b_1' }), pkg({ name: 'aaa', version: '1', build: 'a_1', platform: 'osx-arm64' }));
    const back = parseLockfile(serializeLockfile(lf), 'x.yml');
    const keys = back.packages.map((p) => `${p.platform}/${p.name}`);
    expect(keys).toEqual([...keys].sort());
    expect(keys[0]).toBe('linux-64/_libgcc_mutex');
    expect(keys.indexOf('linux-64/aaa')).toBeLessThan(keys.indexOf('linux-64/libgcc-ng'));
    expect(back.go.map((g) => g.platform)).toEqual(['linux-64', 'osx-arm64']);
  });

  it('keeps channel order and spec order (priority and the user\'s order matter)', () => {
    const lf = sampleLockfile();
    lf.metadata.channels = [{ url: 'https://conda.anaconda.org/pytorch' }, { url: 'https://conda.anaconda.org/conda-forge' }];
    lf.metadata.specs = ['zlib', 'python 3.12.*', 'abc'];
    const back = parseLockfile(serializeLockfile(lf), 'x.yml');
    expect(back.metadata.channels.map((c) => c.url)).toEqual(lf.metadata.channels.map((c) => c.url));
    expect(back.metadata.specs).toEqual(['zlib', 'python 3.12.*', 'abc']);
  });

  it('has a generated-file header and no run timestamp', () => {
    const text = serializeLockfile(sampleLockfile());
    expect(text.startsWith('# This file is generated by conda-go-lock')).toBe(true);
    expect(text).toContain('conda-go-lock lock');
    expect(text).not.toMatch(/20\d\d-\d\d-\d\dT/);
  });
});

describe('quoting', () => {
  const tricky = ['1.10', '2.0', '1e3', '1', '0.1', '010', '1_000', '1:20', '2024-01-02', 'yes', 'No', 'off', 'null', '~', '.inf', '0x1f'];

  it.each(tricky)('version %j stays a string through the YAML text (read by a generic YAML parser too)', (v) => {
    const lf = sampleLockfile();
    lf.packages = [pkg({ name: 'x', version: v, build: v })];
    const text = serializeLockfile(lf);
    const generic = yamlParse(text) as Lockfile;
    expect(generic.packages[0]!.version).toBe(v);
    expect(generic.packages[0]!.build).toBe(v);
    const yaml11 = yamlParse(text, { version: '1.1' }) as Lockfile;
    expect(yaml11.packages[0]!.version).toBe(v);
    // '1:20' and '~' are YAML traps but not conda versions: the reader refuses them (they name files).
    if (/^[A-Za-z0-9_.+!*-]+$/.test(v)) expect(parseLockfile(text, 'x.yml').packages[0]!.version).toBe(v);
    else expect(() => parseLockfile(text, 'x.yml')).toThrow(/must be letters, digits/);
  });

  it('quotes every version and build, even unambiguous ones', () => {
    const text = serializeLockfile(sampleLockfile());
    for (const line of text.split('\n').filter((l) => /^\s+(version|build):/.test(l))) {
      expect(line).toMatch(/: '.*'$/);
    }
  });

  it('quotes YAML 1.1 look-alikes in other string fields (a spec of "1.22")', () => {
    const lf = sampleLockfile();
    lf.metadata.go!.spec = '1.22';
    lf.metadata.specs = ['yes', 'python'];
    const text = serializeLockfile(lf);
    expect(text).toContain("spec: '1.22'");
    expect(text).toContain("- 'yes'");
    const yaml11 = yamlParse(text, { version: '1.1' }) as Lockfile;
    expect(yaml11.metadata.go!.spec).toBe('1.22');
    expect(yaml11.metadata.specs[0]).toBe('yes');
  });

  it.each([
    ['1.10', true], ['1e3', true], ['yes', true], ['ON', true], ['2024-05-01', true], ['0o17', true], ['-1', true],
    ['python', false], ['1.2.3', false], ['h4ab18f5_1', false], ['conda_forge', false], ['__glibc 2.28 0', false], ['1.22.*', false],
  ])('isAmbiguousPlainScalar(%j) = %s', (s, expected) => {
    expect(isAmbiguousPlainScalar(s as string)).toBe(expected);
  });
});

describe('parseLockfile rejections', () => {
  const good = () => serializeLockfile(sampleLockfile());

  it('bad sha256 → schema error naming file, line, field and package', () => {
    const text = good().replace(/sha256: b2b2[0-9a-f]+/, 'sha256: nothex');
    const err = catchErr(() => parseLockfile(text, 'conda-go-lock.yml'));
    expect(err.code).toBe('E_LOCKFILE_SCHEMA');
    const line = text.split('\n').findIndex((l) => l.includes('sha256: nothex')) + 1;
    expect(err.message).toContain(`conda-go-lock.yml:${line}:`);
    expect(err.message).toContain('packages[0].sha256');
    expect(err.message).toContain('_libgcc_mutex');
    expect(err.message).toMatch(/sha256: 64 lowercase hex/);
  });

  it('bad md5 length → schema error', () => {
    const text = good().replace(/md5: a1a1[0-9a-f]+/, 'md5: a1a1');
    expect(catchErr(() => parseLockfile(text, 'l.yml')).message).toMatch(/packages\[0\]\.md5 \(package _libgcc_mutex 0\.1 on linux-64\): must be an md5/);
  });

  it('missing required field → names the field and the package block line', () => {
    const text = good().replace(/^ {4}size: 12345\n/m, '');
    const err = catchErr(() => parseLockfile(text, 'l.yml'));
    expect(err.message).toMatch(/l\.yml:\d+:\d+: packages\[0\]\.size \(package _libgcc_mutex '?0\.1'? on linux-64\): is required/);
  });

  it('unknown platform → rejected with the allowed values', () => {
    const text = good().replace('  platforms:\n    - linux-64', '  platforms:\n    - linux-65');
    const err = catchErr(() => parseLockfile(text, 'l.yml'));
    expect(err.message).toContain('metadata.platforms[0]');
    expect(err.message).toContain('"linux-64"');
  });

  it('unknown field → named with its line', () => {
    const text = good().replace('    build_number: 16\n', '    build_number: 16\n    colour: red\n');
    const line = text.split('\n').findIndex((l) => l.includes('colour: red')) + 1;
    const err = catchErr(() => parseLockfile(text, 'l.yml'));
    expect(err.message).toContain(`l.yml:${line}:5: packages[1].colour`);
    expect(err.message).toContain('not a known field');
  });

  it('unquoted version that YAML reads as a number → must be string', () => {
    const text = good().replace("version: '0.1'", 'version: 0.1');
    expect(catchErr(() => parseLockfile(text, 'l.yml')).message).toMatch(/packages\[0\]\.version.*must be string/);
  });

  it('content_hash keyed by an unknown platform is rejected', () => {
    const text = good().replace('    linux-64: d4d4', '    linux-99: d4d4');
    expect(catchErr(() => parseLockfile(text, 'l.yml')).message).toContain('metadata.content_hash.linux-99');
  });

  it('channel URL with a token is rejected', () => {
    const text = good().replace('- url: https://conda.anaconda.org/conda-forge', '- url: https://conda.anaconda.org/t/abc123/conda-forge');
    expect(catchErr(() => parseLockfile(text, 'l.yml')).message).toContain('metadata.channels[0].url');
  });

  it('invalid YAML → E_LOCKFILE_YAML with line:col', () => {
    const err = catchErr(() => parseLockfile('version: 1\nmetadata: [\n  a: b\n', 'bad.yml'));
    expect(err.code).toBe('E_LOCKFILE_YAML');
    expect(err.message).toMatch(/^bad\.yml:\d+:\d+: not valid YAML/);
  });

  it('duplicate keys are a YAML error', () => {
    const text = good().replace("    version: '0.1'\n", "    version: '0.1'\n    version: '0.2'\n");
    expect(catchErr(() => parseLockfile(text, 'dup.yml')).code).toBe('E_LOCKFILE_YAML');
  });

  it('a newer lockfile version says to upgrade', () => {
    const err = catchErr(() => parseLockfile(good().replace(/^version: 1$/m, 'version: 2'), 'v2.yml'));
    expect(err.code).toBe('E_LOCKFILE_VERSION');
    expect(err.message).toMatch(/v2\.yml:\d+:\d+: lockfile version 2 is not supported.*upgrade/);
  });

  it('not a mapping → schema error', () => {
    expect(catchErr(() => parseLockfile('- a\n- b\n', 'list.yml')).code).toBe('E_LOCKFILE_SCHEMA');
  });

  it('a package for a platform not in metadata.platforms', () => {
    const lf = sampleLockfile();
    lf.packages.push(pkg({ name: 'zz', version: '1', platform: 'win-64' }));
    expect(catchErr(() => parseLockfile(serializeLockfile(lf), 'l.yml')).message).toMatch(/zz 1\) is for platform win-64/);
  });

  it('the same package twice on one platform', () => {
    const lf = sampleLockfile();
    lf.packages.push(pkg({ name: 'libgomp', version: '13.2.0' }));
    const err = catchErr(() => parseLockfile(serializeLockfile(lf), 'l.yml'));
    expect(err.code).toBe('E_LOCKFILE_INVALID');
    expect(err.message).toContain('libgomp is locked twice for linux-64');
  });

  it('two Go toolchains for one platform', () => {
    const lf = sampleLockfile();
    lf.go.push(goTc('linux-64', '1.22.4', 'linux', 'amd64'));
    expect(catchErr(() => parseLockfile(serializeLockfile(lf), 'l.yml')).message).toContain('second Go toolchain for linux-64');
  });
});

describe('readLockfile / writeLockfile (atomic)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cgl-lockfile-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes, reads back, and rewriting gives identical bytes', async () => {
    const path = join(dir, 'conda-go-lock.yml');
    const written = await writeLockfile(path, sampleLockfile());
    expect(await readFile(path, 'utf8')).toBe(written);
    const back = await readLockfile(path);
    expect(back).toStrictEqual(normaliseLockfile(sampleLockfile()));
    await writeLockfile(path, back);
    expect(await readFile(path, 'utf8')).toBe(written);
    expect(await readdir(dir)).toEqual(['conda-go-lock.yml']);
  });

  it('keeps the permissions of the file it replaces, and does not rewrite identical content', async () => {
    const { chmod, stat } = await import('node:fs/promises');
    const path = join(dir, 'conda-go-lock.yml');
    await writeFile(path, 'old\n');
    await chmod(path, 0o600);
    await writeLockfile(path, sampleLockfile());
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const before = await stat(path);
    await new Promise((r) => setTimeout(r, 20));
    await writeLockfile(path, sampleLockfile());
    const after = await stat(path);
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
  });

  it('a failing validation leaves the old file untouched and no temp file', async () => {
    const path = join(dir, 'conda-go-lock.yml');
    await writeFile(path, 'old contents\n');
    const bad = sampleLockfile();
    bad.packages[0]!.sha256 = 'deadbeef';
    await expect(writeLockfile(path, bad)).rejects.toMatchObject({ code: 'E_LOCKFILE_SCHEMA', message: expect.stringContaining('sha256') });
    expect(await readFile(path, 'utf8')).toBe('old contents\n');
    expect(await readdir(dir)).toEqual(['conda-go-lock.yml']);
  });

  it('an unknown platform is refused before writing', async () => {
    const path = join(dir, 'l.yml');
    const bad = sampleLockfile();
    bad.metadata.platforms.push('beos-64');
    await expect(writeLockfile(path, bad)).rejects.toBeInstanceOf(LockfileError);
    expect(await readdir(dir)).toEqual([]);
  });

  it('a failing rename (target is a directory) leaves no temp file', async () => {
    const path = join(dir, 'target');
    await import('node:fs/promises').then((fs) => fs.mkdir(join(path, 'inner'), { recursive: true }));
    await expect(writeLockfile(path, sampleLockfile())).rejects.toMatchObject({ code: 'E_LOCKFILE_WRITE' });
    expect((await readdir(dir)).sort()).toEqual(['target']);
  });

  it('missing file → E_LOCKFILE_NOT_FOUND naming the path', async () => {
    const path = join(dir, 'nope.yml');
    await expect(readLockfile(path)).rejects.toMatchObject({ code: 'E_LOCKFILE_NOT_FOUND', message: expect.stringContaining(path) });
  });
});

describe('schema contract', () => {
  it('the platform enum is exactly src/conda/platform.ts KNOWN_PLATFORMS', async () => {
    const { KNOWN_PLATFORMS } = await import('../../src/conda/platform.js');
    const { lockfileSchema } = await import('../../src/lockfile/schema.js');
    const defs = (lockfileSchema() as { $defs: { platform: { enum: string[] } } }).$defs;
    expect([...defs.platform.enum].sort()).toEqual([...KNOWN_PLATFORMS].sort());
  });

  it('is draft 2020-12 and closed at the top level', async () => {
    const { lockfileSchema } = await import('../../src/lockfile/schema.js');
    const s = lockfileSchema() as Record<string, unknown>;
    expect(s.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(s.additionalProperties).toBe(false);
  });
});

describe('errors inside the go section', () => {
  it('a bad Go sha256 names go[i] and the toolchain', () => {
    const text = serializeLockfile(sampleLockfile()).replace(/sha256: c3c3[0-9a-f]+/, 'sha256: C3');
    const err = catchErr(() => parseLockfile(text, 'g.yml'));
    expect(err.message).toMatch(/g\.yml:\d+:\d+: go\[0\]\.sha256 \(Go toolchain go 1\.22\.5 on linux-64\): must be a sha256/);
  });
});

describe('YAML-hostile strings survive a round trip', () => {
  const hostile = ['*', '&anchor', '!tag', '- item', 'a: b', '#comment', 'x #y', "it's", '"dq"', '@at', '`bt', '%pct', '|', '>', '? q', '{a}', '[b]', ' lead', 'trail ', 'multi\nline', 'tab\there', 'ünïcode ✓', '~', 'null', 'True', '0x10', '1e3', '0o7', '.5'];
  it.each(hostile)('%j in license, depends and constrains', (s) => {
    const lf = sampleLockfile();
    lf.packages = [pkg({ name: 'x', version: '1', license: s, depends: [s, 'python'], constrains: [s] })];
    const text = serializeLockfile(lf);
    const back = parseLockfile(text, 'h.yml');
    expect(back.packages[0]!.license).toBe(s);
    expect(back.packages[0]!.depends).toContain(s);
    expect(back.packages[0]!.constrains).toEqual([s]);
    expect(serializeLockfile(back)).toBe(text);
    const yaml11 = yamlParse(text, { version: '1.1' }) as Lockfile;
    expect(yaml11.packages[0]!.license).toBe(s);
  });

  it('an empty license round-trips; an empty depends entry is a schema error', () => {
    const lf = sampleLockfile();
    lf.packages = [pkg({ name: 'x', version: '1', license: '' })];
    expect(parseLockfile(serializeLockfile(lf), 'e.yml').packages[0]!.license).toBe('');
    lf.packages = [pkg({ name: 'x', version: '1', depends: [''] })];
    expect(() => parseLockfile(serializeLockfile(lf), 'e.yml')).toThrow(/packages\[0\]\.depends\[0\]/);
  });
});
