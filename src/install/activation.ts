/**
 * Activation scripts and shell hooks for the Go toolchain installed under `PREFIX/go`.
 *
 * Variables (all below the prefix, so environments never share Go state):
 *   GOROOT      = PREFIX/go
 *   GOPATH      = PREFIX/gopath
 *   GOMODCACHE  = PREFIX/gopath/pkg/mod
 *   GOCACHE     = PREFIX/gopath/cache       (build cache kept per environment, next to GOPATH)
 *   GOENV       = PREFIX/gopath/env         (`go env -w` writes here, not to ~/.config/go/env)
 *   GOTOOLCHAIN = local                     (a go.mod `toolchain` line never makes `go` download one)
 *   GOFLAGS     = -modcacherw [previous]    (module-cache directories stay writable, so removable)
 *   PATH        = PREFIX/go/bin : PREFIX/gopath/bin : $PATH   (the pinned `go` wins over GOPATH tools)
 * and, unless the environment file turned cgo off (`go: {cgo: false}`), what makes cgo build and link
 * against the environment's C libraries (Windows: PREFIX\Library\include, PREFIX\Library\lib):
 *   CGO_CPPFLAGS    = -IPREFIX/include [previous]
 *   CGO_CFLAGS      = -IPREFIX/include [previous, else Go's default -g -O2]   (CGO_CXXFLAGS the same)
 *   CGO_LDFLAGS     = -LPREFIX/lib -Wl,-rpath,PREFIX/lib [previous, else -g -O2]   (no rpath on Windows)
 *   PKG_CONFIG_PATH = PREFIX/lib/pkgconfig : PREFIX/share/pkgconfig [: previous]
 *   CC / CXX        = PREFIX/bin/<conda compiler>, only when the environment has conda-forge's compilers
 * Flags are single-quoted (double-quoted if the prefix has a `'`) when the prefix contains whitespace:
 * Go splits CGO_* with quote rules.
 *
 * The conda-style scripts (`etc/conda/{activate,deactivate}.d/go.*`) are relocatable: they work
 * out the prefix from their own location (bash `BASH_SOURCE`, zsh `%x`, dash & co. on Linux the
 * sourced file's descriptor in `/proc/$$/fd`, fish `status`, cmd `%~dp0`, PowerShell `$PSScriptRoot`),
 * falling back to `$CONDA_PREFIX` and then to the prefix they were written for; where a POSIX sh
 * cannot locate the script and neither fallback holds a Go toolchain, the script says so (naming
 * `shell-hook -p` and `install -p`) and changes nothing.
 *
 * Activation saves each previous value in `CONDA_GO_LOCK_BACKUP_<VAR>` (POSIX/fish/PowerShell store
 * "x<value>" so that "set to empty" and "unset" stay distinct; cmd cannot tell them apart) for every
 * variable of ALL_VARS, set by this activation or not, and deactivation restores them all. PATH is not
 * restored from a snapshot (conda edits PATH itself between activation and deactivation); deactivation
 * removes exactly the two entries activation added. Activation first undoes an earlier activation
 * (of this or another prefix), so running it twice — `eval "$(conda-go-lock shell-hook)"` in a
 * shell profile that is read again — changes nothing the second time. One level is kept: stacked
 * activations of two Go environments are not tracked.
 */

export const GO_ENV_VARS = ['GOROOT', 'GOPATH', 'GOMODCACHE', 'GOCACHE', 'GOENV', 'GOTOOLCHAIN', 'GOFLAGS'] as const;
export const CGO_ENV_VARS = ['CGO_CPPFLAGS', 'CGO_CFLAGS', 'CGO_CXXFLAGS', 'CGO_LDFLAGS', 'PKG_CONFIG_PATH', 'CC', 'CXX'] as const;
/** Every variable activation may set: all of them are backed up and restored. */
export const ALL_VARS = [...GO_ENV_VARS, ...CGO_ENV_VARS] as const;
export type GoEnvVar = (typeof GO_ENV_VARS)[number];
export const BACKUP_PREFIX = 'CONDA_GO_LOCK_BACKUP_';
/** Set while activated; holds the prefix whose PATH entries deactivation removes. */
export const ACTIVE_VAR = 'CONDA_GO_LOCK_GO_PREFIX';

export type HookShell = 'bash' | 'zsh' | 'sh' | 'fish' | 'powershell' | 'cmd';
export const HOOK_SHELLS: readonly HookShell[] = ['bash', 'zsh', 'sh', 'fish', 'powershell', 'cmd'];

/** What an activation sets besides the Go variables. */
export interface ActivationOptions {
  /** Windows layout (Library\include ...) and separators. Default: false. */
  windows?: boolean;
  /** cgo against the prefix's libraries (default true; `go: {cgo: false}` in the environment file). */
  cgo?: boolean;
  /** Base names of conda's C / C++ compiler in PREFIX/bin (e.g. `x86_64-conda-linux-gnu-cc`). */
  cc?: string;
  cxx?: string;
}

/**
 * One piece of a value: literal text followed by a path below the prefix (`rel`, '/'-separated),
 * e.g. `{ text: '-I', rel: 'include' }` → `-I/env/include`.
 */
interface Item {
  text?: string;
  rel?: string;
}

interface VarRule {
  name: string;
  items: Item[];
  /** flags: joined by spaces, quoted when the prefix has whitespace; paths: joined by the path separator. */
  kind: 'value' | 'flags' | 'paths';
  /** Keep the previous value after ours (flags/paths), or this default when there was none. */
  keepOld?: boolean;
  defaultOld?: string;
}

const PATH_ENTRIES = ['go/bin', 'gopath/bin'];

/** The variables an activation sets, in order. */
export function activationRules(opts: ActivationOptions = {}): VarRule[] {
  const rules: VarRule[] = [
    { name: 'GOROOT', items: [{ rel: 'go' }], kind: 'value' },
    { name: 'GOPATH', items: [{ rel: 'gopath' }], kind: 'value' },
    { name: 'GOMODCACHE', items: [{ rel: 'gopath/pkg/mod' }], kind: 'value' },
    { name: 'GOCACHE', items: [{ rel: 'gopath/cache' }], kind: 'value' },
    { name: 'GOENV', items: [{ rel: 'gopath/env' }], kind: 'value' },
    { name: 'GOTOOLCHAIN', items: [{ text: 'local' }], kind: 'value' },
    { name: 'GOFLAGS', items: [{ text: '-modcacherw' }], kind: 'value', keepOld: true },
  ];
  if (opts.cgo === false) return rules;
  const lib = opts.windows ? 'Library/lib' : 'lib';
  const include = opts.windows ? 'Library/include' : 'include';
  const share = opts.windows ? 'Library/share' : 'share';
  const cflags = [{ text: '-I', rel: include }];
  const gccDefault = '-g -O2';
  rules.push(
    { name: 'CGO_CPPFLAGS', items: cflags, kind: 'flags', keepOld: true },
    { name: 'CGO_CFLAGS', items: cflags, kind: 'flags', keepOld: true, defaultOld: gccDefault },
    { name: 'CGO_CXXFLAGS', items: cflags, kind: 'flags', keepOld: true, defaultOld: gccDefault },
    {
      name: 'CGO_LDFLAGS',
      items: opts.windows ? [{ text: '-L', rel: lib }] : [{ text: '-L', rel: lib }, { text: '-Wl,-rpath,', rel: lib }],
      kind: 'flags',
      keepOld: true,
      defaultOld: gccDefault,
    },
    { name: 'PKG_CONFIG_PATH', items: [{ rel: `${lib}/pkgconfig` }, { rel: `${share}/pkgconfig` }], kind: 'paths', keepOld: true },
  );
  const bin = opts.windows ? 'Library/bin' : 'bin';
  if (opts.cc) rules.push({ name: 'CC', items: [{ rel: `${bin}/${opts.cc}` }], kind: 'value' });
  if (opts.cxx) rules.push({ name: 'CXX', items: [{ rel: `${bin}/${opts.cxx}` }], kind: 'value' });
  return rules;
}

/** conda-forge's compiler packages' executables, best first (`gcc_linux-64`, `clang_osx-64`, ...). */
const CC_PATTERNS = [/^[a-z0-9_]+-conda-linux-gnu-cc$/, /^[a-z0-9_]+-conda-linux-gnu-gcc$/, /^[a-z0-9_]+-apple-darwin[0-9.]*-clang$/];
const CXX_PATTERNS = [/^[a-z0-9_]+-conda-linux-gnu-c\+\+$/, /^[a-z0-9_]+-conda-linux-gnu-g\+\+$/, /^[a-z0-9_]+-apple-darwin[0-9.]*-clang\+\+$/];

/** The first part of conda-forge's compiler triplets for a platform (`x86_64-conda-linux-gnu-cc` on linux-64). */
const TRIPLET_ARCH: Record<string, string> = {
  'linux-64': 'x86_64',
  'linux-aarch64': 'aarch64',
  'linux-ppc64le': 'powerpc64le',
  'linux-s390x': 's390x',
  'osx-64': 'x86_64',
  'osx-arm64': 'arm64',
};

/**
 * conda's C and C++ compiler among the file names of PREFIX/bin, if any. With `platform`, the native
 * compiler comes before cross compilers (an `aarch64-conda-linux-gnu-cc` next to the x86_64 one).
 */
export function condaCompilers(binNames: readonly string[], platform?: string): { cc?: string; cxx?: string } {
  const arch = platform ? TRIPLET_ARCH[platform] : undefined;
  const native = (n: string) => (arch !== undefined && n.startsWith(`${arch}-`) ? 0 : 1);
  const sorted = [...binNames].sort((a, b) => native(a) - native(b) || (a < b ? -1 : a > b ? 1 : 0));
  const find = (patterns: RegExp[]) => {
    for (const re of patterns) {
      const hit = sorted.find((n) => re.test(n));
      if (hit) return hit;
    }
    return undefined;
  };
  const out: { cc?: string; cxx?: string } = {};
  const cc = find(CC_PATTERNS);
  const cxx = find(CXX_PATTERNS);
  if (cc) out.cc = cc;
  if (cxx) out.cxx = cxx;
  return out;
}

/** The variable values for a fixed prefix (joined with `sep`), for tests and tools. */
export function goEnvironment(
  prefix: string,
  sep: '/' | '\\' = '/',
  opts: ActivationOptions = {},
): { vars: Record<string, string>; pathEntries: string[] } {
  const base = (sep === '\\' ? prefix.replace(/\//g, '\\') : prefix).replace(/[\\/]+$/, '');
  const join = (rel: string) => `${base}${sep}${rel.split('/').join(sep)}`;
  const quote = /\s/.test(base) ? (base.includes("'") ? '"' : "'") : '';
  const listSep = opts.windows ? ';' : ':';
  const out: Record<string, string> = {};
  for (const r of activationRules(opts)) {
    const items = r.items.map((i) => {
      const v = `${i.text ?? ''}${i.rel !== undefined ? join(i.rel) : ''}`;
      return r.kind === 'flags' ? `${quote}${v}${quote}` : v;
    });
    out[r.name] = items.join(r.kind === 'paths' ? listSep : ' ');
  }
  return { vars: out, pathEntries: PATH_ENTRIES.map(join) };
}

const shQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const fishQuote = (s: string) => `'${s.replace(/[\\']/g, (c) => `\\${c}`)}'`;
const psQuote = (s: string) => `'${s.replace(/'/g, "''")}'`;
const cmdValue = (s: string) => s.replace(/%/g, '%%');

function looksWindows(prefix: string): boolean {
  return /^[A-Za-z]:/.test(prefix) || prefix.includes('\\');
}

const HEADER = 'Generated by conda-go-lock: Go toolchain environment. Do not edit; reinstall to regenerate.';

// ---------------------------------------------------------------------------------------------
// POSIX sh (bash, zsh, dash)

/** `"..."` body (inside double quotes) of a rule's new value, without the previous value. */
function shNew(r: VarRule, p: string): string {
  const items = r.items.map((i) => {
    const v = `${i.text ?? ''}${i.rel !== undefined ? `${p}/${i.rel}` : ''}`;
    return r.kind === 'flags' ? `\${_cgl_q}${v}\${_cgl_q}` : v;
  });
  return items.join(r.kind === 'paths' ? ':' : ' ');
}

function shSet(r: VarRule, p: string): string {
  const sep = r.kind === 'paths' ? ':' : ' ';
  const now = shNew(r, p);
  if (!r.keepOld) return `export ${r.name}="${now}"`;
  if (r.defaultOld !== undefined) return `export ${r.name}="${now}${sep}\${${r.name}:-${r.defaultOld}}"`;
  return `export ${r.name}="${now}\${${r.name}:+${sep}$${r.name}}"`;
}

function posixDeactivateBody(): string {
  const restores = ALL_VARS.map(
    (v) =>
      `  if [ -n "\${${BACKUP_PREFIX}${v}+x}" ]; then export ${v}="\${${BACKUP_PREFIX}${v}#x}"; unset ${BACKUP_PREFIX}${v}; else unset ${v}; fi`,
  ).join('\n');
  return `if [ -n "\${${ACTIVE_VAR}:-}" ]; then
  # Remove the first occurrence of each entry activation prepended, leave the rest of PATH alone.
  for _cgl_entry in "$${ACTIVE_VAR}/${PATH_ENTRIES[0]}" "$${ACTIVE_VAR}/${PATH_ENTRIES[1]}"; do
    _cgl_rest="$PATH:"
    _cgl_new=""
    _cgl_done=""
    while [ -n "$_cgl_rest" ]; do
      _cgl_item="\${_cgl_rest%%:*}"
      _cgl_rest="\${_cgl_rest#*:}"
      if [ -z "$_cgl_done" ] && [ "$_cgl_item" = "$_cgl_entry" ]; then
        _cgl_done=1
      elif [ -z "$_cgl_new" ]; then
        _cgl_new="$_cgl_item"
      else
        _cgl_new="$_cgl_new:$_cgl_item"
      fi
    done
    export PATH="$_cgl_new"
  done
  unset _cgl_entry _cgl_rest _cgl_new _cgl_done _cgl_item
${restores}
  unset ${ACTIVE_VAR}
fi
`;
}

/** The activation proper, once `_cgl_go_prefix` holds the prefix. */
function posixActivateBody(opts: ActivationOptions): string {
  const backups = ALL_VARS.map(
    (v) => `if [ -n "\${${v}+x}" ]; then export ${BACKUP_PREFIX}${v}="x\${${v}}"; else unset ${BACKUP_PREFIX}${v}; fi`,
  ).join('\n');
  const sets = activationRules(opts)
    .map((r) => shSet(r, '$_cgl_go_prefix'))
    .join('\n');
  return `${posixDeactivateBody()}${backups}
_cgl_q=""
case "$_cgl_go_prefix" in *[[:space:]]*) case "$_cgl_go_prefix" in *\\'*) _cgl_q='"' ;; *) _cgl_q="'" ;; esac ;; esac
${sets}
export PATH="$_cgl_go_prefix/${PATH_ENTRIES[0]}:$_cgl_go_prefix/${PATH_ENTRIES[1]}\${PATH:+:$PATH}"
export ${ACTIVE_VAR}="$_cgl_go_prefix"
unset _cgl_go_prefix _cgl_q
`;
}

/** Where the activate.d script sits below its prefix. */
const POSIX_SCRIPT_REL = 'etc/conda/activate.d/go.sh';
const POSIX_SCRIPT_DIR = 'etc/conda/activate.d';

/**
 * bash/zsh/dash activation script (relocatable; see the header comment). It finds its prefix from its
 * own path: bash `BASH_SOURCE`, zsh `%x`; in a shell with neither (dash, busybox ash, ksh) from the
 * descriptor the shell reads the sourced file through, which Linux names in `/proc/$$/fd`. Where that
 * is not available either (dash on macOS or a BSD, or the text `eval`ed rather than sourced) it falls
 * back to `$CONDA_PREFIX` (set by `conda activate`), then to the prefix it was written for, and when
 * none holds a Go toolchain it says what to do and changes nothing.
 */
export function posixActivateScript(fallbackPrefix: string, opts: ActivationOptions = {}): string {
  const fallback = shQuote(fallbackPrefix);
  return `# ${HEADER}
# shellcheck shell=sh
_cgl_go_prefix=""
# (CDPATH unset and cd's output dropped: a CDPATH match or a zsh chpwd hook would print into the path.)
if [ -n "\${BASH_VERSION:-}" ] && [ -n "\${BASH_SOURCE:-}" ]; then
  _cgl_go_prefix="$(CDPATH= cd -- "$(dirname -- "\${BASH_SOURCE[0]}")/../../.." >/dev/null 2>&1 && pwd)"
elif [ -n "\${ZSH_VERSION:-}" ]; then
  eval '_cgl_go_prefix="$(CDPATH= cd -- "$(dirname -- "\${(%):-%x}")/../../.." >/dev/null 2>&1 && pwd)"'
elif _cgl_pid="$(exec sh -c 'echo "$PPID"' 2>/dev/null)" && [ -d "/proc/$_cgl_pid/fd" ]; then
  # dash & co. keep the sourced file open while reading it: its descriptor names this script. The
  # shell's own pid, not $$ (which names the parent in a ( subshell )).
  for _cgl_fd in /proc/"$_cgl_pid"/fd/*; do
    _cgl_t="$(readlink "$_cgl_fd" 2>/dev/null)" || continue
    case "$_cgl_t" in
      */${POSIX_SCRIPT_REL})
        _cgl_go_prefix="\${_cgl_t%/${POSIX_SCRIPT_REL}}"
        # The same prefix by the name conda or the installer used (a symlinked path), if it is one.
        for _cgl_t in "\${CONDA_PREFIX:-}" ${fallback}; do
          # Compared by directory: a hard-linked copy (cp -al) shares the script's inode, not its directories.
          if [ -n "$_cgl_t" ] && [ "$_cgl_t/${POSIX_SCRIPT_DIR}" -ef "$_cgl_go_prefix/${POSIX_SCRIPT_DIR}" ]; then
            _cgl_go_prefix="$_cgl_t"
            break
          fi
        done
        break
        ;;
    esac
  done
  unset _cgl_fd _cgl_t
fi
unset _cgl_pid
if [ -z "$_cgl_go_prefix" ] || [ ! -d "$_cgl_go_prefix/go" ]; then
  if [ -n "\${CONDA_PREFIX:-}" ] && [ -d "$CONDA_PREFIX/go" ]; then
    _cgl_go_prefix="$CONDA_PREFIX"
  else
    _cgl_go_prefix=${fallback}
  fi
fi
if [ ! -d "$_cgl_go_prefix/go" ]; then
  # This shell cannot tell where a sourced file lives, and the prefix is no longer where it was written.
  echo "conda-go-lock: no Go toolchain at $_cgl_go_prefix/go: the prefix was moved, and this shell cannot tell where go.sh lives (no BASH_SOURCE, no /proc). Activate with CONDA_PREFIX=/path/to/env set, or: eval \\"\\$(conda-go-lock shell-hook --shell sh -p /path/to/env)\\"; then run conda-go-lock install -p /path/to/env to rewrite the paths conda packages recorded" >&2
  unset _cgl_go_prefix
else
${indent(posixActivateBody(opts), '  ')}fi
`;
}

export function posixDeactivateScript(): string {
  return `# ${HEADER}
# shellcheck shell=sh
${posixDeactivateBody()}`;
}

function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((l) => (l === '' ? l : `${by}${l}`))
    .join('\n');
}

// ---------------------------------------------------------------------------------------------
// fish

function fishNew(r: VarRule, p: string): string {
  const items = r.items.map((i) => {
    const v = `${i.text ?? ''}${i.rel !== undefined ? `${p}/${i.rel}` : ''}`;
    return r.kind === 'flags' ? `$_cgl_q${v}$_cgl_q` : v;
  });
  return items.join(r.kind === 'paths' ? ':' : ' ');
}

function fishSet(r: VarRule, p: string): string {
  const sep = r.kind === 'paths' ? ':' : ' ';
  const now = fishNew(r, p);
  if (!r.keepOld) return `set -gx ${r.name} "${now}"`;
  const otherwise = r.defaultOld !== undefined ? `set -gx ${r.name} "${now}${sep}${r.defaultOld}"` : `set -gx ${r.name} "${now}"`;
  return `if set -q ${r.name}; and test -n "$${r.name}"; set -gx ${r.name} "${now}${sep}$${r.name}"; else; ${otherwise}; end`;
}

function fishDeactivateBody(): string {
  const restores = ALL_VARS.map(
    (v) =>
      `    if set -q ${BACKUP_PREFIX}${v}; set -gx ${v} (string sub -s 2 -- "$${BACKUP_PREFIX}${v}"); set -e ${BACKUP_PREFIX}${v}; else; set -e ${v}; end`,
  ).join('\n');
  return `if set -q ${ACTIVE_VAR}
    for _cgl_entry in "$${ACTIVE_VAR}/${PATH_ENTRIES[0]}" "$${ACTIVE_VAR}/${PATH_ENTRIES[1]}"
        if set -l _cgl_i (contains -i -- $_cgl_entry $PATH)
            set -e PATH[$_cgl_i[1]]
        end
    end
${restores}
    set -e ${ACTIVE_VAR}
end
`;
}

function fishActivateBody(opts: ActivationOptions): string {
  const backups = ALL_VARS.map(
    (v) => `if set -q ${v}; set -gx ${BACKUP_PREFIX}${v} "x$${v}"; else; set -e ${BACKUP_PREFIX}${v}; end`,
  ).join('\n');
  const sets = activationRules(opts)
    .map((r) => fishSet(r, '$_cgl_go_prefix'))
    .join('\n');
  return `${fishDeactivateBody()}${backups}
set -l _cgl_q ""
if string match -q -r '\\s' -- "$_cgl_go_prefix"; if string match -q -- "*'*" "$_cgl_go_prefix"; set _cgl_q '"'; else; set _cgl_q "'"; end; end
${sets}
set -gx ${ACTIVE_VAR} $_cgl_go_prefix
set -gx PATH "$_cgl_go_prefix/${PATH_ENTRIES[0]}" "$_cgl_go_prefix/${PATH_ENTRIES[1]}" $PATH
`;
}

export function fishActivateScript(fallbackPrefix: string, opts: ActivationOptions = {}): string {
  return `# ${HEADER}
set -l _cgl_go_prefix (realpath (dirname (status --current-filename))/../../.. 2>/dev/null)
if not test -d "$_cgl_go_prefix/go"
    if set -q CONDA_PREFIX; and test -d "$CONDA_PREFIX/go"
        set _cgl_go_prefix $CONDA_PREFIX
    else
        set _cgl_go_prefix ${fishQuote(fallbackPrefix)}
    end
end
${fishActivateBody(opts)}`;
}

export function fishDeactivateScript(): string {
  return `# ${HEADER}
${fishDeactivateBody()}`;
}

// ---------------------------------------------------------------------------------------------
// cmd.exe

function cmdNew(r: VarRule, p: string, windows: boolean): string {
  const sep = windows ? '\\' : '/';
  const items = r.items.map((i) => {
    const v = `${i.text ?? ''}${i.rel !== undefined ? `${p}${sep}${i.rel.split('/').join(sep)}` : ''}`;
    return r.kind === 'flags' ? `%_CGL_Q%${v}%_CGL_Q%` : v;
  });
  return items.join(r.kind === 'paths' ? ';' : ' ');
}

function cmdSet(r: VarRule, p: string, windows = true): string[] {
  const sep = r.kind === 'paths' ? ';' : ' ';
  const now = cmdNew(r, p, windows);
  if (!r.keepOld) return [`@SET "${r.name}=${now}"`];
  return [
    `@SET "_CGL_OLD=%${r.name}%"`,
    ...(r.defaultOld !== undefined ? [`@IF NOT DEFINED _CGL_OLD @SET "_CGL_OLD=${r.defaultOld}"`] : []),
    `@SET "${r.name}=${now}"`,
    `@IF DEFINED _CGL_OLD @SET "${r.name}=${now}${sep}%_CGL_OLD%"`,
  ];
}

function cmdDeactivateLines(label: string): string[] {
  const restores = ALL_VARS.flatMap((v) => [`@SET "${v}=%${BACKUP_PREFIX}${v}%"`, `@SET "${BACKUP_PREFIX}${v}="`]);
  return [
    `@IF NOT DEFINED ${ACTIVE_VAR} GOTO :${label}`,
    `@CALL SET "PATH=%%PATH:%${ACTIVE_VAR}%\\go\\bin;=%%"`,
    `@CALL SET "PATH=%%PATH:%${ACTIVE_VAR}%\\gopath\\bin;=%%"`,
    ...restores,
    `@SET "${ACTIVE_VAR}="`,
    `:${label}`,
  ];
}

function cmdActivateLines(opts: ActivationOptions): string[] {
  const backups = ALL_VARS.map((v) => `@SET "${BACKUP_PREFIX}${v}=%${v}%"`);
  return [
    ...cmdDeactivateLines('cgl_deactivated'),
    ...backups,
    `@SET "_CGL_Q="`,
    `@IF NOT "%_CGL_GO_PREFIX%"=="%_CGL_GO_PREFIX: =%" @SET "_CGL_Q='"`,
    ...activationRules({ ...opts, windows: true }).flatMap((r) => cmdSet(r, '%_CGL_GO_PREFIX%')),
    `@SET "${ACTIVE_VAR}=%_CGL_GO_PREFIX%"`,
    `@SET "PATH=%_CGL_GO_PREFIX%\\go\\bin;%_CGL_GO_PREFIX%\\gopath\\bin;%PATH%"`,
    `@SET "_CGL_GO_PREFIX="`,
    `@SET "_CGL_OLD="`,
    `@SET "_CGL_Q="`,
  ];
}

export function cmdActivateScript(fallbackPrefix: string, opts: ActivationOptions = {}): string {
  return [
    `@REM ${HEADER}`,
    `@SET "_CGL_GO_PREFIX=%~dp0..\\..\\.."`,
    `@FOR %%I IN ("%_CGL_GO_PREFIX%") DO @SET "_CGL_GO_PREFIX=%%~fI"`,
    `@IF NOT EXIST "%_CGL_GO_PREFIX%\\go" @IF DEFINED CONDA_PREFIX @SET "_CGL_GO_PREFIX=%CONDA_PREFIX%"`,
    `@IF NOT EXIST "%_CGL_GO_PREFIX%\\go" @SET "_CGL_GO_PREFIX=${cmdValue(fallbackPrefix)}"`,
    ...cmdActivateLines(opts),
    '',
  ].join('\r\n');
}

export function cmdDeactivateScript(): string {
  // `GOTO :EOF` ends the script; the label line the helper adds is left out.
  return [`@REM ${HEADER}`, ...cmdDeactivateLines('EOF').slice(0, -1), ''].join('\r\n');
}

// ---------------------------------------------------------------------------------------------
// PowerShell

function psNew(r: VarRule, windows: boolean): string {
  const sep = windows ? '\\' : '/';
  const items = r.items.map((i) => {
    const text = i.text ? `'${i.text}' + ` : '';
    const v = i.rel !== undefined ? `${text}$cglPrefix + '${sep}${i.rel.split('/').join(sep)}'` : `'${i.text ?? ''}'`;
    return r.kind === 'flags' ? `$cglQ + ${v} + $cglQ` : v;
  });
  return items.join(r.kind === 'paths' ? ' + [IO.Path]::PathSeparator + ' : " + ' ' + ");
}

function psSet(r: VarRule, windows: boolean): string {
  const sep = r.kind === 'paths' ? '[IO.Path]::PathSeparator' : "' '";
  const now = psNew(r, windows);
  if (!r.keepOld) return `$Env:${r.name} = ${now}`;
  const old = r.defaultOld !== undefined ? `$(if ($Env:${r.name}) { $Env:${r.name} } else { '${r.defaultOld}' })` : null;
  if (old) return `$Env:${r.name} = ${now} + ${sep} + ${old}`;
  return `if ($Env:${r.name}) { $Env:${r.name} = ${now} + ${sep} + $Env:${r.name} } else { $Env:${r.name} = ${now} }`;
}

function psDeactivateBody(): string {
  const names = ALL_VARS.map(psQuote).join(', ');
  return `if ($Env:${ACTIVE_VAR}) {
  $cglDrop = @((Join-Path (Join-Path $Env:${ACTIVE_VAR} 'go') 'bin'), (Join-Path (Join-Path $Env:${ACTIVE_VAR} 'gopath') 'bin'))
  $cglParts = [System.Collections.Generic.List[string]]::new([string[]]($Env:PATH -split [regex]::Escape([IO.Path]::PathSeparator)))
  foreach ($cglEntry in $cglDrop) { [void]$cglParts.Remove($cglEntry) }
  $Env:PATH = $cglParts -join [IO.Path]::PathSeparator
  foreach ($cglName in @(${names})) {
    $cglOld = [Environment]::GetEnvironmentVariable("${BACKUP_PREFIX}$cglName")
    if ($null -ne $cglOld) { [Environment]::SetEnvironmentVariable($cglName, $cglOld.Substring(1)) }
    else { [Environment]::SetEnvironmentVariable($cglName, $null) }
    [Environment]::SetEnvironmentVariable("${BACKUP_PREFIX}$cglName", $null)
  }
  $Env:${ACTIVE_VAR} = $null
  Remove-Variable cglDrop, cglParts, cglEntry, cglName, cglOld -ErrorAction SilentlyContinue
}
`;
}

function psActivateBody(opts: ActivationOptions, windows: boolean): string {
  const names = ALL_VARS.map(psQuote).join(', ');
  const sep = windows ? '\\' : '/';
  return `${psDeactivateBody()}foreach ($cglName in @(${names})) {
  $cglOld = [Environment]::GetEnvironmentVariable($cglName)
  if ($null -ne $cglOld) { [Environment]::SetEnvironmentVariable("${BACKUP_PREFIX}$cglName", "x$cglOld") }
  else { [Environment]::SetEnvironmentVariable("${BACKUP_PREFIX}$cglName", $null) }
}
$cglQ = $(if ($cglPrefix -match '\\s') { if ($cglPrefix.Contains("'")) { '"' } else { "'" } } else { '' })
${activationRules({ ...opts, windows: opts.windows ?? windows })
  .map((r) => psSet(r, windows))
  .join('\n')}
$Env:${ACTIVE_VAR} = $cglPrefix
$Env:PATH = $cglPrefix + '${sep}go${sep}bin' + [IO.Path]::PathSeparator + $cglPrefix + '${sep}gopath${sep}bin' + [IO.Path]::PathSeparator + $Env:PATH
Remove-Variable cglPrefix, cglName, cglOld, cglQ -ErrorAction SilentlyContinue
`;
}

export function powershellActivateScript(fallbackPrefix: string, opts: ActivationOptions = {}): string {
  return `# ${HEADER}
$cglPrefix = $null
try { $cglPrefix = (Resolve-Path -LiteralPath (Join-Path $PSScriptRoot '..\\..\\..') -ErrorAction Stop).Path } catch { }
if (-not $cglPrefix -or -not (Test-Path -LiteralPath (Join-Path $cglPrefix 'go'))) {
  if ($Env:CONDA_PREFIX -and (Test-Path -LiteralPath (Join-Path $Env:CONDA_PREFIX 'go'))) { $cglPrefix = $Env:CONDA_PREFIX }
  else { $cglPrefix = ${psQuote(fallbackPrefix)} }
}
${psActivateBody({ ...opts, windows: true }, true)}`;
}

export function powershellDeactivateScript(): string {
  return `# ${HEADER}
${psDeactivateBody()}`;
}

// ---------------------------------------------------------------------------------------------
// shell-hook: the same activation for a fixed prefix

/**
 * Shell text that activates `prefix` in the current shell (for `eval "$(conda-go-lock shell-hook -p
 * PREFIX)"` and friends): the same variables, backups and undo-first rule as the activate.d scripts,
 * so evaluating it twice changes nothing and `goShellUnhook` (or the prefix's deactivate.d script)
 * restores the shell.
 */
export function goShellHook(prefix: string, shell: HookShell, opts: ActivationOptions = {}): string {
  switch (shell) {
    case 'bash':
    case 'zsh':
    case 'sh':
      return `_cgl_go_prefix=${shQuote(prefix.replace(/\/+$/, '') || '/')}\n${posixActivateBody(opts)}`;
    case 'fish':
      return `set -l _cgl_go_prefix ${fishQuote(prefix.replace(/\/+$/, '') || '/')}\n${fishActivateBody(opts)}`;
    case 'powershell': {
      const windows = looksWindows(prefix);
      const p = (windows ? prefix.replace(/\//g, '\\') : prefix).replace(/[\\/]+$/, '');
      return `$cglPrefix = ${psQuote(p)}\n${psActivateBody({ ...opts, windows: opts.windows ?? windows }, windows)}`;
    }
    case 'cmd': {
      const p = prefix.replace(/\//g, '\\').replace(/\\+$/, '');
      return [`@SET "_CGL_GO_PREFIX=${cmdValue(p)}"`, ...cmdActivateLines(opts), ''].join('\r\n');
    }
  }
}

/** Shell text that undoes `goShellHook` (and the activate.d scripts): `shell-hook --deactivate`. */
export function goShellUnhook(shell: HookShell): string {
  switch (shell) {
    case 'bash':
    case 'zsh':
    case 'sh':
      return posixDeactivateBody();
    case 'fish':
      return fishDeactivateBody();
    case 'powershell':
      return psDeactivateBody();
    case 'cmd':
      return [...cmdDeactivateLines('cgl_deactivated'), ''].join('\r\n');
  }
}
