// PostgreSQL stopped (crashed: `pg_ctl stop -m immediate`) while a scoring run writes labels, on
// a private cluster (the shared one on 5432 is never touched) with a private Redis. While the store
// is down the API answers 503, not 500; BullMQ's retries of the job in progress run out; once the
// store is back the workers' reconciler fails the run (its last attempt could not record it), the
// version it had started is dropped, and the version that was active still serves. A re-run
// completes with exactly one label and one score per customer and persona.
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../../src/api/index.ts';
import { writeDemoBase } from '../../src/demo/index.ts';
import { BullQueue, redisConnection, runStatus, startBullWorker, startRun } from '../../src/jobs/index.ts';
import type { ReconcileResult } from '../../src/jobs/runner.ts';
import { activeVersion, createKey, listVersions, openStore, publishRun, runSource, type Db } from '../../src/store/index.ts';
import { privatePostgresSkip, privateRedisSkip, startPrivatePostgres, startPrivateRedis } from '../helpers/servers.ts';
import { tempDir } from '../helpers/world.ts';
import { expectOneScorePerCustomerAndPersona, waitFor, waitForRun } from './check.ts';

const runs = inject('runs');
const skip = privatePostgresSkip() || (await privateRedisSkip());
if (skip) console.warn(`[personas tests] ${skip}`);
const CUSTOMERS = 10_000;

describe.skipIf(!!skip)('PostgreSQL stopped during a scoring run', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  it('fails the run cleanly, keeps the active version serving, and a re-run completes with one score per customer and persona', async () => {
    const [pg, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()]);
    cleanup.push(() => pg.dispose(), () => redis.dispose());
    const data = join(tempDir(), 'data');
    await writeDemoBase(data, { customers: CUSTOMERS, seed: 12 });
    const db: Db = await openStore({ databaseUrl: pg.url });
    cleanup.push(() => db.close());
    const before = (await publishRun(db, runSource(runs.a), { activate: true })).version;
    const { token } = await createKey(db, { name: 'crm', scopes: ['read'], rateLimit: 1_000_000 });
    const app = createApp({ db, auth: { cacheSeconds: 0 } });
    const someone = (await request(app).get('/v1/assignments?limit=1').set('Authorization', `Bearer ${token}`)).text.trim();
    const customer = JSON.parse(someone).customerId as string;
    const lookup = () => request(app).get(`/v1/customers/${encodeURIComponent(customer)}/persona`).set('Authorization', `Bearer ${token}`);

    const retry = { attempts: 3, backoffMs: 300 };
    const conns: Redis[] = [redisConnection(redis.url), redisConnection(redis.url)];
    const reconciled: ReconcileResult[] = [];
    const worker = startBullWorker(db, conns[0], { concurrency: 1, retry, lockMs: 4000, reconcileMs: 1000, onReconcile: (r) => reconciled.push(r) });
    await worker.worker.waitUntilReady();
    const producer = new BullQueue(conns[1], retry);
    cleanup.push(async () => {
      await worker.close();
      await producer.close();
      for (const c of conns) c.disconnect();
    });

    const request1 = { data, model: before, partitions: 4, activate: true };
    const first = await startRun(db, producer, request1);
    // Stop the store once some partitions are written and others are still to write.
    let pending: string[] = [];
    await waitFor('a first partition scored', 120_000, async () => {
      const s = await runStatus(db, first.run.id);
      if (s.run.status !== 'running' && s.run.status !== 'queued') throw new Error(`run ended early: ${s.run.status} ${s.run.error}`);
      const score = s.jobs.filter((j) => j.kind === 'score');
      pending = score.filter((j) => j.status !== 'done').map((j) => j.id);
      return score.some((j) => j.status === 'done') && pending.length > 0;
    });
    await pg.stop('immediate');

    // Store down: the API says so with 503, and BullMQ gives up on a job once its retries run out.
    const down = await lookup();
    expect(down.status).toBe(503);
    expect(down.headers['content-type']).toMatch(/problem\+json/);
    await waitFor('BullMQ failed a job for good', 30_000, async () => (await Promise.all(pending.map((id) => producer.state(id)))).includes('failed'));
    await pg.start();

    expect((await waitForRun(db, first.run.id, 60_000)).run.status).toBe('failed');
    // The reconciler marks the run failed first, then cancels its jobs and drops its version.
    await waitFor('the reconciler reported the failed run', 20_000, async () => reconciled.some((r) => r.failed.includes(first.run.id)));
    expect(reconciled.flatMap((r) => r.failed)).toEqual([first.run.id]);
    const failed = await runStatus(db, first.run.id);
    expect(failed.run.status).toBe('failed');
    expect(failed.run.error).toMatch(/\.score\.\d+ failed for good while the store could not record it/);
    expect(failed.jobs.filter((j) => j.status === 'queued' || j.status === 'running')).toEqual([]);
    // The version it had started is gone; the one that was active still serves.
    expect(await activeVersion(db)).toBe(before);
    expect((await listVersions(db)).map((v) => v.version)).toEqual([before]);
    const after = await lookup();
    expect(after.status).toBe(200);
    expect(after.body.modelVersion).toBe(before);

    // A re-run completes, with exactly one label and one score per customer and persona.
    const second = await startRun(db, producer, request1);
    const end = await waitForRun(db, second.run.id, 180_000);
    expect(end.run.error).toBeNull();
    expect(end.run.status).toBe('done');
    const version = (end.jobs.find((j) => j.kind === 'publish')!.result as { version: string }).version;
    const personas = (end.jobs.find((j) => j.kind === 'assemble')!.result as { personas: string[] }).personas;
    await expectOneScorePerCustomerAndPersona(app, token, version, CUSTOMERS, personas);
    expect(await activeVersion(db)).toBe(version);
    expect((await lookup()).body.modelVersion).toBe(version);
  }, 300_000);
});
