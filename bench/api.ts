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
import { activateVersion, createKey, openStore, publishRun, runSource } from '../src/store/index.ts';
import { bigId } from '../test/helpers/big-run.ts';
import { arg, bigRuns, scratchDatabase, startServer } from './serve-setup.ts';

const customers = Number(arg('customers', '1000000'));
const seconds = Number(arg('seconds', '30'));
const scratch = await scratchDatabase('bench:api', 'personas_bench_api');
if (!scratch) process.exit(0);

// 1. A real model (a small demo run), with an assignment file of `customers` rows under its version.
const root = join(tmpdir(), `personas-bench-api-${process.pid}`);
const [big] = await bigRuns(root, customers);
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

// 3. The server, in its own process, as a user starts it.
const server = await startServer(scratch.url, ['--quiet']);
const port = server.port;
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
const randomId = () => idOf(Math.floor(Math.random() * customers));

async function load(title: string, opts: Omit<autocannon.Options, 'url'>) {
  const r = await autocannon({ url: `http://127.0.0.1:${port}`, headers, duration: seconds, ...opts });
  const ms = (v: number) => `${v.toFixed(2)} ms`;
  return { title, requests: r.requests.total, rate: r.requests.average, p50: ms(r.latency.p50), p99: ms(r.latency.p99), max: ms(r.latency.max), errors: r.errors + r.timeouts + r.non2xx };
}

const results = [];
// warm-up
await autocannon({ url: `http://127.0.0.1:${port}`, headers, duration: 3, connections: 10, requests: [{ setupRequest: (req) => ({ ...req, path: `/v1/customers/${randomId()}/persona` }) }] });
results.push(await load('single lookup at 1,000 req/s', { connections: 20, overallRate: 1000, requests: [{ setupRequest: (req) => ({ ...req, path: `/v1/customers/${randomId()}/persona` }) }] }));
results.push(await load('single lookup, as fast as it goes (20 connections)', { connections: 20, requests: [{ setupRequest: (req) => ({ ...req, path: `/v1/customers/${randomId()}/persona` }) }] }));
results.push(await load('1,000-id batch at 20 req/s', {
  connections: 4, overallRate: 20, method: 'POST',
  requests: [{ setupRequest: (req) => ({ ...req, method: 'POST', path: '/v1/customers/personas:batch', body: JSON.stringify({ ids: Array.from({ length: 1000 }, randomId) }) }) }],
}));
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
results.push(await load('raw-row scoring of 1 new customer at 5 req/s', {
  connections: 2, overallRate: 5, method: 'POST',
  requests: [{ setupRequest: (req) => ({ ...req, method: 'POST', path: '/v1/score', body: rawBody(rawK++) }) }],
}));
await server.stop();
await scratch.drop();

console.log(`\nbench:api on ${cpus().length} cores (${cpus()[0]?.model}), PostgreSQL at ${new URL(scratch.adminUrl).host}, ${customers.toLocaleString('en')} customers x ${trained.length} personas; publish (COPY) ${publishSeconds.toFixed(1)} s; ${seconds} s per load\n`);
console.log('| load | requests | mean req/s | p50 | p99 | max | errors |');
console.log('|---|---|---|---|---|---|---|');
for (const r of results) console.log(`| ${r.title} | ${r.requests} | ${r.rate.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.max} | ${r.errors} |`);
