/** `conda-go-lock check`: is the lockfile stale against its inputs? No network. */
import type { Lockfile } from '../../lockfile/model.js';
import { readLockfile } from '../../lockfile/read.js';
import { redactUrl } from '../../net/redact.js';
import { categorySpecs, requestedSpecs, resolveInputs, type InputOptions, type LockInputs } from '../inputs.js';
import { ERROR_CODES, errorLine, ExitCode } from '../../errors.js';
import { writeJson } from '../json.js';

/** Why the lockfile no longer matches the inputs; empty when it is up to date. */
export function staleReasons(inputs: LockInputs, lockfile: Lockfile | undefined): string[] {
  if (!lockfile) return ['the lockfile does not exist'];
  const reasons: string[] = [];
  const locked = new Set(lockfile.metadata.platforms);
  let anyChanged = false;
  let vpChanged = false;
  // Platforms whose inputs changed, grouped by what is said about them: one line for `linux-64,
  // osx-arm64, win-64` when a spec changed, not one identical line per platform.
  const changed = new Map<string, string[]>();
  for (const p of inputs.platforms) {
    if (!locked.has(p)) {
      reasons.push(`platform ${p} is requested but not locked`);
      continue;
    }
    const pi = inputs.perPlatform.get(p)!;
    if (lockfile.metadata.content_hash[p] !== pi.contentHash) {
      anyChanged = true;
      const want = pi.virtualPackages.map((v) => `${v.name} ${v.version} ${v.build}`);
      const had = lockfile.metadata.virtual_packages[p] ?? [];
      const vp = setChange(had, want);
      if (vp) vpChanged = true;
      const what = `inputs changed (specs, channels, channel priority, virtual packages or Go spec) since the lock was made${vp ? `; virtual packages: ${vp}` : ''}`;
      changed.set(what, [...(changed.get(what) ?? []), p]);
    }
  }
  for (const [what, platforms] of changed) reasons.push(`${platforms.join(', ')}: ${what}`);
  if (vpChanged) {
    reasons.push('the virtual packages differ: if the lock was made with --virtual-packages or --virtual-package-spec, pass the same options here');
  }
  for (const p of locked) {
    if (!inputs.platforms.includes(p as never)) reasons.push(`platform ${p} is locked but no longer requested`);
  }
  if (anyChanged) reasons.push(...changedInputs(inputs, lockfile));
  return reasons;
}

/** `added a, b; removed c` between two lists (order ignored), or '' when they hold the same items. */
function setChange(before: readonly string[], after: readonly string[]): string {
  const b = new Set(before);
  const a = new Set(after);
  const added = [...a].filter((x) => !b.has(x));
  const removed = [...b].filter((x) => !a.has(x));
  const parts: string[] = [];
  if (added.length) parts.push(`added ${added.map((x) => `'${x}'`).join(', ')}`);
  if (removed.length) parts.push(`removed ${removed.map((x) => `'${x}'`).join(', ')}`);
  return parts.join(' and ');
}

/** What differs between the recorded inputs (metadata) and the current ones, platform-independent. */
function changedInputs(inputs: LockInputs, lockfile: Lockfile): string[] {
  const out: string[] = [];
  const meta = lockfile.metadata;
  const specs = setChange(meta.specs, requestedSpecs(inputs));
  if (specs) out.push(`specs: ${specs}`);
  const hadCats = meta.categories ?? {};
  const wantCats = categorySpecs(inputs);
  for (const c of [...new Set([...Object.keys(hadCats), ...Object.keys(wantCats)])].sort()) {
    const change = setChange(hadCats[c] ?? [], wantCats[c] ?? []);
    if (change) out.push(`category ${c}: ${change}${wantCats[c] ? '' : ' (if the lock was made with --extras / --filter-categories / --no-dev-dependencies, pass the same options here)'}`);
  }
  // Templates hold variable names only, so they may be shown.
  const had = meta.channels.map((c) => c.url_template ?? c.url);
  const want = inputs.channels.map((c) => c.urlTemplate ?? c.baseUrl);
  if (had.join('\n') !== want.join('\n')) out.push(`channels (in priority order): ${had.join(', ')} → ${want.join(', ')}`);
  const hadPriority = meta.channel_priority ?? 'strict';
  if (hadPriority !== inputs.channelPriority) out.push(`channel priority: ${hadPriority} → ${inputs.channelPriority} (--channel-priority)`);
  const oldGo = meta.go;
  const newGo = inputs.go;
  if (!oldGo && newGo) out.push(`Go toolchain '${newGo.spec}' is requested but not locked`);
  else if (oldGo && !newGo) {
    const hint = oldGo.source === '--go' ? ` (the lock was made with --go '${oldGo.spec}': pass it here too)` : '';
    out.push(`Go toolchain '${oldGo.spec}' is locked but no longer requested${hint}`);
  }
  else if (oldGo && newGo) {
    if (oldGo.spec !== newGo.spec) out.push(`Go spec: '${oldGo.spec}' → '${newGo.spec}' (from ${newGo.source})`);
    if ((oldGo.cgo ?? true) !== (newGo.cgo ?? true)) {
      out.push(`Go cgo activation: ${oldGo.cgo === false ? 'off' : 'on'} → ${newGo.cgo === false ? 'off' : 'on'} (go: {cgo: ...} in ${newGo.source})`);
    }
    if ((oldGo.download_base_url ?? '') !== (newGo.download_base_url ?? '')) {
      const show = (u: string | undefined) => u ?? 'the default (<origin of the releases URL>/dl/)';
      out.push(`Go archive base URL: ${show(oldGo.download_base_url)} → ${show(newGo.download_base_url)} (pass the same --go-download-base-url or set CONDA_GO_LOCK_GO_DOWNLOAD_BASE_URL)`);
    }
    const url = redactUrl(newGo.releases_url);
    if (oldGo.releases_url !== url) {
      out.push(`Go release metadata URL: ${oldGo.releases_url} → ${url} (if the lock was made with another one on purpose, pass the same --go-releases-url or set CONDA_GO_LOCK_GO_RELEASES_URL)`);
    }
  }
  return out;
}

export async function checkCommand(opts: InputOptions & { quiet?: boolean; json?: boolean }): Promise<number> {
  // A missing lockfile is readLockfile's E_LOCKFILE_NOT_FOUND.
  const lockfile = await readLockfile(opts.lockfile);
  const inputs = resolveInputs({
    ...opts,
    fallbackPlatforms: lockfile.metadata.platforms,
    fallbackGoReleasesUrl: lockfile.metadata.go?.releases_url,
    fallbackGoDownloadBaseUrl: lockfile.metadata.go?.download_base_url,
    fallbackChannelPriority: lockfile.metadata.channel_priority ?? 'strict',
    lockfileSources: lockfile.metadata.sources,
  });
  return reportCheck(opts.lockfile, staleReasons(inputs, lockfile), { quiet: opts.quiet, json: opts.json });
}

/** Print the verdict; `quiet`: nothing when up to date (the stale verdict and its reasons always). */
export function reportCheck(lockfilePath: string, reasons: string[], opts: { quiet?: boolean; json?: boolean } = {}): number {
  if (opts.json) {
    writeJson('check', { lockfile: lockfilePath, up_to_date: reasons.length === 0, reasons });
    return reasons.length === 0 ? ExitCode.ok : ERROR_CODES.E_STALE_LOCKFILE;
  }
  if (reasons.length === 0) {
    if (!opts.quiet) process.stderr.write(`${lockfilePath} is up to date\n`);
    return ExitCode.ok;
  }
  // A code like any error's, so logs can be searched for it; its exit status is 1.
  process.stderr.write(`${errorLine('E_STALE_LOCKFILE', `${lockfilePath} is stale:\n${reasons.map((r) => `  - ${r}`).join('\n')}\nRun \`conda-go-lock lock\` to update it.`)}\n`);
  return ERROR_CODES.E_STALE_LOCKFILE;
}
