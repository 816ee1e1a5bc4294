// Batch scoring throughput with 1, 2 and 3 `personas worker` processes on BullMQ (Redis) and
// PostgreSQL: a model version trained on a small base scores a large one (scoring-only runs),
// and the score stage is timed from the jobs' own start and finish times.
//   npm run bench:jobs [-- --customers 1000000 --partitions 24 --workers 1,2,3]
// Needs DATABASE_URL (a scratch database `personas_bench_jobs` is created beside it and dropped)
// and REDIS_URL (its database 9 is flushed); skips, saying so, when either is unreachable.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeDemoBase } from '../src/demo/index.ts';
import { buildFeatures } from '../src/features/index.ts';
import { BullQueue, redisConnection, runStatus, startRun } from '../src/jobs/index.ts';
import { loadPersonaFile, projectPersonas, writeProjection } from '../src/models/personas/index.ts';
import { openStore, publishRun, runSource } from '../src/store/index.ts';
import { openPostgres } from '../src/store/postgres.ts';
import { arg } from './worlds.ts';

const customers = Number(arg('customers', '1000000'));
const partitions = Number(arg('partitions', '24'));
const workerCounts = arg('workers', '1,2,3').split(',').map(Number);
const root = arg('dir', join(tmpdir(), 'personas-bench-jobs'));
const pgUrl = process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/postgres';
const redisBase = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const dbName = 'personas_bench_jobs';
const dbUrl = Object.assign(new URL(pgUrl), { pathname: `/${dbName}` }).toString();
const queueUrl = Object.assign(new URL(redisBase), { pathname: '/9' }).toString();

let admin;
try {
  admin = await openPostgres(pgUrl, { poolSize: 1 });
  const r = redisConnection(queueUrl);
  await r.ping();
  await r.flushdb();
  r.disconnect();
} catch (e) {
  console.log(`bench:jobs skipped: PostgreSQL (${pgUrl}) or Redis (${redisBase}) is not reachable: ${(e as Error).message}`);
  process.exit(0);
}
await admin.exec(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
await admin.exec(`CREATE DATABASE ${dbName}`);

const t0 = performance.now();
const lap = (what: string) => console.log(`${what}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
// A model trained on a 20,000-customer base, published; then the large base to score.
const small = join(root, 'small');
if (!existsSync(join(small, 'data', 'customers.csv'))) await writeDemoBase(join(small, 'data'), { customers: 20_000, seed: 11, force: true });
const personaFile = loadPersonaFile(join(small, 'data', 'personas.yaml'));
const { table } = await buildFeatures({ dataDir: join(small, 'data') });
writeProjection(join(small, 'run'), table, await projectPersonas({ table, personaFile, asOf: '2026-06-30' }));
const db = await openStore({ databaseUrl: dbUrl });
const model = (await publishRun(db, runSource(join(small, 'run')), { activate: true })).version;
lap('model trained and published');
const big = join(root, `base-${customers}`);
if (!existsSync(join(big, 'customers.csv'))) await writeDemoBase(big, { customers, seed: 12, force: true });
lap(`base of ${customers} customers ready`);

const results: { workers: number; scoreSeconds: number; runSeconds: number; scores: number }[] = [];
for (const n of workerCounts) {
  const workers: ChildProcess[] = [];
  for (let i = 0; i < n; i++) {
    const w = spawn(process.execPath, [resolve('bin/personas.js'), 'worker'], { env: { ...process.env, DATABASE_URL: dbUrl, REDIS_URL: queueUrl }, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((ok) => w.stdout!.on('data', (d) => String(d).includes('worker ready') && ok()));
    workers.push(w);
  }
  const connection = redisConnection(queueUrl);
  const queue = new BullQueue(connection);
  const started = await startRun(db, queue, { data: big, model, partitions, activate: false });
  let s = await runStatus(db, started.run.id);
  while (!['done', 'failed', 'cancelled'].includes(s.run.status)) {
    await new Promise((r) => setTimeout(r, 1000));
    s = await runStatus(db, started.run.id);
  }
  if (s.run.status !== 'done') throw new Error(`run with ${n} workers ended ${s.run.status}: ${s.run.error}`);
  const scoreJobs = s.jobs.filter((j) => j.kind === 'score');
  const first = Math.min(...scoreJobs.map((j) => Date.parse(j.startedAt!)));
  const last = Math.max(...scoreJobs.map((j) => Date.parse(j.finishedAt!)));
  const scores = scoreJobs.reduce((a, j) => a + Number((j.result as { scores: number }).scores), 0);
  const phase = (k: string) => scoreJobs.reduce((a, j) => a + Number(((j.result as { timings?: Record<string, number> }).timings ?? {})[k] ?? 0), 0) / 1000;
  console.log(`  ${n} worker(s): time in score jobs: load models ${phase('loadModelsMs').toFixed(1)} s, read partitions ${phase('readMs').toFixed(1)} s, score ${phase('scoreMs').toFixed(1)} s, write labels ${phase('writeMs').toFixed(1)} s`);
  results.push({ workers: n, scoreSeconds: (last - first) / 1000, runSeconds: (Date.parse(s.run.finishedAt!) - Date.parse(s.run.createdAt)) / 1000, scores });
  lap(`${n} worker(s) done`);
  // The labels of this run are not needed any more; keep the database small for the next one.
  const version = (s.jobs.find((j) => j.kind === 'publish')!.result as { version: string }).version;
  await db.query('DELETE FROM model_versions WHERE version = $1', [version]);
  await queue.close();
  connection.disconnect();
  for (const w of workers) w.kill('SIGTERM');
  await Promise.all(workers.map((w) => new Promise((ok) => w.on('exit', ok))));
}
await db.close();
await admin.exec(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
await admin.close();

console.log(`\nbench:jobs on ${cpus().length} cores (${cpus()[0]?.model}), PostgreSQL and Redis on the same machine; ${customers.toLocaleString('en')} customers in ${partitions} partitions, scoring-only runs\n`);
console.log('| workers | score stage (s) | customer x persona scores written per second | whole run incl. features (s) |');
console.log('|---|---|---|---|');
for (const r of results) console.log(`| ${r.workers} | ${r.scoreSeconds.toFixed(1)} | ${Math.round(r.scores / r.scoreSeconds).toLocaleString('en')} | ${r.runSeconds.toFixed(0)} |`);
