// The two job runners every job test runs on: in-process on embedded PGlite (always), and BullMQ
// on the real Redis of REDIS_URL with the real PostgreSQL of DATABASE_URL (skipped, saying so,
// when either is unset). Each BullMQ variant uses its own queue prefix.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { InProcessQueue, redisConnection, startBullWorker, type JobQueue, type RetryPolicy } from '../../src/jobs/index.ts';
import type { Db } from '../../src/store/index.ts';
import { STORE_VARIANTS, type StoreVariant } from './stores.ts';

export interface RunnerVariant {
  name: string;
  skip: string;
  store: StoreVariant;
  /** A queue and, for BullMQ, a worker in this process; `close` stops both. */
  start(db: Db, retry: RetryPolicy): Promise<{ queue: JobQueue; close(): Promise<void> }>;
}

const redisUrl = process.env.REDIS_URL;
const [pglite, postgres] = STORE_VARIANTS;

export const RUNNER_VARIANTS: RunnerVariant[] = [
  {
    name: 'in-process on pglite',
    skip: '',
    store: pglite,
    async start(db, retry) {
      const queue = new InProcessQueue(db, { concurrency: 2, retry });
      return { queue, close: () => queue.close() };
    },
  },
  {
    name: 'BullMQ on redis with postgres',
    skip: !redisUrl ? 'REDIS_URL is not set: the BullMQ variant is skipped (the in-process runner ran the same tests)' : postgres.skip,
    store: postgres,
    async start(db, retry) {
      const connection: Redis = redisConnection(redisUrl!);
      const prefix = `test-${randomBytes(4).toString('hex')}`;
      const w = startBullWorker(db, connection, { concurrency: 2, retry, prefix, lockMs: 5000 });
      await w.worker.waitUntilReady();
      return {
        queue: w.queue,
        async close() {
          await w.close();
          const keys = await connection.keys(`${prefix}:*`);
          if (keys.length) await connection.del(...keys);
          connection.disconnect();
        },
      };
    },
  },
];

for (const v of RUNNER_VARIANTS) if (v.skip) console.warn(`[personas tests] ${v.skip}`);
