// A batch run driven one job at a time, so that the store can be changed between two jobs, or
// during one, at a chosen point: a score job given a partition whose customers are not the rows
// the personas were trained with, a run whose training jobs kept no out-of-fold probabilities
// (jobs of the code before them), and a run cancelled while one of its jobs is reading.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readFeatureTable } from '../../src/features/index.ts';
import { executeJob, type ExecuteEnv } from '../../src/jobs/execute.ts';
import { runStatus, startRun, type JobQueue } from '../../src/jobs/index.ts';
import type { JobData } from '../../src/jobs/types.ts';
import { cancelRun, getRunFile, loadVersionModels, putRunFile, type Db } from '../../src/store/index.ts';
import { STORE_VARIANTS } from '../helpers/stores.ts';

const runs = inject('runs');
const personas = join(runs.data, 'personas.yaml');
// Small models: what is tested here is the jobs' plumbing, not the projection.
const request = { data: runs.data, personas, partitions: 2, activate: false, train: { folds: 2, numTrees: 10, bags: 1, views: false } };

/** Holds the jobs a run hands it; the test runs them, one at a time, with `next`. */
class HeldQueue implements JobQueue {
  readonly kind = 'in-process';
  readonly held: JobData[] = [];
  async enqueue(jobs: JobData[]): Promise<void> {
    this.held.push(...jobs);
  }
  async close(): Promise<void> {}
}

/** A store that runs `before(text, params)` ahead of each of its statements. */
function watched(db: Db, before: (text: string, params: unknown[] | undefined) => Promise<void>): Db {
  return new Proxy(db, {
    get(target, key, receiver) {
      if (key === 'query') {
        return async (text: string, params?: unknown[], name?: string) => {
          await before(text, params);
          return target.query(text, params, name);
        };
      }
      const value: unknown = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

for (const variant of STORE_VARIANTS) {
  describe.skipIf(!!variant.skip)(`a run driven job by job on ${variant.name}`, () => {
    let db: Db;
    beforeAll(async () => {
      db = await variant.open();
    });
    afterAll(async () => {
      if (db) await variant.dispose(db);
    });

    /** Runs the held jobs in order until `stop` says which one to leave at the head of the queue. */
    async function drive(queue: HeldQueue, env: ExecuteEnv, stop: (job: JobData) => boolean = () => false): Promise<void> {
      while (queue.held.length && !stop(queue.held[0]!)) await executeJob(env, queue.held.shift()!, 1);
    }

    it('refuses to label a partition whose customers are not the rows trained on, and labels with the saved models when the training jobs kept no out-of-fold probabilities', async () => {
      const queue = new HeldQueue();
      const env: ExecuteEnv = { db, retry: { attempts: 2, backoffMs: 0 }, enqueue: (jobs) => queue.enqueue(jobs) };
      const started = await startRun(db, queue, request);
      const runId = started.run.id;
      await drive(queue, env, (job) => job.kind === 'score');
      expect(queue.held.map((j) => [j.kind, j.partition])).toEqual([['score', 0], ['score', 1]]);

      // The two partitions' files swapped: each now holds the other's customers.
      const parts = [await getRunFile(db, runId, 'features-0.parquet'), await getRunFile(db, runId, 'features-1.parquet')];
      await putRunFile(db, runId, 'features-0.parquet', parts[1]!);
      await putRunFile(db, runId, 'features-1.parquet', parts[0]!);
      const first = queue.held.shift()!;
      await expect(executeJob(env, first, 1)).rejects.toThrow(/partition 0's customers are not the rows persona '[a-z_]+' was trained with \(ids digest [0-9a-f]{12}, expected [0-9a-f]{12}\)/);
      const failed = (await runStatus(db, runId)).jobs.find((j) => j.id === first.id)!;
      expect(failed.error).toMatch(/^attempt 1 of 2: partition 0's customers are not the rows/);
      expect(failed.status).toBe('queued');

      // Put back, and the training jobs' results as jobs of the code before out-of-fold
      // probabilities left them: the partitions are labelled with the version's saved models.
      await putRunFile(db, runId, 'features-0.parquet', parts[0]!);
      await putRunFile(db, runId, 'features-1.parquet', parts[1]!);
      await db.query(`UPDATE jobs SET result = result - 'partitionDigests' WHERE run_id = $1 AND kind IN ('train', 'retrain')`, [runId]);
      const dir = mkdtempSync(join(tmpdir(), 'personas-stepwise-'));
      const tables = await Promise.all(parts.map(async (bytes, k) => {
        writeFileSync(join(dir, `features-${k}.parquet`), bytes!);
        return readFeatureTable(join(dir, `features-${k}.parquet`));
      }));
      await executeJob(env, first, 2);
      await drive(queue, env);
      const end = await runStatus(db, runId);
      expect(end.run.error).toBeNull();
      expect(end.run.status).toBe('done');
      const version = (end.jobs.find((j) => j.kind === 'publish')!.result as { version: string }).version;
      const saved = await loadVersionModels(db, version);
      const expected = new Map<string, { persona: string | null; scores: number[] }>();
      for (const table of tables) {
        const s = saved.score(table);
        table.ids.forEach((id, i) => expected.set(id, { persona: s.assignment.persona[i] >= 0 ? s.personas[s.assignment.persona[i]]! : null, scores: s.probabilities.map((p) => p[i]!) }));
      }
      const labels = await db.query<{ customer_id: string; persona: string | null; scores: number[] }>('SELECT customer_id, persona, scores FROM assignments WHERE version = $1', [version]);
      expect(labels.length).toBe(1500);
      expect(labels.filter((l) => expected.get(l.customer_id)?.persona !== l.persona).length).toBe(0);
      expect(labels.filter((l) => l.scores.some((x, k) => Math.abs(x - expected.get(l.customer_id)!.scores[k]!) > 1e-6)).length).toBe(0);
      expect(labels.filter((l) => l.persona).length).toBeGreaterThan(100);
    });

    it('ends a job quietly, neither retried nor failed, when it started before its run was cancelled and then met the files the cancel removed', async () => {
      const queue = new HeldQueue();
      const started = await startRun(db, queue, request);
      const runId = started.run.id;
      await drive(queue, { db, retry: { attempts: 1, backoffMs: 0 }, enqueue: (jobs) => queue.enqueue(jobs) }, (job) => job.kind === 'train');
      // The run is cancelled just as its first training job asks for the feature table.
      let cancelled = false;
      const cancelling = watched(db, async (text, params) => {
        if (!cancelled && /FROM run_files/.test(text) && params?.[1] === 'features.parquet') {
          cancelled = true;
          await cancelRun(db, runId);
        }
      });
      // Two attempts allowed: an attempt that failed for its own sake would be handed back for a retry (rejected).
      const env: ExecuteEnv = { db: cancelling, retry: { attempts: 2, backoffMs: 0 }, enqueue: (jobs) => queue.enqueue(jobs) };
      const job = queue.held.shift()!;
      await expect(executeJob(env, job, 1)).resolves.toBeUndefined();
      expect(cancelled).toBe(true);
      const end = await runStatus(db, runId);
      expect(end.run.status).toBe('cancelled');
      expect(end.run.error).toBe('cancelled');
      expect(end.jobs.find((j) => j.id === job.id)).toMatchObject({ status: 'cancelled', attempts: 1 });
      expect(end.jobs.filter((j) => j.status === 'failed')).toEqual([]);
      const files = await db.query<{ name: string }>('SELECT name FROM run_files WHERE run_id = $1 ORDER BY name', [runId]);
      expect(files.map((f) => f.name)).toEqual(['features.json']);
      // The other held jobs do not start.
      await drive(queue, env);
      expect((await runStatus(db, runId)).jobs.filter((j) => j.status === 'running' || j.status === 'done').map((j) => j.kind)).toEqual(['features']);
    });
  });
}
