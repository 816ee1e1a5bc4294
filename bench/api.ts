// API latency on loopback: `personas serve` (a separate process) on PostgreSQL with a published
// 1,000,000-customer version; autocannon drives it from this process.
//   npm run bench:api [-- --customers 1000000 --seconds 30]
// Uses DATABASE_URL (default postgres://root@127.0.0.1:5432/postgres) to create a scratch
// database `personas_bench_api`, dropped at the end. Skips, saying so, when PostgreSQL is absent.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { writeDemoBase } from '../src/demo/index.ts';
import { buildFeatures } from '../src/features/index.ts';
import { loadPersonaFile, projectPersonas, writeProjection } from '../src/models/personas/index.ts';
import { activateVersion, createKey, openStore, publishRun, runSource } from '../src/store/index.ts';
import { openPostgres } from '../src/store/postgres.ts';
import { bigId, makeBigRun } from '../test/helpers/big-run.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const customers = Number(arg('customers', '1000000'));
const seconds = Number(arg('seconds', '30'));
const adminUrl = process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/postgres';
const dbName = 'personas_bench_api';
const benchUrl = (() => {
  const u = new URL(adminUrl);
  u.pathname = `/${dbName}`;
  return u.toString();
})();

let admin;
try {
  admin = await openPostgres(adminUrl, { poolSize: 1 });
} catch (e) {
  console.log(`bench:api skipped: PostgreSQL is not reachable at ${adminUrl} (${(e as Error).message})`);
  process.exit(0);
}
await admin.exec(`DROP DATABASE IF EXISTS ${dbName}`);
await admin.exec(`CREATE DATABASE ${dbName}`);

// 1. A real model (a small demo run), with an assignment file of `customers` rows under its version.
const root = join(tmpdir(), `personas-bench-api-${process.pid}`);
const data = join(root, 'data');
await writeDemoBase(data, { customers: 3000, seed: 1 });
const personaFile = loadPersonaFile(join(data, 'personas.yaml'));
const { table } = await buildFeatures({ dataDir: data });
const small = join(root, 'small');
writeProjection(small, table, await projectPersonas({ table, personaFile, asOf: '2026-06-30', train: { folds: 2 } }));
const run = join(root, 'run');
const big = await makeBigRun(small, run, customers);
const manifest = { modelVersion: big.version };
const trained = big.personas;
const idOf = bigId;

// 2. Publish and activate it; a key for the load.
const db = await openStore({ databaseUrl: benchUrl });
const t = performance.now();
await publishRun(db, runSource(run));
const publishSeconds = (performance.now() - t) / 1000;
await activateVersion(db, manifest.modelVersion);
const { token } = await createKey(db, { name: 'bench', scopes: ['read'], rateLimit: 1_000_000 });
await db.close();

// 3. The server, in its own process, as a user starts it.
const server = spawn(process.execPath, [resolve('bin/personas.js'), 'serve', '--quiet', '--port', '0', '--host', '127.0.0.1'], { env: { ...process.env, DATABASE_URL: benchUrl }, stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise<number>((ok) => {
  let out = '';
  server.stdout!.on('data', (d) => {
    out += d;
    const m = /listening (\d+)/.exec(out);
    if (m) ok(Number(m[1]));
  });
});
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
server.kill('SIGTERM');
await once(server, 'exit');
await admin.exec(`DROP DATABASE IF EXISTS ${dbName}`);
await admin.close();

console.log(`\nbench:api on ${cpus().length} cores (${cpus()[0]?.model}), PostgreSQL at ${new URL(adminUrl).host}, ${customers.toLocaleString('en')} customers x ${trained.length} personas; publish (COPY) ${publishSeconds.toFixed(1)} s; ${seconds} s per load\n`);
console.log('| load | requests | mean req/s | p50 | p99 | max | errors |');
console.log('|---|---|---|---|---|---|---|');
for (const r of results) console.log(`| ${r.title} | ${r.requests} | ${r.rate.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.max} | ${r.errors} |`);
