// Child process for bench/lock-scale.ts: lock a spec set with rattler 0.3.5 (WASM, the
// @conda-org/rattler devDependency) against a channel served on loopback, the way `lock` does
// with ours: one solve per platform (each with that platform + noarch), real HTTP via the global
// fetch. rattler's WASM build has no disk cache, so every run is a cold fetch + parse + solve.
//
//   node bench/lib/rattler-lock.mjs '{"specs":[...],"channel":"http://127.0.0.1:N/full/cf","platforms":["linux-64"],"out":"/tmp/x.json"}'
//
// Writes { platform: [{ name, version, build }] } (sorted) to `out`, and the number of requests.
import { writeFileSync } from 'node:fs';

const cfg = JSON.parse(process.argv[2]);
let requests = 0;
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  requests++;
  return realFetch(input, init);
};
const rattler = await import('@conda-org/rattler');
const out = {};
for (const platform of cfg.platforms) {
  const solved = await rattler.simpleSolve(cfg.specs, [cfg.channel], [platform, 'noarch'], []);
  out[platform] = solved
    .map((p) => {
      const r = { name: p.packageName, version: p.version, build: p.build };
      p.free();
      return r;
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
writeFileSync(cfg.out, JSON.stringify({ packages: out, requests }));
