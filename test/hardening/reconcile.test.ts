// The reconciler's rules, one case each, on the real PostgreSQL and Redis (a queue prefix of its
// own): what the store has queued but Redis lost is queued again; a running job whose worker's
// heartbeat is fresh is left to that worker, a stale one is queued again; a job Redis still holds
// is left alone; a job BullMQ failed for good while the store still has it running fails its run.
import { randomBytes } from 'node:crypto';
import { Worker } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { BullQueue, redisConnection } from '../../src/jobs/index.ts';
import { reconcileQueue, QUEUE_NAME } from '../../src/jobs/runner.ts';
import { createJob, getJob, setRun, type Db } from '../../src/store/index.ts';
import { STORE_VARIANTS } from '../helpers/stores.ts';
import { waitFor } from './check.ts';

const postgres = STORE_VARIANTS[1];
const redisUrl = process.env.REDIS_URL;
const skip = postgres.skip || (redisUrl ? '' : 'REDIS_URL is not set: the reconciler test is skipped');

describe.skipIf(!!skip)('reconciling the queue with the store', () => {
  const prefix = `test-${randomBytes(4).toString('hex')}`;
  const connection = redisConnection(redisUrl ?? 'redis://x');
  let db: Db | undefined;
  afterAll(async () => {
    const keys = await connection.keys(`${prefix}:*`);
    if (keys.length) await connection.del(...keys);
    connection.disconnect();
    if (db) await postgres.dispose(db);
  });

  it('re-queues lost and stale jobs, leaves live and held ones, and fails the run of a job BullMQ gave up on', async () => {
    db = await postgres.open();
    const queue = new BullQueue(connection, { attempts: 1, backoffMs: 100 }, prefix);
    const run = async (id: string) => {
      await createJob(db!, { id, runId: null, kind: 'run', params: {}, stage: 'score' });
      await setRun(db!, id, { status: 'running' });
    };
    await run('r1');
    await run('r2');
    await run('r3');
    const job = (runId: string, k: number) => ({ id: `${runId}.score.${k}`, runId, kind: 'score' as const, partition: k });
    for (const [runId, k] of [['r1', 0], ['r1', 1], ['r1', 2], ['r1', 3], ['r2', 0], ['r3', 0]] as const) {
      await createJob(db, { id: `${runId}.score.${k}`, runId, kind: 'score', params: { partition: k } });
    }
    // r1.score.0: queued in the store, never in Redis (lost).
    // r1.score.1: running, heartbeat fresh, not in Redis (its worker lost its lock but is alive).
    // r1.score.2: running, heartbeat 10 minutes old, not in Redis (its worker is gone).
    // r1.score.3: queued in the store and in Redis.
    await db.query(`UPDATE jobs SET status = 'running', worker = 'w:1' WHERE id IN ('r1.score.1', 'r1.score.2')`);
    await db.query(`UPDATE jobs SET updated_at = now() - interval '10 minutes' WHERE id = 'r1.score.2'`);
    // r2.score.0: BullMQ failed it for good; the store still has it running (its last attempt could not write).
    await db.query(`UPDATE jobs SET status = 'running' WHERE id = 'r2.score.0'`);
    const failing = new Worker(QUEUE_NAME, async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    }, { connection, prefix });
    await queue.enqueue([job('r2', 0)]);
    await waitFor('BullMQ failed r2.score.0', 20_000, async () => (await queue.state('r2.score.0')) === 'failed');
    await failing.close();
    await queue.enqueue([job('r1', 3)]);
    // r3 is cancelled: its jobs are not the reconciler's business.
    await db.query(`UPDATE jobs SET status = 'cancelled' WHERE id = 'r3'`);

    const r = await reconcileQueue(db, queue, { staleMs: 60_000 });
    expect(r.requeued.sort()).toEqual(['r1.score.0', 'r1.score.2']);
    expect(r.failed).toEqual(['r2']);
    expect(await queue.state('r1.score.0')).toBe('waiting');
    expect(await queue.state('r1.score.1')).toBe('unknown');
    expect(await queue.state('r1.score.2')).toBe('waiting');
    expect(await queue.state('r1.score.3')).toBe('waiting');
    expect(await queue.state('r3.score.0')).toBe('unknown');
    const r2 = await getJob(db, 'r2');
    expect(r2?.status).toBe('failed');
    expect(r2?.error).toMatch(/r2\.score\.0 failed for good while the store could not record it: connect ECONNREFUSED/);
    expect((await getJob(db, 'r2.score.0'))?.status).toBe('cancelled');
    // A second pass finds nothing to do.
    expect(await reconcileQueue(db, queue, { staleMs: 60_000 })).toEqual({ requeued: [], failed: [] });
    await queue.close();
  });
});
