// CPU profile of `personas serve` under load, to see where a request's time goes:
//   npx tsx bench/profile-serve.ts [--customers 200000] [--seconds 15] [--out .tmp/profile-serve]
// Publishes a version of `customers` (as bench/api.ts does) in a scratch database, starts the
// server with --cpu-prof, drives single lookups at 1,000 req/s then 1,000-id batches at 20/s,
// stops it, and prints the functions with the most self time (the .cpuprofile file stays in
// --out for Chrome DevTools).
import { readdirSync, readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { activateVersion, createKey, openStore, publishRun, runSource } from '../src/store/index.ts';
import { bigId } from '../test/helpers/big-run.ts';
import { arg, bigRuns, scratchDatabase, startServer } from './serve-setup.ts';

const customers = Number(arg('customers', '200000'));
const seconds = Number(arg('seconds', '15'));
const outDir = resolve(arg('out', '.tmp/profile-serve'));
mkdirSync(outDir, { recursive: true });
const scratch = await scratchDatabase('profile-serve', 'personas_profile_serve');
if (!scratch) process.exit(0);
const [big] = await bigRuns(join(tmpdir(), `personas-profile-${process.pid}`), customers);
const db = await openStore({ databaseUrl: scratch.url });
await publishRun(db, runSource(big.dir));
await activateVersion(db, big.version);
const { token } = await createKey(db, { name: 'profile', scopes: ['read'], rateLimit: 1_000_000 });
await db.close();

const server = await startServer(scratch.url, ['--quiet'], undefined, ['--cpu-prof', `--cpu-prof-dir=${outDir}`]);
const url = `http://127.0.0.1:${server.port}`;
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
const randomId = () => bigId(Math.floor(Math.random() * customers));
const single = await autocannon({ url, headers, duration: seconds, connections: 20, overallRate: 1000, requests: [{ setupRequest: (req) => ({ ...req, path: `/v1/customers/${randomId()}/persona` }) }] });
console.log(`single lookups: ${single.requests.total} requests, p50 ${single.latency.p50} ms, p99 ${single.latency.p99} ms, errors ${single.errors + single.non2xx}`);
const batch = await autocannon({
  url, headers, duration: seconds, connections: 4, overallRate: 20, method: 'POST',
  requests: [{ setupRequest: (req) => ({ ...req, path: '/v1/customers/personas:batch', body: JSON.stringify({ ids: Array.from({ length: 1000 }, randomId) }) }) }],
});
console.log(`1,000-id batches: ${batch.requests.total} requests, p50 ${batch.latency.p50} ms, p99 ${batch.latency.p99} ms, errors ${batch.errors + batch.non2xx}`);
await server.stop();
await scratch.drop();

// Self time per function, from the newest profile of the main thread (Node names them
// CPU.<date>.<time>.<pid>.<thread>.<sequence>.cpuprofile; thread 0 is the main one, and under tsx a
// second profile, of the module loader's worker thread, is written beside it).
const file = readdirSync(outDir).filter((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f)).sort().at(-1)!;
const profile = JSON.parse(readFileSync(join(outDir, file), 'utf8')) as { nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[]; samples: number[]; timeDeltas: number[] };
const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const n = byNode.get(id)!;
  const key = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/src\//, 'src/')}:${n.callFrame.lineNumber + 1}`;
  const dt = profile.timeDeltas[i] ?? 0;
  self.set(key, (self.get(key) ?? 0) + dt);
  total += dt;
});
console.log(`profile ${join(outDir, file)}: ${(total / 1e6).toFixed(1)} s sampled`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`);
