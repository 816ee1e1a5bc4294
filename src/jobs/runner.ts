// The two runners behind one interface. BullMQ on Redis when REDIS_URL is set: jobs go to a
// Redis queue and `personas worker` processes (any number, on any machine) take them, with
// retries, backoff, and recovery of the jobs of a worker that died (BullMQ's stalled-job check).
// In-process otherwise: the same jobs, retries and backoff, run by the process that starts the run.
// The store, not Redis, is the record of a run: each worker reconciles the two (jobs the store has
// queued or running that Redis no longer holds are queued again; jobs BullMQ gave up on while the
// store was unreachable fail their run), so a Redis that lost its data or a store that was down
// while a job failed for good never leaves a run hanging.
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { PersonasError } from '../errors.ts';
import { columnMapOf, withTrainedValues } from '../features/column-map.ts';
import { readKnownFile } from '../features/known.ts';
import { knownPersonas } from '../models/personas/evaluate.ts';
import { parsePersonaFile, TRAIN_DEFAULTS } from '../models/personas/index.ts';
import { hasSecondRound } from './steps.ts';
import { createJob, getRun, setRun, versionDetail, type Db } from '../store/index.ts';
import { executeJob, failRun, summarise, type ExecuteEnv, type RunStatus } from './execute.ts';
import { DEFAULT_RETRY, jobId, RunRequestSchema, type JobData, type RetryPolicy, type RunParams, type RunRequest, type StepKind } from './types.ts';

export const QUEUE_NAME = 'personas-jobs';
/** Longest wait between two attempts of a job in process (a store down for long is retried every minute). */
const MAX_BACKOFF_MS = 60_000;

export interface JobQueue {
  readonly kind: 'bullmq' | 'in-process';
  enqueue(jobs: JobData[]): Promise<void>;
  close(): Promise<void>;
}

/** Starts a run: records it and its first job, and queues that job. */
export async function startRun(db: Db, queue: JobQueue, request: RunRequest): Promise<RunStatus> {
  const parsed = RunRequestSchema.safeParse(request);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new PersonasError('INPUT_INVALID', `run request: field '${i.path.join('.')}': ${i.message}`);
  }
  const { personas, columns, known: knownRequest, ...rest } = parsed.data;
  let personaFile: RunParams['personaFile'];
  // The column file, read now as the persona file is (a bad one fails now, not in a worker).
  const given = columns === undefined ? undefined : columnMapOf(columns, "run request field 'columns'");
  let columnMap = given?.map;
  if (rest.model) {
    // Scoring only: the persona file is the one the version was trained with, and the client's values as it read them.
    const { manifest, dataSummary } = await versionDetail(db, rest.model);
    personaFile = { path: manifest.personaFile.path, content: manifest.personaFile.content };
    columnMap = withTrainedValues(columnMap, dataSummary?.values ?? {}, `version ${rest.model}`, given?.source ?? '');
    if (!Object.keys(columnMap).length) columnMap = undefined;
  } else if (/\n/.test(personas!)) {
    personaFile = { path: 'personas.yaml', content: personas! };
  } else {
    if (!existsSync(personas!)) throw new PersonasError('INPUT_MISSING_FILE', `${personas}: persona file not found`);
    personaFile = { path: personas!, content: readFileSync(personas!, 'utf8') };
  }
  const spec = parsePersonaFile(personaFile.content, personaFile.path); // a bad persona file fails now, not in a worker
  // The known customers, read and checked now (a value naming no persona fails the request, with its line).
  let known: RunParams['known'];
  if (knownRequest) {
    const rows = await readKnownFile(knownRequest.file, columnMap ?? {});
    knownPersonas(rows, spec.personas, knownRequest.file, knownRequest.empty);
    if (knownRequest.learn && rest.model) throw new PersonasError('INPUT_INVALID', `known.learn: a run scoring with the models of version ${rest.model} trains none to learn from the known customers (leave out model to retrain, or known.learn to only check)`);
    known = { file: knownRequest.file, empty: knownRequest.empty, randomSample: knownRequest.randomSample, learn: knownRequest.learn, rows };
  }
  const params: RunParams & { personaIds: string[] } = {
    ...rest,
    personaFile,
    ...(columnMap ? { columnMap } : {}),
    ...(known ? { known } : {}),
    personaIds: rest.model ? [] : spec.personas.map((p) => p.id),
    secondRound: !rest.model && hasSecondRound(TRAIN_DEFAULTS),
  };
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const runId = `run-${stamp}-${randomBytes(3).toString('hex')}`;
  const first: JobData = { id: jobId(runId, 'features'), runId, kind: 'features' };
  await db.transaction(async (tx) => {
    await createJob(tx, { id: runId, runId: null, kind: 'run', params: params as unknown as Record<string, unknown>, stage: 'features' });
    await createJob(tx, { id: first.id, runId, kind: 'features' });
  });
  await queue.enqueue([first]);
  return runStatus(db, runId);
}

export async function runStatus(db: Db, runId: string): Promise<RunStatus> {
  const { run, jobs } = await getRun(db, runId);
  return summarise(run, jobs);
}

/**
 * Jobs at a time in process unless told: one per core. A training job learns its persona's models
 * on one worker thread, so one job per core keeps every core busy without two jobs sharing one
 * (a batch run on 100,000 customers one job at a time took twice `personas run`'s time).
 */
export const defaultConcurrency = (): number => Math.max(1, availableParallelism());

/** Jobs run in this process, `concurrency` at a time (default: one per core), with the same retries and backoff as BullMQ. */
export class InProcessQueue implements JobQueue {
  readonly kind = 'in-process' as const;
  private waiting: { job: JobData; attempt: number }[] = [];
  private active = 0;
  private timers = new Set<NodeJS.Timeout>();
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  private env: ExecuteEnv;

  constructor(db: Db, opts: { concurrency?: number; retry?: RetryPolicy } = {}) {
    this.concurrency = opts.concurrency ?? defaultConcurrency();
    this.env = { db, retry: opts.retry ?? DEFAULT_RETRY, enqueue: async (jobs) => this.push(jobs.map((job) => ({ job, attempt: 1 }))) };
  }

  private readonly concurrency: number;

  async enqueue(jobs: JobData[]): Promise<void> {
    this.push(jobs.map((job) => ({ job, attempt: 1 })));
  }

  private push(items: { job: JobData; attempt: number }[]) {
    if (this.closed) return;
    this.waiting.push(...items);
    this.pump();
  }

  private pump() {
    while (!this.closed && this.active < this.concurrency && this.waiting.length) {
      const item = this.waiting.shift()!;
      this.active++;
      executeJob(this.env, item.job, item.attempt)
        .catch(() => {
          // A failed attempt with attempts left: again after an exponential backoff.
          const t = setTimeout(() => {
            this.timers.delete(t);
            this.push([{ job: item.job, attempt: item.attempt + 1 }]);
          }, Math.min(MAX_BACKOFF_MS, this.env.retry.backoffMs * 2 ** (item.attempt - 1)));
          this.timers.add(t);
        })
        .finally(() => {
          this.active--;
          this.pump();
          this.checkIdle();
        });
    }
    this.checkIdle();
  }

  private checkIdle() {
    if (this.active === 0 && this.waiting.length === 0 && this.timers.size === 0) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** Resolves when nothing is running, waiting or due for a retry. */
  idle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.checkIdle();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.waiting = [];
    this.checkIdle();
  }
}

export function redisConnection(url: string): Redis {
  // BullMQ needs maxRetriesPerRequest: null for its blocking commands.
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
}

/** Producer side on BullMQ: jobs keyed by their id, so a job queued twice runs once. */
export class BullQueue implements JobQueue {
  readonly kind = 'bullmq' as const;
  private queue: Queue;
  constructor(
    connection: ConnectionOptions,
    private retry: RetryPolicy = DEFAULT_RETRY,
    prefix?: string,
  ) {
    this.queue = new Queue(QUEUE_NAME, { connection, ...(prefix ? { prefix } : {}) });
  }

  async enqueue(jobs: JobData[]): Promise<void> {
    await this.queue.addBulk(jobs.map((data) => ({
      name: data.kind,
      data,
      opts: {
        jobId: data.id,
        attempts: this.retry.attempts,
        backoff: { type: 'exponential', delay: this.retry.backoffMs },
        removeOnComplete: { age: 7 * 24 * 3600 },
        removeOnFail: { age: 30 * 24 * 3600 },
      },
    })));
  }

  /** BullMQ's state of a job ('unknown' when Redis does not hold it). */
  state(id: string): Promise<string> {
    return this.queue.getJobState(id);
  }

  async failedReason(id: string): Promise<string> {
    const job = await this.queue.getJob(id);
    return job ? `${job.failedReason} (after ${job.attemptsMade} attempts)` : 'unknown reason';
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

export interface WorkerOptions {
  concurrency?: number;
  retry?: RetryPolicy;
  /** How long a job's lock lasts without renewal: a dead worker's job is taken again after about this long. */
  lockMs?: number;
  prefix?: string;
  /** How often the store and the queue are reconciled (ms; default 30 s; 0: never). Also right after Redis reconnects. */
  reconcileMs?: number;
  /** Told what each reconciliation did, when it did something. */
  onReconcile?: (r: ReconcileResult) => void;
}

export interface ReconcileResult {
  /** Jobs queued again: the store has them queued or running, Redis no longer holds them. */
  requeued: string[];
  /** Runs failed: BullMQ gave up on one of their jobs while the store could not record it. */
  failed: string[];
}

/**
 * Makes the queue agree with the store, for every unfinished job of every unfinished run:
 * - Redis does not know the job (it restarted without its data, or the job was recorded in the
 *   store but never queued): queue it again, unless it is running and its worker's heartbeat is
 *   fresher than `staleMs` (that worker is alive and will record the result). Steps are idempotent
 *   and the job id is the BullMQ job id, so a job queued twice runs once, and a job run twice
 *   writes the same rows.
 * - BullMQ failed the job for good but the store still has it queued or running (its last attempt
 *   could not reach the store): fail its run, as the worker would have.
 * `mine`: jobs this process runs now (never queued again by it).
 */
export async function reconcileQueue(db: Db, queue: BullQueue, opts: { staleMs: number; mine?: ReadonlySet<string> }): Promise<ReconcileResult> {
  const rows = await db.query<{ id: string; run_id: string; kind: StepKind; params: { persona?: string; partition?: number }; status: string; age_ms: number }>(
    `SELECT j.id, j.run_id, j.kind, j.params, j.status, extract(epoch FROM now() - j.updated_at) * 1000 AS age_ms
     FROM jobs j JOIN jobs r ON r.id = j.run_id
     WHERE j.status IN ('queued', 'running') AND r.status IN ('queued', 'running')
     ORDER BY j.created_at, j.id`,
  );
  const result: ReconcileResult = { requeued: [], failed: [] };
  const requeue: JobData[] = [];
  for (const row of rows) {
    if (opts.mine?.has(row.id) || result.failed.includes(row.run_id)) continue;
    const state = await queue.state(row.id);
    if (state === 'unknown') {
      if (row.status === 'running' && Number(row.age_ms) < opts.staleMs) continue;
      requeue.push({
        id: row.id, runId: row.run_id, kind: row.kind,
        ...(row.params?.persona !== undefined ? { persona: row.params.persona } : {}),
        ...(row.params?.partition !== undefined ? { partition: Number(row.params.partition) } : {}),
      });
    } else if (state === 'failed') {
      const reason = await queue.failedReason(row.id);
      await failRun(db, row.run_id, `${row.id} failed for good while the store could not record it: ${reason}`);
      result.failed.push(row.run_id);
    }
  }
  const left = requeue.filter((j) => !result.failed.includes(j.runId));
  if (left.length) await queue.enqueue(left);
  result.requeued = left.map((j) => j.id);
  return result;
}

/** A BullMQ worker taking jobs from Redis; returns a function that stops it. */
export function startBullWorker(db: Db, connection: ConnectionOptions, opts: WorkerOptions = {}): { worker: Worker; queue: BullQueue; reconcile(): Promise<ReconcileResult>; close(): Promise<void> } {
  const retry = opts.retry ?? DEFAULT_RETRY;
  const queue = new BullQueue(connection, retry, opts.prefix);
  const env: ExecuteEnv = { db, retry, enqueue: (jobs) => queue.enqueue(jobs) };
  const lockMs = opts.lockMs ?? 30_000;
  const mine = new Set<string>();
  const worker = new Worker<JobData>(
    QUEUE_NAME,
    async (job) => {
      mine.add(job.data.id);
      try {
        await executeJob(env, job.data, job.attemptsMade + 1);
      } finally {
        mine.delete(job.data.id);
      }
    },
    { connection, concurrency: opts.concurrency ?? 1, lockDuration: lockMs, stalledInterval: Math.max(1000, Math.floor(lockMs / 2)), maxStalledCount: 3, ...(opts.prefix ? { prefix: opts.prefix } : {}) },
  );
  // A job given up by BullMQ without our handler recording it (stalled too often): fail its run.
  worker.on('failed', (job, err) => {
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1) && /stalled/i.test(err.message)) {
      void failRun(db, job.data.runId, `${job.data.id}: ${err.message}`).catch(() => undefined);
    }
  });
  worker.on('error', () => undefined);

  // Heartbeat: the jobs this process runs stay fresh in the store, so reconcilers elsewhere know
  // their worker is alive even when Redis lost their locks.
  const heartbeatMs = Math.max(1000, Math.floor(lockMs / 2));
  const heartbeat = setInterval(() => {
    if (mine.size) void db.query(`UPDATE jobs SET updated_at = now() WHERE id = ANY($1::text[]) AND status = 'running'`, [[...mine]]).catch(() => undefined);
  }, heartbeatMs);
  heartbeat.unref();

  let reconciling: Promise<ReconcileResult> | null = null;
  const reconcile = () => {
    reconciling ??= reconcileQueue(db, queue, { staleMs: 3 * Math.max(heartbeatMs, lockMs), mine })
      .then((r) => {
        if (r.requeued.length || r.failed.length) opts.onReconcile?.(r);
        return r;
      })
      .finally(() => (reconciling = null));
    return reconciling;
  };
  const reconcileMs = opts.reconcileMs ?? 30_000;
  const timers: NodeJS.Timeout[] = [];
  let onReady: (() => void) | undefined;
  if (reconcileMs > 0) {
    const tick = setInterval(() => void reconcile().catch(() => undefined), reconcileMs);
    tick.unref();
    timers.push(tick);
    // Redis came back (maybe empty): reconcile once BullMQ has reconnected.
    if (connection instanceof Redis) {
      let first = true;
      onReady = () => {
        if (first) return void (first = false);
        const t = setTimeout(() => void reconcile().catch(() => undefined), 500);
        t.unref();
      };
      connection.on('ready', onReady);
      if (connection.status === 'ready') first = false;
    }
  }
  return {
    worker,
    queue,
    reconcile,
    async close() {
      clearInterval(heartbeat);
      for (const t of timers) clearInterval(t);
      if (onReady && connection instanceof Redis) connection.off('ready', onReady);
      await worker.close();
      await reconciling?.catch(() => undefined);
      await queue.close();
    },
  };
}

/** Marks a run failed from outside (e.g. its queue is gone). */
export async function abandonRun(db: Db, runId: string, reason: string): Promise<void> {
  await setRun(db, runId, { status: 'failed', error: reason });
}
