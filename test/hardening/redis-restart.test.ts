// Redis restarted under BullMQ workers that hold scoring jobs, on a private redis-server (the
// shared one on 6379 is never touched). Without persistence the restart empties the queue: the
// workers' reconciler queues again the jobs the store still has queued, the jobs being run finish
// and record their result, and the run completes with exactly one label and one score per
// customer and persona. With an append-only file the queue survives and the jobs simply resume.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../../src/api/index.ts';
import { writeDemoBase } from '../../src/demo/index.ts';
import { BullQueue, redisConnection, runStatus, startBullWorker, startRun } from '../../src/jobs/index.ts';
import type { ReconcileResult } from '../../src/jobs/runner.ts';
import { activeVersion, createKey, openStore, publishRun, runSource, type Db } from '../../src/store/index.ts';
import { openPostgres } from '../../src/store/postgres.ts';
import { privateRedisSkip, startPrivateRedis, type PrivateRedis } from '../helpers/servers.ts';
import { tempDir } from '../helpers/world.ts';
import { expectOneScorePerCustomerAndPersona, waitFor, waitForRun } from './check.ts';

const runs = inject('runs');
const pgUrl = process.env.DATABASE_URL;
const skip = (await privateRedisSkip()) || (pgUrl ? '' : 'DATABASE_URL is not set: the Redis restart tests are skipped');
if (skip) console.warn(`[personas tests] ${skip}`);
const CUSTOMERS = 10_000;
const retry = { attempts: 3, backoffMs: 500 };

describe.skipIf(!!skip)('Redis restarted under workers', () => {
  let data: string;
  const cleanup: (() => Promise<unknown>)[] = [];
  beforeAll(async () => {
    data = join(tempDir(), 'data');
    await writeDemoBase(data, { customers: CUSTOMERS, seed: 11 });
  });
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  /** A store in its own schema of the shared PostgreSQL, the active version `before`, a read key, an app. */
  async function store() {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const db: Db = await openStore({ databaseUrl: pgUrl, schema });
    cleanup.push(async () => {
      await db.close();
      const admin = await openPostgres(pgUrl!, { poolSize: 1 });
      await admin.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.close();
    });
    const before = (await publishRun(db, runSource(runs.a), { activate: true })).version;
    const { token } = await createKey(db, { name: 'crm', scopes: ['read'], rateLimit: 1_000_000 });
    return { db, before, token, app: createApp({ db }) };
  }

  /** Two workers of 2 jobs each and a producer queue, all on `redis`. */
  async function workers(db: Db, redis: PrivateRedis, reconcileMs: number) {
    const reconciled: ReconcileResult[] = [];
    const conns: Redis[] = [0, 1, 2].map(() => redisConnection(redis.url));
    const ws = [0, 1].map((i) => startBullWorker(db, conns[i], { concurrency: 2, retry, lockMs: 4000, reconcileMs, onReconcile: (r) => reconciled.push(r) }));
    await Promise.all(ws.map((w) => w.worker.waitUntilReady()));
    const producer = new BullQueue(conns[2], retry);
    const close = async () => {
      for (const w of ws) await w.close();
      await producer.close();
      for (const c of conns) c.disconnect();
    };
    cleanup.push(close);
    return { reconciled, producer, conns, close };
  }

  /** Waits until the workers hold scoring jobs while others wait in the queue. */
  async function whileScoring(db: Db, runId: string) {
    await waitFor('score jobs running with others queued', 120_000, async () => {
      const s = await runStatus(db, runId);
      if (s.run.status !== 'running' && s.run.status !== 'queued') throw new Error(`run ended early: ${s.run.status} ${s.run.error}`);
      const score = s.jobs.filter((j) => j.kind === 'score');
      return score.some((j) => j.status === 'running') && score.some((j) => j.status === 'queued');
    });
  }

  it('without persistence: the emptied queue is rebuilt from the store and the run completes, one score per customer and persona', async () => {
    const redis = await startPrivateRedis();
    cleanup.push(() => redis.dispose());
    const { db, before, token, app } = await store();
    const w = await workers(db, redis, 1000);
    const started = await startRun(db, w.producer, { data, model: before, partitions: 8, activate: true });
    const runId = started.run.id;
    await whileScoring(db, runId);
    const held = (await runStatus(db, runId)).jobs.filter((j) => j.kind === 'score' && j.status !== 'done').map((j) => j.id);

    const probe = redisConnection(redis.url);
    const keysOf = async () => (await Promise.all(held.map((id) => probe.exists(`bull:personas-jobs:${id}`)))).reduce((a, b) => a + b, 0);
    expect(await keysOf(), 'Redis holds the unfinished score jobs').toBe(held.length);
    const runIdOf = async () => /run_id:(\w+)/.exec(await probe.info('server'))![1];
    const first = await runIdOf();
    await redis.stop('SIGKILL');
    await redis.start();
    // A new server with nothing kept on disk. Whether its queue is empty cannot be read here
    // without a race: the workers reconnect at once and their reconciler (every second) may
    // already have queued the lost jobs again. That they did is asserted below.
    expect(await runIdOf(), 'Redis was restarted').not.toBe(first);
    probe.disconnect();

    const end = await waitForRun(db, runId, 180_000);
    expect(end.run.error).toBeNull();
    expect(end.run.status).toBe('done');
    // The reconciler queued again jobs that were waiting when Redis lost them.
    const requeued = w.reconciled.flatMap((r) => r.requeued);
    expect(requeued.filter((id) => held.includes(id)).length, 'unfinished score jobs lost with Redis were queued again').toBeGreaterThan(0);
    expect(requeued.every((id) => held.includes(id) || !id.includes('.score.'))).toBe(true);
    expect(w.reconciled.flatMap((r) => r.failed)).toEqual([]);
    const version = (end.jobs.find((j) => j.kind === 'publish')!.result as { version: string }).version;
    const personas = (end.jobs.find((j) => j.kind === 'assemble')!.result as { personas: string[] }).personas;
    await expectOneScorePerCustomerAndPersona(app, token, version, CUSTOMERS, personas);
    expect(await activeVersion(db)).toBe(version);
    await w.close();
  }, 300_000);

  it('with an append-only file: the queue survives a kill of Redis and the jobs resume (no reconciler)', async () => {
    const redis = await startPrivateRedis({ persist: true });
    cleanup.push(() => redis.dispose());
    const { db, before, token, app } = await store();
    const w = await workers(db, redis, 0);
    const started = await startRun(db, w.producer, { data, model: before, partitions: 8, activate: false });
    const runId = started.run.id;
    await whileScoring(db, runId);

    const held = (await runStatus(db, runId)).jobs.filter((j) => j.kind === 'score' && j.status !== 'done').map((j) => j.id);
    const probe = redisConnection(redis.url);
    const keysOf = async () => (await Promise.all(held.map((id) => probe.exists(`bull:personas-jobs:${id}`)))).reduce((a, b) => a + b, 0);
    await redis.stop('SIGKILL');
    await redis.start();
    expect(await keysOf(), 'the restarted Redis kept the unfinished jobs').toBe(held.length);
    probe.disconnect();

    const end = await waitForRun(db, runId, 180_000);
    expect(end.run.error).toBeNull();
    expect(end.run.status).toBe('done');
    expect(w.reconciled).toEqual([]);
    const version = (end.jobs.find((j) => j.kind === 'publish')!.result as { version: string }).version;
    const personas = (end.jobs.find((j) => j.kind === 'assemble')!.result as { personas: string[] }).personas;
    await expectOneScorePerCustomerAndPersona(app, token, version, CUSTOMERS, personas);
    expect(await activeVersion(db)).toBe(before);
    await w.close();
  }, 300_000);
});
