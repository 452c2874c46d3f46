/**
 * Worker-thread entry for `solveInWorkers`: receives one platform's solve request (specs as strings,
 * plain records), runs `solve`, and posts back the records or a serialised error.
 */
import { parentPort } from 'node:worker_threads';
import { MatchSpec } from '../conda/matchspec.js';
import { serializeError } from '../worker-entry.js';
import { solve } from './index.js';
import type { WorkerRequest, WorkerResponse } from './parallel.js';

if (!parentPort) throw new Error('solve-worker.ts must run in a worker thread');
const port = parentPort;

port.on('message', (req: WorkerRequest) => {
  let res: WorkerResponse;
  try {
    const result = solve({
      specs: req.specs.map((s) => MatchSpec.parse(s)),
      records: req.records,
      virtualPackages: req.virtualPackages,
      channels: req.channels,
      channelPriority: req.channelPriority,
      locked: req.locked,
      pinned: req.pinned?.map((s) => MatchSpec.parse(s)),
      timeoutMs: req.timeoutMs,
      platform: req.platform,
    });
    res = { id: req.id, ok: true, records: result.records, stats: result.stats };
  } catch (err) {
    res = { id: req.id, ok: false, error: serializeError(err) };
  }
  port.postMessage(res);
});
