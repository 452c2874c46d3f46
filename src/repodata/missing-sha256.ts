/**
 * Solved records whose repodata has no sha256 (old private channels; 13 of the 338 noarch records of
 * anaconda defaults in 2020): instead of refusing them, `lock` downloads each such package once, checks
 * its md5 and size against repodata, and computes the sha256 itself, so `install` still checks every
 * package by sha256 (fail closed, but usable). The lockfile marks these entries `sha256_computed: true`.
 *
 * A record without md5 or size cannot be checked and is still refused by the lockfile builder
 * (E_RECORD_WITHOUT_HASH). Computed values are remembered in `<cacheDir>/computed-sha256/` (by md5 and
 * size, the identity repodata vouches for) and taken from the previous lockfile (`known`), so a re-lock
 * does not download again; `--offline` uses only those.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { distName, type RepoDataRecord } from '../conda/record.js';
import { IntegrityError, LockfileError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { createLimit } from '../net/limit.js';
import { onExitCleanup, settledWithin } from '../cleanup.js';
import { redactUrl } from '../net/redact.js';

export interface HashingDownloader {
  download(
    url: string,
    destFile: string,
    opts?: { expectedSize?: number; expectedMd5?: string },
  ): Promise<{ size: number; sha256: string; md5?: string }>;
}

export interface CompleteSha256Options {
  http: HashingDownloader;
  /** Lock's cache root (the repodata cache's). */
  cacheDir: string;
  offline?: boolean;
  /** A sha256 computed before for this record (the previous lockfile's `sha256_computed` entry with the same URL, md5 and size). */
  known?: (r: RepoDataRecord) => string | undefined;
  /** Downloads at once (default 4). */
  concurrency?: number;
  /** Called once per package that had to be downloaded. */
  onDownload?: (r: RepoDataRecord) => void;
}

export interface CompletedRecords {
  /** The same lists, with a sha256 filled in where repodata had none (new objects; the inputs are not changed). */
  solved: RepoDataRecord[][];
  /** URLs (as in the records) whose sha256 was computed, not published. */
  computed: Set<string>;
  /** How many packages were downloaded for it. */
  downloaded: number;
}

const SHA256 = /^[0-9a-f]{64}$/;

function cacheFile(cacheDir: string, r: RepoDataRecord): string {
  return join(cacheDir, 'computed-sha256', `${r.md5!.toLowerCase()}-${r.size}`);
}

async function cachedSha256(cacheDir: string, r: RepoDataRecord): Promise<string | undefined> {
  try {
    const text = (await readFile(cacheFile(cacheDir, r), 'utf8')).trim();
    return SHA256.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}

/** Fill in the sha256 of every solved record that has md5 and size but no sha256. */
export async function completeMissingSha256(solved: ReadonlyArray<readonly RepoDataRecord[]>, opts: CompleteSha256Options): Promise<CompletedRecords> {
  const computed = new Set<string>();
  const needs = new Map<string, RepoDataRecord>();
  for (const list of solved) {
    for (const r of list) {
      if (!r.sha256 && r.md5 && r.size !== undefined) needs.set(r.url, r);
      // A pin kept from the previous lockfile (`--update` of other names) carries the computed value: it keeps its mark.
      else if (r.sha256 && opts.known?.(r)?.toLowerCase() === r.sha256.toLowerCase()) computed.add(r.url);
    }
  }
  if (needs.size === 0) return { solved: solved.map((l) => [...l]), computed, downloaded: 0 };

  const values = new Map<string, string>();
  let downloaded = 0;
  const dir = join(opts.cacheDir, 'computed-sha256');
  const limit = createLimit(opts.concurrency ?? 4);
  const one = async (r: RepoDataRecord) => {
    const known = opts.known?.(r) ?? (await cachedSha256(opts.cacheDir, r));
    if (known) {
      values.set(r.url, known.toLowerCase());
      return;
    }
    if (opts.offline) {
      throw new LockfileError(
        `${distName(r)} (${redactUrl(r.url)}) has no sha256 in its repodata and --offline cannot download it to compute one; run once without --offline`,
        { code: 'E_RECORD_WITHOUT_HASH' },
      );
    }
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `.${r.fn}.${process.pid}-${randomBytes(4).toString('hex')}.download`);
    let downloading: Promise<unknown> | undefined;
    // Interrupted: the download (aborted on exit) settles first, so its rename cannot land after the rm.
    const forget = onExitCleanup(async () => {
      if (downloading) await settledWithin(downloading);
      await rm(tmp, { force: true });
    });
    try {
      opts.onDownload?.(r);
      // The download's size and md5 are checked against repodata (IntegrityError, exit 6, on a mismatch).
      const download = opts.http.download(r.url, tmp, { expectedSize: r.size, expectedMd5: r.md5 });
      downloading = download;
      const got = await download.catch((err: unknown) => {
        if (!(err instanceof IntegrityError)) throw err;
        throw new IntegrityError(
          `${distName(r)} has no sha256 in its repodata, and the download made to compute one does not match the md5 and size repodata gives: ${err.message}; nothing was locked`,
          { cause: err },
        );
      });
      downloaded++;
      values.set(r.url, got.sha256);
      await writeFileAtomic(cacheFile(opts.cacheDir, r), `${got.sha256}\n`, { durable: false });
    } finally {
      await rm(tmp, { force: true });
      forget();
    }
  };
  // Every download settles before the first failure is reported, so nothing writes into the cache afterwards.
  const settled = await Promise.allSettled([...needs.values()].map((r) => limit(() => one(r))));
  const failed = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
  if (failed) throw failed.reason;
  const out = solved.map((list) =>
    list.map((r) => {
      const sha256 = !r.sha256 ? values.get(r.url) : undefined;
      if (sha256 === undefined) return r;
      computed.add(r.url);
      return { ...r, sha256 };
    }),
  );
  return { solved: out, computed, downloaded };
}
