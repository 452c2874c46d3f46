/**
 * The fast lockfile reader (src/lockfile/read-fast.ts) against the generic `yaml` path: on every
 * text our writer produces it must give the same data as `yaml` (deep-equal), and on anything else
 * it must give nothing (the caller then uses `yaml`), never a different value.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseCanonicalLockfile } from '../../src/lockfile/read-fast.js';
import { parseLockfile, parseLockfileWithYaml } from '../../src/lockfile/read.js';
import { serializeLockfile } from '../../src/lockfile/write.js';
import { generateLockfile } from '../../bench/lib/lockfile-gen.js';
import { projectRoot } from '../support/fixtures.js';

const yamlData = (text: string): unknown => parseDocument(text, { version: '1.2', uniqueKeys: true }).toJS();

function lockfilesIn(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...lockfilesIn(p));
    else if (e === 'conda-go-lock.yml') out.push(p);
  }
  return out;
}

/** Result of a read: the lockfile or the error message. */
function outcome(f: () => unknown): unknown {
  try {
    return { ok: f() };
  } catch (err) {
    return { error: (err as Error).message, code: (err as { code?: string }).code };
  }
}

const HOSTILE = [
  "it's", "''", '"quoted"', 'a: b', 'a #b', 'a#b', ' lead', 'trail ', 'x:', '-x', '- x', '? x', '[a, b]', '{a: 1}',
  '&anchor', '*alias', '!tag', '|', '>', '%x', '@x', '`x`', 'back\\slash', 'C:\\dir\\', 'yes', 'No', 'on', 'off',
  '~', 'null', 'NULL', 'true', 'False', '1e3', '0x1F', '0o17', '017', '1.10', '.5', '-.inf', '.NaN', '12:30:45',
  '2024-01-02', '1_000', '+1', 'tab\there', 'new\nline', 'cr\rx', 'nul\u0000x', 'bell\u0007', 'del\u007f', 'nel\u0085',
  'ls\u2028ps\u2029', 'bom\ufeffx', 'emoji 🐍', 'accents éü', 'zw\u200bsp', '"', "'", '\\', '#', ': ', 'a  b',
  'x'.repeat(500), '0b010101', '0x1f2a3b', '0o123456', '1234567', '123e456', '12e45a', '1a2b3c4d', '00000e1', '${HOME}/x', 'https://example.com/a#frag?b=1&c=2', '',
];

describe('fast lockfile reader', () => {
  it('reads every lockfile in lockfiles/ exactly as yaml does (and takes them all)', () => {
    const files = lockfilesIn(join(projectRoot, 'lockfiles'));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      const fast = parseCanonicalLockfile(text);
      expect(fast, f).toBeDefined();
      expect(fast, f).toStrictEqual(yamlData(text));
      expect(parseLockfile(text, f)).toStrictEqual(parseLockfileWithYaml(text, f));
    }
  });

  it('reads generated lockfiles (conda + PyPI + Go, 3 platforms) exactly as yaml does', () => {
    for (const n of [1, 40, 120]) {
      const lf = generateLockfile({ packages: n });
      const text = serializeLockfile(lf);
      const fast = parseCanonicalLockfile(text);
      expect(fast, `${n} packages`).toBeDefined();
      expect(fast).toStrictEqual(yamlData(text));
      const read = parseLockfile(text);
      expect(read).toStrictEqual(parseLockfileWithYaml(text));
      expect(read.packages).toHaveLength(3 * n);
      expect(read.pypi?.length).toBeGreaterThan(0);
      expect(read.go).toHaveLength(3);
    }
  });

  it('hostile strings round-trip: the fast path gives yaml’s value or declines, never another value', () => {
    let taken = 0;
    for (const s of HOSTILE) {
      const lf = generateLockfile({ packages: 2, platforms: ['linux-64'], strings: [s] });
      const text = serializeLockfile(lf);
      const fast = parseCanonicalLockfile(text);
      const slow = yamlData(text) as { packages: { license: string; depends: string[] }[] };
      if (fast !== undefined) {
        taken++;
        expect(fast, JSON.stringify(s)).toStrictEqual(slow);
      }
      // and the string itself survives the writer + reader
      expect(slow.packages.map((p) => p.license)).toContain(s);
      expect(slow.packages.flatMap((p) => p.depends)).toContain(s);
    }
    // the writer quotes these on one line (single or double quotes), which the fast path reads
    expect(taken).toBeGreaterThan(HOSTILE.length - 5);
  });

  const base = serializeLockfile(generateLockfile({ packages: 3, platforms: ['linux-64'] }));
  const edits: [string, (t: string) => string][] = [
    ['a trailing comment', (t) => t.replace('size: 1000', 'size: 1000 # bytes')],
    ['an anchor and alias', (t) => t.replace('license_family: BSD', 'license_family: &f BSD').replace(/(license_family: BSD)(?![\s\S]*license_family: &)/, 'license_family: *f')],
    ['a flow sequence', (t) => t.replace(/constrains: \[\]/, 'constrains: [a, b]')],
    ['CRLF line ends', (t) => t.replace(/\n/g, '\r\n')],
    ['a tab', (t) => t.replace('    name: ', '\tname: ')],
    ['a duplicate key', (t) => t.replace('    build_number: 0', '    build_number: 0\n    build_number: 1')],
    ['a key without a value', (t) => t.replace('    license_family: BSD', '    license_family:')],
    ['a sequence at the key’s indent', (t) => t.replace('  platforms:\n    - linux-64', '  platforms:\n  - linux-64')],
    ['four-space indentation', (t) => t.replace('  tool_version:', '    tool_version:')],
    ['a document marker', (t) => `---\n${t}`],
    ['a block scalar', (t) => t.replace("license: 'MIT AND Apache-2.0'", 'license: |-\n      MIT').replace('license: MIT AND Apache-2.0', 'license: |-\n      MIT')],
    ['a float', (t) => t.replace('size: 1000', 'size: 1e3')],
    ['an unquoted version', (t) => t.replace(/version: '([0-9.]+)'/, 'version: 1.10')],
    ['a null', (t) => t.replace('size: 1000', 'size: ~')],
    ['a tag', (t) => t.replace('size: 1000', 'size: !!str 1000')],
    ['an explicit key', (t) => t.replace('    name: ', '    ? name\n    : ')],
    ['a BOM', (t) => `\ufeff${t}`],
    ['a lone dash item', (t) => t.replace('  platforms:\n    - linux-64', '  platforms:\n    -\n    - linux-64')],
    ['an unterminated quote', (t) => t.replace("tool_version: '0.1.0'", "tool_version: '0.1.0")],
    ['a key ending in a space', (t) => t.replace('    license_family: BSD', '    license_family: ')],
  ];
  it.each(edits)('declines a hand-edited file with %s, and parseLockfile behaves as the yaml path', (_what, edit) => {
    const text = edit(base);
    expect(text).not.toBe(base);
    expect(parseCanonicalLockfile(text)).toBeUndefined();
    expect(outcome(() => parseLockfile(text, 'x.yml'))).toStrictEqual(outcome(() => parseLockfileWithYaml(text, 'x.yml')));
  });

  it('takes layout variations yaml reads the same way (no final newline, comments and blank lines between items)', () => {
    const variants = [
      base.replace(/\n+$/, ''),
      base.replace('    build_number: 0\n', '    build_number: 0\n\n    # a comment\n   \n'),
      base.replace('packages:\n', 'packages:\n  # the packages\n'),
    ];
    for (const text of variants) {
      expect(text).not.toBe(base);
      const fast = parseCanonicalLockfile(text);
      expect(fast).toBeDefined();
      expect(fast).toStrictEqual(yamlData(text));
    }
  });

  it('an invalid field in our own layout is reported with file:line:col (through the yaml path)', () => {
    const text = base.replace(/sha256: [0-9a-f]{64}/, 'sha256: zz');
    expect(parseCanonicalLockfile(text)).toBeDefined(); // the layout is ours; the data is wrong
    const r = outcome(() => parseLockfile(text, 'conda-go-lock.yml')) as { error: string; code: string };
    expect(r.code).toBe('E_LOCKFILE_SCHEMA');
    expect(r.error).toMatch(/^conda-go-lock\.yml:\d+:\d+: packages\[0\]\.sha256/);
    expect(r).toStrictEqual(outcome(() => parseLockfileWithYaml(text, 'conda-go-lock.yml')));
  });

  it('a consistency error (package for an unlisted platform) keeps its line too', () => {
    const text = base.replace('  - platform: linux-64\n    name: pkg-1', '  - platform: osx-64\n    name: pkg-1');
    expect(text).not.toBe(base);
    const r = outcome(() => parseLockfile(text, 'l.yml')) as { error: string; code: string };
    expect(r.code).toBe('E_LOCKFILE_INVALID');
    expect(r.error).toMatch(/^l\.yml:\d+:\d+: packages\[\d\] \(pkg-1 /);
  });
});
