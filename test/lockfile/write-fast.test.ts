/**
 * The direct lockfile writer (src/lockfile/write-fast.ts) writes the very bytes of the `yaml`
 * Document path (write.ts serializeWithYaml), or declines and leaves it to that path: on the example
 * lockfiles, generated lockfiles of every shape, and random strings in every free-text place.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateLockfile } from '../../bench/lib/lockfile-gen.js';
import type { Lockfile } from '../../src/lockfile/model.js';
import { normaliseLockfile } from '../../src/lockfile/normalise.js';
import { parseLockfile } from '../../src/lockfile/read.js';
import { fastSerialize } from '../../src/lockfile/write-fast.js';
import { FAST_RULES, serializeLockfile, serializeWithYaml } from '../../src/lockfile/write.js';
import { EXAMPLES_DIR, exampleNames } from '../support/example-lockfiles.js';

/** Both writers on the canonical form: the direct one's text (undefined when it declined) and yaml's. */
function both(lf: Lockfile): { fast: string | undefined; yaml: string } {
  const c = normaliseLockfile(lf);
  const yaml = serializeWithYaml(c);
  // serializeLockfile uses the direct writer when it can: its answer is always yaml's.
  expect(serializeLockfile(c)).toBe(yaml);
  return { fast: fastSerialize(c as unknown as Record<string, unknown>, FAST_RULES), yaml };
}

describe('direct lockfile writer', () => {
  it.each(exampleNames())('example %s: written directly, byte for byte the committed file', (name) => {
    const text = readFileSync(join(EXAMPLES_DIR, name, 'conda-go-lock.yml'), 'utf8');
    const { fast, yaml } = both(parseLockfile(text));
    expect(yaml).toBe(text);
    expect(fast).toBe(text);
  });

  it('generated lockfiles (conda + PyPI + Go, 1–7 platforms, with and without categories): written directly, identical', () => {
    for (const [packages, platforms] of [
      [1, ['linux-64']],
      [40, ['linux-64', 'osx-arm64', 'win-64']],
      [300, ['linux-64', 'linux-aarch64', 'osx-64', 'osx-arm64', 'win-64', 'noarch', 'linux-ppc64le']],
    ] as const) {
      const { fast, yaml } = both(generateLockfile({ packages, platforms: [...platforms] }));
      expect(fast).toBeDefined();
      expect(fast).toBe(yaml);
    }
  });

  it('the strings at the edges of yaml\'s plain / quoted rules: identical to yaml, each as a value, a list item and a map key', () => {
    const edge = [
      'a #b', 'a#b', '#a', '-', '- a', '-a', '?', '? a', '?a', 'a: b', 'a:', 'a:b', 'a ', ' a', '&a', '*a', '!a', '|a', '>a', '>=3.8',
      "'a", '"a', '%a', '@a', '`a', ',a', '[a', ']a', '{a', '}a', '---', '--- a', '...', 'a...', '--a', "it's", 'say "hi"',
      `both ' and "`, 'é€ ok', '\u202e', 'a\tb', 'a\nb', 'a\x85b', 'a\x7f', 'a\ud800b', '\udc00', '', 'yes', 'No', '1.10', '0x1F', '.inf', '~', 'null', '2024-01-02',
    ];
    let direct = 0;
    for (const s of edge) {
      const lf = generateLockfile({ packages: 2, platforms: ['linux-64'] });
      lf.packages[0]!.license = s;
      lf.metadata.sources = [s, 'environment.yml'];
      lf.metadata.content_hash = { ...lf.metadata.content_hash, [s]: 'f'.repeat(64) };
      const { fast, yaml } = both(lf);
      if (fast === undefined) continue;
      direct++;
      expect(fast, JSON.stringify(s)).toBe(yaml);
    }
    expect(direct).toBeGreaterThan(edge.length / 2);
  });

  it('random strings in free-text fields and map keys: identical to yaml whenever written directly, and often written directly', () => {
    let seed = 12345;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    const alphabet = " abcXYZ019_.-/:#'\"!&*?|>%@`,[]{}()<>=~^$;+\\\t\né€\u202e\u0000\x85\ud800";
    let direct = 0;
    const N = 1500;
    for (let i = 0; i < N; i++) {
      const strings = Array.from({ length: 6 }, () => {
        const len = 1 + rand(12);
        let s = '';
        for (let j = 0; j < len; j++) s += rand(3) === 0 ? alphabet[rand(alphabet.length)] : 'abcdefghij0123456789.-_ '[rand(24)];
        return s;
      });
      const lf = generateLockfile({ packages: 3, platforms: ['linux-64'], strings });
      // Also as license text and as a category name (a map key of nothing, a list item).
      lf.packages[0]!.license = strings[0];
      lf.metadata.sources = [strings[1]!, 'environment.yml'];
      lf.metadata.content_hash = { ...lf.metadata.content_hash, [strings[2]!]: 'e'.repeat(64) };
      const { fast, yaml } = both(lf);
      if (fast !== undefined) {
        direct++;
        expect(fast).toBe(yaml);
      }
    }
    // Most random strings here are plain or single-quotable: the direct path is really exercised.
    expect(direct).toBeGreaterThan(N / 10);
  });
});
