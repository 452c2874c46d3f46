/** `completion bash|zsh|fish|powershell`, run in the real shells where they are installed. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { runCli } from './helpers.js';

const have = (sh: string) => spawnSync(sh, ['-c', 'exit 0']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'cgl-completion-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function script(shell: string): Promise<string> {
  const r = await runCli(['completion', shell]);
  expect(r.code).toBe(0);
  const file = join(dir, `c.${shell}`);
  writeFileSync(file, r.stdout);
  return file;
}

const commands = buildProgram().commands.map((c) => c.name());

describe('completion', () => {
  it('lists every subcommand, and refuses an unknown shell', async () => {
    for (const shell of ['bash', 'zsh', 'fish', 'powershell']) {
      const r = await runCli(['completion', shell]);
      for (const c of commands) expect(r.stdout, `${shell}: ${c}`).toContain(c);
    }
    expect((await runCli(['completion', 'tcsh'])).code).toBe(2);
  });

  it.skipIf(!have('bash'))('bash: subcommands, options of a subcommand, choices of an option', async () => {
    const file = await script('bash');
    const complete = (...words: string[]) => {
      const cmd = `source ${file}; COMP_WORDS=(conda-go-lock ${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length}; _conda_go_lock; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const r = spawnSync('bash', ['-c', cmd], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      return r.stdout.trim().split('\n');
    };
    expect(complete('lo')).toEqual(['lock']);
    expect(complete('lock', '--chan')).toEqual(['--channel', '--channel-priority', '--channel-alias']);
    expect(complete('lock', '--channel-priority', '')).toEqual(['strict', 'flexible', 'disabled']);
    expect(complete('render', '--kind', 'c')).toEqual(['conda-lock']);
    expect(complete('install', '--platform', 'osx-')).toEqual(['osx-64', 'osx-arm64']);
  });

  it.skipIf(!have('fish'))('fish: subcommands and option choices', async () => {
    const file = await script('fish');
    const complete = (line: string) => spawnSync('fish', ['--no-config', '-c', `source ${file}; complete -C '${line}'`], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split('\t')[0]).filter(Boolean);
    expect(complete('conda-go-lock lo')).toContain('lock');
    expect(complete('conda-go-lock lock --channel-priority ')).toEqual(expect.arrayContaining(['strict', 'flexible', 'disabled']));
  });

  it.skipIf(!have('zsh'))('zsh: the script loads', async () => {
    const file = await script('zsh');
    const r = spawnSync('zsh', ['-f', '-c', `source ${file} && (( $+functions[_conda_go_lock] ))`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
