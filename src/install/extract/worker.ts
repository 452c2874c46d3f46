/** One extraction worker of pool.ts: extracts each package it is sent and answers with the result or the error. */
import { parentPort } from 'node:worker_threads';
import { extractPackage } from './index.js';
import { serializeError } from '../../worker-entry.js';
import { warmZstdDecoder } from '../../compress/zstd.js';

parentPort!.on('message', (m: { archive: string; dest: string }) => {
  extractPackage(m.archive, m.dest).then(
    (result) => parentPort!.postMessage({ result }),
    (e: unknown) => parentPort!.postMessage({ error: serializeError(e) }),
  );
});
// Loaded: a failure from here on is the job's, not the worker's start-up (pool.ts falls back in-process for those).
parentPort!.postMessage({ ready: true });
// A started worker usually waits for its first download: instantiate the decoder meanwhile (an error
// here is the first job's to report, when it asks for the decoder again).
warmZstdDecoder().catch(() => {});
