// API latency on loopback: `personas serve` (a separate process) on PostgreSQL with a published
// 1,000,000-customer version; autocannon drives it from this process.
//   npm run bench:api [-- --customers 1000000 --seconds 30]
// Uses DATABASE_URL (default postgres://root@127.0.0.1:5432/postgres) to create a scratch
// database `personas_bench_api`, dropped at the end. Skips, saying so, when PostgreSQL is absent.
import { readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { referenceInputs } from '../src/features/index.ts';
import { activateVersion, createKey, exportLabels, labelChanges, openStore, publishRun, runSource } from '../src/store/index.ts';
import { bigId } from '../test/helpers/big-run.ts';
import { bareServer, pacedLoad, type PacedRequest } from './paced.ts';
import { arg, bigRuns, scratchDatabase, startServer } from './serve-setup.ts';

const customers = Number(arg('customers', '1000000'));
const seconds = Number(arg('seconds', '30'));
const scratch = await scratchDatabase('bench:api', 'personas_bench_api');
if (!scratch) process.exit(0);

// 1. A real model (a small demo run), with an assignment file of `customers` rows under its version.
const root = join(tmpdir(), `personas-bench-api-${process.pid}`);
// A second version of the same customers: the label changes between the two (`personas models changes`).
const [big, second] = await bigRuns(root, customers, 2);
const { data } = big;
const trained = big.personas;
const idOf = bigId;

// 2. Publish and activate it; a key for the load.
const db = await openStore({ databaseUrl: scratch.url });
const t = performance.now();
// With the demo's reference files, so raw-row scoring of new customers can be measured too.
await publishRun(db, { ...runSource(big.dir), references: referenceInputs(data) });
const publishSeconds = (performance.now() - t) / 1000;
await activateVersion(db, big.version);
const { token } = await createKey(db, { name: 'bench', scopes: ['read', 'score'], rateLimit: 1_000_000 });
await db.close();

// 3. The server, in its own process, as a user starts it: first as `personas serve` runs by
// default (the active version's labels held in memory), then with every lookup sent to the store.
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
const randomId = () => idOf(Math.floor(Math.random() * customers));
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

interface Row { server: string; title: string; requests: number; rate: number; p50: string; p99: string; max: string; errors: number }
const results: Row[] = [];
const servers: { server: string; rssMb: number; cacheLoadSeconds: number | null }[] = [];

async function measure(server: string, extra: string[], withRaw: boolean) {
  const started = performance.now();
  const srv = await startServer(scratch!.url, ['--quiet', ...extra]);
  const base = `http://127.0.0.1:${srv.port}`;
  let cacheLoadSeconds: number | null = null;
  if (!extra.includes('--label-cache-rows')) {
    for (;;) {
      const ready = (await (await fetch(`${base}/readyz`)).json()) as { labelCache?: { state: string } };
      if (ready.labelCache?.state === 'ready') break;
      if (ready.labelCache && !['loading', 'no active version'].includes(ready.labelCache.state)) throw new Error(`label cache ${ready.labelCache.state}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    cacheLoadSeconds = (performance.now() - started) / 1000;
  }
  const load = async (title: string, opts: Omit<autocannon.Options, 'url'>) => {
    const r = await autocannon({ url: base, headers, duration: seconds, ...opts });
    const ms = (v: number) => `${v.toFixed(2)} ms`;
    results.push({ server, title, requests: r.requests.total, rate: r.requests.average, p50: ms(r.latency.p50), p99: ms(r.latency.p99), max: ms(r.latency.max), errors: r.errors + r.timeouts + r.non2xx });
  };
  // warm-up
  await autocannon({ url: base, headers, duration: 3, connections: 10, requests: [{ setupRequest: (req) => ({ ...req, path: `/v1/customers/${randomId()}/persona` }) }] });
  servers.push({ server, rssMb: rssMb(srv.child.pid!), cacheLoadSeconds });
  const paced = async (title: string, rate: number, next: () => PacedRequest) => {
    const r = await pacedLoad({ base, rate, seconds, headers, next });
    const ms = (v: number) => `${v.toFixed(2)} ms`;
    results.push({ server, title: `${title} (paced, open loop)`, requests: r.requests, rate: r.rate, p50: ms(r.p50), p99: ms(r.p99), max: ms(r.max), errors: r.errors });
  };
  await paced('single lookup at 1,000 req/s', 1000, () => ({ path: `/v1/customers/${randomId()}/persona` }));
  await paced('1,000-id batch at 20 req/s', 20, () => ({ method: 'POST', path: '/v1/customers/personas:batch', body: JSON.stringify({ ids: Array.from({ length: 1000 }, randomId) }) }));
  await load('single lookup at 1,000 req/s', { connections: 20, overallRate: 1000, requests: [{ setupRequest: (req) => ({ ...req, path: `/v1/customers/${randomId()}/persona` }) }] });
  await load('single lookup, as fast as it goes (20 connections)', { connections: 20, requests: [{ setupRequest: (req) => ({ ...req, path: `/v1/customers/${randomId()}/persona` }) }] });
  await load('1,000-id batch at 20 req/s', {
    connections: 4, overallRate: 20, method: 'POST',
    requests: [{ setupRequest: (req) => ({ ...req, method: 'POST', path: '/v1/customers/personas:batch', body: JSON.stringify({ ids: Array.from({ length: 1000 }, randomId) }) }) }],
  });
  if (withRaw) {
    // A new customer scored from raw rows (features built by the pipeline on the fly).
    const rawCustomers = readFileSync(join(data, 'customers.csv'), 'utf8').trim().split('\n');
    const rawTx = readFileSync(join(data, 'transactions.csv'), 'utf8').trim().split('\n');
    const csvRecords = (lines: string[], id: string) => {
      const cols = lines[0].split(',');
      return lines.slice(1).filter((l) => l.startsWith(`${id},`)).map((l) => Object.fromEntries(l.split(',').map((v, k) => [cols[k], v === '' ? null : v])));
    };
    const rawBody = (k: number) => {
      const id = rawCustomers[1 + (k % (rawCustomers.length - 1))].split(',')[0];
      return JSON.stringify({ base: { customers: csvRecords(rawCustomers, id), transactions: csvRecords(rawTx, id) } });
    };
    let rawK = 0;
    await load('raw-row scoring of 1 new customer at 5 req/s', {
      connections: 2, overallRate: 5, method: 'POST',
      requests: [{ setupRequest: (req) => ({ ...req, method: 'POST', path: '/v1/score', body: rawBody(rawK++) }) }],
    });
  }
  await srv.stop();
}

// The floor: the same generator against a bare Node server answering "ok", in its own process.
{
  const bare = await bareServer();
  const r = await pacedLoad({ base: bare.base, rate: 1000, seconds, next: () => ({ path: '/' }) });
  results.push({ server: 'bare Node http server (the floor)', title: 'GET / at 1,000 req/s (paced, open loop)', requests: r.requests, rate: r.rate, p50: `${r.p50.toFixed(2)} ms`, p99: `${r.p99.toFixed(2)} ms`, max: `${r.max.toFixed(2)} ms`, errors: r.errors });
  const a = await autocannon({ url: bare.base, duration: seconds, connections: 20, overallRate: 1000 });
  results.push({ server: 'bare Node http server (the floor)', title: 'GET / at 1,000 req/s', requests: a.requests.total, rate: a.requests.average, p50: `${a.latency.p50.toFixed(2)} ms`, p99: `${a.latency.p99.toFixed(2)} ms`, max: `${a.latency.max.toFixed(2)} ms`, errors: a.errors + a.timeouts + a.non2xx });
  await bare.close();
}
await measure('labels in memory (default)', [], true);
await measure('every lookup to the store (--label-cache-rows 0)', ['--label-cache-rows', '0'], false);

// The label changes from the active version to a second one of as many customers (three times; the SQL join in the store).
let changesLine = '';
let exportLine = '';
{
  const store = await openStore({ databaseUrl: scratch.url });
  await publishRun(store, runSource(second.dir));
  const times: number[] = [];
  let moved = 0;
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    const c = await labelChanges(store, null, second.version);
    times.push((performance.now() - t0) / 1000);
    moved = c.customers.both - c.unchanged;
  }
  // The second version's labels as the assignment file: all, then those changed since the first.
  const timed = async (since: string | null) => {
    const t0 = performance.now();
    const r = await exportLabels(store, second.version, join(root, since ? 'delta.csv' : 'all.csv'), { since });
    return `${r.rows.toLocaleString('en')} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
  };
  exportLine = `assignment file from the store (personas models export): every label ${await timed(null)}; those changed since the active version (--since) ${await timed(big.version)}`;
  await store.close();
  changesLine = `label changes (personas models changes, GET /v1/models/{version}/changes) between two versions of ${customers.toLocaleString('en')} customers: ${times.map((x) => x.toFixed(2)).join(' s, ')} s (${moved.toLocaleString('en')} labels differ)`;
}
await scratch.drop();

console.log(`\nbench:api on ${cpus().length} cores (${cpus()[0]?.model}), PostgreSQL at ${new URL(scratch.adminUrl).host}, ${customers.toLocaleString('en')} customers x ${trained.length} personas; publish (COPY) ${publishSeconds.toFixed(1)} s; ${seconds} s per load\n`);
console.log('| server | load | requests | mean req/s | p50 | p99 | max | errors |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of results) console.log(`| ${r.server} | ${r.title} | ${r.requests} | ${r.rate.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.max} | ${r.errors} |`);
console.log('');
for (const s of servers) console.log(`${s.server}: server RSS after warm-up ${s.rssMb.toFixed(0)} MB${s.cacheLoadSeconds === null ? '' : `; start-up to labels held in memory ${s.cacheLoadSeconds.toFixed(1)} s`}`);
console.log(changesLine);
console.log(exportLine);
