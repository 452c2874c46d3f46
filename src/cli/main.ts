/**
 * The conda-go-lock command line. Only wiring lives here: each subcommand's handler sits in
 * ./commands/<name>.ts and calls into the modules (spec → repodata → solver → lockfile → install).
 */
import { Argument, Command, CommanderError, Option } from 'commander';
import { createColors } from 'picocolors';

/**
 * Colour for stderr only when a person is looking at it: a TTY, no NO_COLOR; FORCE_COLOR wins.
 * (picocolors' own default also colours whenever CI is set, which puts escape codes in CI logs.)
 */
export function stderrColors(env: NodeJS.ProcessEnv = process.env, isTTY = Boolean(process.stderr.isTTY)) {
  const enabled = 'FORCE_COLOR' in env ? env.FORCE_COLOR !== '0' : isTTY && !('NO_COLOR' in env) && env.TERM !== 'dumb';
  return createColors(enabled);
}
import { exitSignal, runExitCleanups } from '../cleanup.js';
import { escapeControlKeepLines } from '../escape.js';
import { CondaGoLockError, diskFullError, ExitCode } from '../errors.js';
import { RENDERERS, RENDER_KINDS } from '../lockfile/render/index.js';
import { redactText } from '../net/redact.js';
import { TOOL_VERSION } from './version.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `a, b, or c`. */
const listOr = (items: readonly string[]) => (items.length < 3 ? items.join(' or ') : `${items.slice(0, -1).join(', ')}, or ${items.at(-1)}`);

/**
 * The options that define a lock's inputs. `lock` and `check` share them so that both compute the
 * same content hash from the same command line.
 */
function inputOptions(cmd: Command): Command {
  return cmd
    .option('-f, --file <path>', 'environment file (repeatable; default environment.yml)', collect)
    .option('-p, --platform <platform>', 'target platform (repeatable); default: the files\' platforms, else the existing lockfile\'s, else linux-64 osx-64 osx-arm64 win-64', collect)
    .option('--lockfile <path>', 'the lockfile', 'conda-go-lock.yml')
    .option('--go <spec>', 'Go toolchain spec (overrides the environment file): 1.22.*, >=1.21,<1.23, 1.22.5, stable')
    .option('--gomod <path>', 'take the Go toolchain spec from this go.mod (toolchain line wins over go line)')
    .option('--go-prerelease', 'allow Go release candidates and betas')
    .option('--go-releases-url <url>', 'Go release metadata JSON (default: $CONDA_GO_LOCK_GO_RELEASES_URL, else the URL the existing lockfile used, else https://go.dev/dl/?mode=json&include=all)')
    .option('-c, --channel <channel>', 'channel (repeatable, priority order); replaces the environment files\' channels', collect)
    .addOption(new Option('--channel-priority <mode>', 'default: the existing lockfile\'s, else strict. strict: a package comes only from the highest-priority channel that has it; flexible (conda\'s default): lower-priority channels too, when needed; disabled: the newest version from any channel').choices(['strict', 'flexible', 'disabled']))
    .option('--go-download-base-url <url>', 'base URL for Go archives, a mirror (default: $CONDA_GO_LOCK_GO_DOWNLOAD_BASE_URL, else the one the existing lockfile used, else <origin of the releases URL>/dl/)')
    .option('--channel-alias <url>', 'base URL for channel names (env: CONDA_GO_LOCK_CHANNEL_ALIAS)', process.env.CONDA_GO_LOCK_CHANNEL_ALIAS ?? 'https://conda.anaconda.org')
    .option('--virtual-packages <list>', 'override virtual packages, e.g. "__glibc=2.17,__osx=12.0,__cuda=12.2"')
    .option('--virtual-package-spec <file>', 'conda-lock style virtual-packages.yml (subdirs: {linux-64: {packages: {__glibc: "2.17"}}}), merged onto the defaults')
    .option('--pypi-index-url <url>', 'PyPI simple index for pip: requirements (default: $CONDA_GO_LOCK_PYPI_INDEX_URL, else the pip: section\'s --index-url, else https://pypi.org/simple)')
    .option('--pypi-mapping <file>', 'conda→PyPI name mapping JSON (parselmouth compressed_mapping.json; default: $CONDA_GO_LOCK_PYPI_MAPPING, else name equality); also maps pyproject.toml\'s PyPI names to conda packages')
    .option('--dev-dependencies', 'lock the dev category (the default, as in conda-lock)')
    .option('--no-dev-dependencies', 'leave the dev category out of the lock')
    .option('-e, --extras <category>', 'with --filter-categories: a category (extra) to lock besides main and dev (repeatable; alias --category)', collect)
    .option('--category <category>', 'same as --extras', collect)
    .option('--filter-categories', 'lock only main, dev and the --extras categories (default: every category the files name)')
    .option('--filter-extras', 'same as --filter-categories');
}

/** install / verify / render: which categories of the lockfile to work on (main, plus these). */
function categoryOptions(cmd: Command): Command {
  return cmd
    .option('--dev', 'include the dev category (conda-lock install\'s flag; default: main only)')
    .option('-E, --extras <category>', 'include this category (an extra; repeatable; alias --category)', collect)
    .option('--category <category>', 'same as --extras', collect);
}

export function buildProgram(): Command {
  const program = new Command('conda-go-lock')
    .description('Lock a conda environment and a Go toolchain into one reproducible multi-platform lockfile, and install it without conda.')
    .version(TOOL_VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(stderrColors().red(str)) });

  inputOptions(program
    .command('lock')
    .description('Solve environment.yml (+ Go toolchain spec) for every platform and write the lockfile.'))
    .option('--update <names...>', 're-solve moving only these packages (and what they force; go = the Go toolchain); keep the rest pinned')
    .option('--check', 'exit 1 when the lockfile is stale against its inputs (no network)')
    .option('--force', 're-solve even when the lockfile is up to date with its inputs (picks up new builds)')
    .option('--cache-dir <dir>', 'repodata cache directory (default: $CONDA_GO_LOCK_CACHE, else $XDG_CACHE_HOME/conda-go-lock, else ~/.cache/conda-go-lock)')
    .option('--offline', 'use only cached repodata and release metadata')
    .option('--solver-timeout <seconds>', 'give up on a platform whose solve takes longer (0 = no limit)', '600')
    .option('-j, --jobs <n>', 'platforms solved at once in worker threads (default: CPU count when the solves are large, else 0 = in-process)')
    .option('-q, --quiet', 'print nothing but errors (no progress, warnings or summary)')
    .option('--json', 'print the result as JSON on stdout (docs/json.md)')
    .option('--dry-run', 'solve and print what would change against the current lockfile; write nothing')
    .addHelpText('after', `
Examples:
  conda-go-lock lock                                  # environment.yml -> conda-go-lock.yml (a no-op when unchanged)
  conda-go-lock lock --dry-run --update numpy         # what --update numpy would change, nothing written
  conda-go-lock lock -f environment.yml -p linux-64 -p osx-arm64 --go '1.22.*'
  conda-go-lock lock --update numpy                   # move numpy (and what it needs), keep every other pin
  conda-go-lock lock --force                          # re-solve: pick up new builds`)
    .action(async (opts) => run(async () => (await import('./commands/lock.js')).lockCommand(opts)));

  inputOptions(program
    .command('check')
    .description('Exit 1 when the lockfile is stale against environment.yml / go.mod (no network).'))
    .option('-q, --quiet', 'print nothing when up to date; only the verdict and reasons when stale')
    .option('--json', 'print {up_to_date, reasons} as JSON on stdout instead (docs/json.md)')
    .action(async (opts) => run(async () => (await import('./commands/check.js')).checkCommand(opts)));

  inputOptions(program
    .command('import')
    .description('Turn a conda-lock v1 file (+ the environment file it was made from) into the lockfile, keeping every pin.')
    .argument('<conda-lock-file>', 'conda-lock.yml'))
    .option('--cache-dir <dir>', 'repodata cache directory')
    .option('--offline', 'use only cached repodata')
    .option('--force', 'replace an existing lockfile')
    .option('-q, --quiet', 'print nothing but errors')
    .addHelpText('after', `
Each pin's record is read from its channel's repodata (md5/sha256 must match); the next \`lock\` keeps them.
Example:
  conda-go-lock import conda-lock.yml -f environment.yml   # -> conda-go-lock.yml`)
    .action(async (file: string, opts) => run(async () => (await import('./commands/import.js')).importCommand(file, opts)));

  categoryOptions(program
    .command('install')
    .description('Install the lockfile into a prefix: verified downloads, conda-style linking, the Go toolchain and activation scripts.')
    .option('-p, --prefix <dir>', 'environment directory to install into (as in conda; lock/check/render use -p for --platform)')
    .option('-n, --name <name>', 'a named environment: $CONDA_GO_LOCK_ENVS_DIR/NAME, else $CONDA_ENVS_PATH/NAME, else $MAMBA_ROOT_PREFIX/envs/NAME, else ~/.conda/envs/NAME')
    .option('--lockfile <path>', 'lockfile', 'conda-go-lock.yml')
    .option('--platform <platform>', 'platform to install (default: the one an existing prefix was installed for, else this machine\'s)')
    .option('--cache-dir <dir>', 'package cache directory (default: $CONDA_GO_LOCK_CACHE, else $XDG_CACHE_HOME/conda-go-lock, else ~/.cache/conda-go-lock)')
    .option('-j, --concurrency <n>', 'parallel downloads', '8')
    .option('--no-go', 'skip the Go toolchain')
    .option('--adopt', 'take over an environment made by conda or micromamba (its records count as installed packages; never a conda base install)')
    .option('--allow-unsigned', 'install osx-arm64 Mach-O files whose prefix was rewritten even when this host cannot re-sign them (no codesign): re-sign them on the Mac')
    .option('--repair', 'also check every installed file (as verify does) and put back missing and modified ones from the verified cache')
    .option('-q, --quiet', 'print nothing but errors (no progress, warnings or summary)')
    .option('--json', 'print the result as JSON on stdout (docs/json.md)'))
    .addHelpText('after', `
Examples:
  conda-go-lock install -p ./env                      # this machine's platform
  conda-go-lock install -p ./env --dev -E docs        # main + dev + docs categories
  conda-go-lock install -p ./env --platform osx-arm64 --no-go
  conda-go-lock install -p ./env --repair             # put back files that were deleted or edited
  eval "$(conda-go-lock shell-hook -p ./env)"         # then: go version`)
    .action(async (opts) =>
      run(async () => {
        // An extraction worker starts while the install's modules load and the lockfile is read, when
        // the cache is cold (the install starts the others once it knows what it extracts).
        // (best effort: whatever fails here, e.g. no home directory for the default cache, the install reports itself)
        void import('../install/extract/pool.js')
          .then((m) => m.prestartForColdCache(opts.cacheDir))
          .catch(() => {});
        return (await import('./commands/install.js')).installCommand(opts);
      }),
    );

  categoryOptions(program
    .command('verify')
    .description('Check that a prefix matches the lockfile: the sha256 of every conda package file, no missing or extra package, the Go toolchain\'s version.')
    .option('-p, --prefix <dir>', 'environment directory to verify')
    .option('-n, --name <name>', 'a named environment (resolved as for install -n)')
    .option('--lockfile <path>', 'lockfile', 'conda-go-lock.yml')
    .option('--platform <platform>', 'platform (default: the one the prefix was installed for, else this machine\'s)')
    .option('--json', 'print {ok, checked_files, problems} as JSON on stdout (docs/json.md)'))
    .action(async (opts) => run(async () => (await import('./commands/verify.js')).verifyCommand(opts)));

  categoryOptions(program
    .command('render')
    .description(`Write other formats from the lockfile: ${listOr(RENDER_KINDS.map((k) => RENDERERS[k].description))}.`)
    .addOption(new Option('-k, --kind <kind>', 'output kind').choices(RENDER_KINDS).default(RENDER_KINDS[0]))
    .option('--lockfile <path>', 'lockfile', 'conda-go-lock.yml')
    .option('-p, --platform <platform>', 'platform (repeatable; default: all in the lockfile)', collect)
    .option('-o, --output <path>', `output file or directory; "-" for stdout. Default: ${RENDER_KINDS.map((k) => RENDERERS[k].fileName).join(' / ')}`)
    .addOption(new Option('--hash <algo>', 'hash appended to @EXPLICIT URLs (sha256 needs conda >= 24.9 / micromamba >= 2.1; md5 works everywhere)').choices(['sha256', 'md5']).default('sha256'))
    .option('-q, --quiet', 'print nothing but errors'))
    .addHelpText('after', `
--dev / --extras pick categories for explicit and env files; --kind conda-lock writes every category.
Examples:
  conda-go-lock render                                # conda-<platform>.lock for every platform
  conda-go-lock render -p linux-64 -o - --hash md5    # for conda < 24.9: conda create -n ENV --file <file>
  conda-go-lock render -k conda-lock                  # conda-lock.yml for conda-lock / micromamba`)
    .action(async (opts) => run(async () => (await import('./commands/render.js')).renderCommand(opts)));

  program
    .command('diff')
    .description('Show what changed between two lockfiles, per platform.')
    .argument('<old>', 'old lockfile')
    .argument('<new>', 'new lockfile')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'markdown', 'json']).default('text'))
    .option('--json', 'same as --format json (docs/json.md)')
    .option('--exit-code', 'exit 1 when there are changes')
    .action(async (oldPath: string, newPath: string, opts) =>
      run(async () => (await import('./commands/diff.js')).diffCommand(oldPath, newPath, opts)),
    );

  program
    .command('shell-hook')
    .description('Print the shell code that activates the Go toolchain of a prefix (Go state, cgo against its libraries); evaluating it twice changes nothing, --deactivate undoes it.')
    .option('-p, --prefix <dir>', 'environment directory installed by `conda-go-lock install`')
    .addOption(new Option('-s, --shell <shell>', 'shell').choices(['bash', 'zsh', 'sh', 'fish', 'powershell', 'cmd']).default('bash'))
    .option('--deactivate', 'print the code that restores what the activation changed (no -p needed)')
    .addHelpText('after', `
Examples:
  eval "$(conda-go-lock shell-hook -p ./env)"               # bash / zsh / sh (--shell sh for dash)
  conda-go-lock shell-hook -p ./env --shell fish | source
  eval "$(conda-go-lock shell-hook --deactivate)"           # back to the shell as it was`)
    .action(async (opts) => run(async () => (await import('./commands/shell-hook.js')).shellHookCommand(opts)));

  program
    .command('tree')
    .description('Print the dependency tree of one platform from the lockfile (no network); -i NAME inverts it.')
    .option('--lockfile <path>', 'lockfile', 'conda-go-lock.yml')
    .option('-p, --platform <platform>', 'platform (default: this machine\'s when locked, else the first)')
    .option('-i, --invert <name>', 'show what depends on NAME, up to the requested specs')
    .option('--depth <n>', 'print at most this many levels')
    .action(async (opts) => run(async () => (await import('./commands/tree.js')).treeCommand(opts)));

  program
    .command('why')
    .description('Say which requested specs pull a package in, and through which dependencies (from the lockfile, no network).')
    .argument('<name>', 'package name')
    .option('--lockfile <path>', 'lockfile', 'conda-go-lock.yml')
    .option('-p, --platform <platform>', 'platform (default: this machine\'s when locked, else the first)')
    .action(async (name: string, opts) => run(async () => (await import('./commands/tree.js')).whyCommand(name, opts)));

  program
    .command('completion')
    .description('Print a shell completion script (bash, zsh, fish, powershell).')
    .addArgument(new Argument('<shell>', 'shell').choices(['bash', 'zsh', 'fish', 'powershell']))
    .addHelpText('after', `
Install:
  bash:        conda-go-lock completion bash > ~/.local/share/bash-completion/completions/conda-go-lock
  zsh:         conda-go-lock completion zsh > "\${fpath[1]}/_conda-go-lock"
  fish:        conda-go-lock completion fish > ~/.config/fish/completions/conda-go-lock.fish
  powershell:  conda-go-lock completion powershell >> $PROFILE`)
    .action(async (shell: 'bash' | 'zsh' | 'fish' | 'powershell') =>
      run(async () => {
        const { completionScript } = await import('./completion.js');
        process.stdout.write(completionScript(shell, program));
      }),
    );

  return program;
}

let exitStatus: number = ExitCode.ok;

async function run(fn: () => Promise<number | void>): Promise<void> {
  const code = await fn();
  exitStatus = code ?? ExitCode.ok;
}

let stdoutGuarded = false;

/**
 * `conda-go-lock diff a b | head` or `... --help | true`: a reader that stops early closes the pipe,
 * and the next write fails with EPIPE. That is not an error of ours: stop quietly instead of dying
 * with an unhandled 'error' event and a Node stack trace.
 */
function exitQuietlyWhenStdoutCloses(): void {
  if (stdoutGuarded) return;
  stdoutGuarded = true;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : exitStatus);
    throw err;
  });
}

/** Entry point: returns the process exit status instead of exiting, so tests can call it in-process. */
export async function main(argv: string[]): Promise<number> {
  exitQuietlyWhenStdoutCloses();
  exitStatus = ExitCode.ok;
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitStatus;
  } catch (err) {
    return reportError(err);
  }
}

export function reportError(err: unknown): number {
  // The process is exiting (a signal or a crash, whose handler has said why): work it stopped on
  // purpose fails quietly, and the handler's exit status stands.
  if (exitSignal.aborted) return ExitCode.internal;
  // A full disk anywhere below (writing a lockfile, the repodata or package cache): one clear error.
  const full = diskFullError(err, 'free space (or point the cache or output at another filesystem) and run the command again');
  if (full) err = full;
  if (err instanceof CommanderError) {
    // Help and version requests end here too, with exit code 0.
    if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return ExitCode.ok;
    return ExitCode.usage;
  }
  if (err instanceof CondaGoLockError) {
    // Last line of defence: a token or password inside any URL of the message is masked.
    // Package paths, specs and URLs inside a message may hold control characters: shown escaped.
    process.stderr.write(`${stderrColors().red(`error[${err.code}]`)}: ${escapeControlKeepLines(redactText(err.message))}\n`);
    if (process.env.CONDA_GO_LOCK_DEBUG && err.stack) process.stderr.write(`${err.stack}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  process.stderr.write(`${stderrColors().red('internal error')}: ${escapeControlKeepLines(redactText(e?.stack ?? String(err)))}\n`);
  return ExitCode.internal;
}

let crashing = false;

/**
 * The last resort for a bug: an exception thrown from a callback or event handler outside any
 * command's promise (a library asserting in a socket 'end' handler, say) or an unhandled rejection.
 * Node would print its stack and exit 1 — the status docs/exit-codes.md gives `check`/`verify`
 * findings — leaving the prefix lock and partial downloads behind. Instead: report it as an internal
 * error, run the registered cleanups (src/cleanup.ts), exit 70.
 */
export async function crash(err: unknown): Promise<never> {
  if (crashing) process.exit(exitingWith ?? ExitCode.internal);
  crashing = true;
  try {
    reportError(err instanceof CondaGoLockError ? new InternalCrash(err) : err);
  } catch {
    // Reporting must not keep the cleanups from running.
  }
  return exitAfterCleanups(ExitCode.internal);
}

/** The status of the handler that started exiting first (an interrupt's stays when a crash follows). */
let exitingWith: number | undefined;

async function exitAfterCleanups(status: number): Promise<never> {
  exitingWith ??= status;
  try {
    await runExitCleanups();
  } finally {
    process.exit(exitingWith);
  }
}

/** A coded error that escaped its command is still a bug: keep its text, print it as internal. */
class InternalCrash extends Error {
  constructor(readonly original: CondaGoLockError) {
    super(`${original.code}: ${original.message} (thrown outside a command)`);
    this.stack = `${this.message}\n${original.stack ?? ''}`;
  }
}

let interrupted = false;

/**
 * SIGINT (Ctrl-C) / SIGTERM: run the registered cleanups (src/cleanup.ts: partial downloads and
 * extractions, a new prefix's staging directory, an update's uncommitted stage, temp files of the
 * lockfile being written, the prefix lock), then exit 130 / 143 as a shell reports a process killed by
 * that signal. A committed update journal stays for the next install to finish. A second signal while
 * cleaning up exits at once.
 */
export async function interrupt(signal: 'SIGINT' | 'SIGTERM'): Promise<never> {
  const status = signal === 'SIGINT' ? 130 : 143;
  if (interrupted) process.exit(exitingWith ?? status);
  interrupted = true;
  try {
    process.stderr.write(`\n${signal === 'SIGINT' ? 'interrupted' : 'terminated'} (${signal}): removing partial files and the prefix lock\n`);
  } catch {
    // stderr gone (EPIPE): still clean up.
  }
  return exitAfterCleanups(status);
}

/** The process entry point (bin/conda-go-lock.js): crash and signal handlers, then `main`, then its exit status. */
export async function runCliProcess(argv: string[]): Promise<void> {
  process.on('uncaughtException', (err) => void crash(err));
  process.on('unhandledRejection', (err) => void crash(err));
  process.on('SIGINT', () => void interrupt('SIGINT'));
  process.on('SIGTERM', () => void interrupt('SIGTERM'));
  try {
    process.exitCode = await main(argv);
  } catch (err) {
    await crash(err);
  }
}
