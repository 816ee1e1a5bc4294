// A batch run and its jobs. A run (re)trains the persona models of a persona file on a data
// directory and labels every customer:
//   features -> train (one job per persona) -> assemble -> score (one job per partition) -> publish
// Each stage starts when every job of the previous one is done. The same jobs run on BullMQ
// (REDIS_URL: any number of `personas worker` processes on any machine that reaches Redis and
// PostgreSQL) or in the process that starts the run.
import { z } from 'zod';
import type { ColumnMap, KnownRow } from '../features/index.ts';
import { LEARNER_KINDS } from '../models/learner.ts';
import { MIN_TRAINING_CUSTOMERS } from '../models/personas/train.ts';

const BAGS = "expected a whole number from 1 to 50, or 'auto'";

export const RunRequestSchema = z
  .object({
    /** Directory of contract inputs, readable by every worker (a shared volume with several machines). */
    data: z.string().min(1),
    /** Path of the persona file (read when the run starts) or its YAML text; not with `model`. */
    personas: z.string().min(1).optional(),
    /**
     * Column file for client files named or coded otherwise (`personas features --columns`): its path
     * (read when the run starts), its JSON or YAML text, or the map itself. With `model`, the
     * version's own value map applies, with this one's further values.
     */
    columns: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).optional(),
    /**
     * Customers whose persona is known (personas evaluate): the file (read when the run starts,
     * its columns by `columns`' `known:` map) and what an empty persona says; the new version is
     * checked against them and the check kept with it; `randomSample`: they were drawn at random
     * from the base, so each persona's size is corrected by them; `learn`: the models also learn
     * from them (each persona's known members become seeds: `personas run --learn-from-known`).
     */
    known: z.object({ file: z.string().min(1), empty: z.enum(['skip', 'none']).default('skip'), randomSample: z.boolean().default(false), learn: z.boolean().default(false) }).strict().optional(),
    /** Score with the models of this published version instead of training new ones (a later month's base). */
    model: z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/).optional(),
    asOf: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional(),
    seed: z.number().int().default(1),
    /** Partitions of the base for scoring: one job each. */
    partitions: z.number().int().min(1).max(1000).default(8),
    /** Activate the new version once every partition is scored. */
    activate: z.boolean().default(true),
    /** Learner of every persona, over the persona file's `model.kind` (as `personas run --learner`). */
    learner: z.enum(LEARNER_KINDS).optional(),
    /** Smaller models for quick runs and tests. */
    train: z
      .object({
        folds: z.number().int().min(2).max(10).optional(),
        numTrees: z.number().int().min(1).max(5000).optional(),
        /** Positive-unlabeled bags per boosted-trees model (models/personas/train.ts TrainOptions.bags; default 'auto'). */
        bags: z.union([z.number().int({ error: BAGS }).min(1, { error: BAGS }).max(50, { error: BAGS }), z.literal('auto')], { error: BAGS }).optional(),
        /** Condition views (models/personas/views.ts; boosted trees): on unless false. */
        views: z.boolean().optional(),
        /** Strict precision (ViewOptions.strictPrecision; with views): each persona model tempered by its relearning. */
        strictPrecision: z.boolean().optional(),
        /** Customers that train the models at most (TrainOptions.trainingCustomers; default 200,000; 0: all): a larger base trains on a uniform sample, every customer is scored. */
        trainingCustomers: z.number().int().min(0).refine((n) => n === 0 || n >= MIN_TRAINING_CUSTOMERS, { message: `0 (every customer) or at least ${MIN_TRAINING_CUSTOMERS} customers` }).optional(),
      })
      .strict()
      .refine((t) => !(t.strictPrecision && t.views === false), { message: 'strictPrecision tempers each persona model by what its condition views measure: it cannot go with views: false', path: ['strictPrecision'] })
      .default({}),
  })
  .strict()
  .refine((r) => (r.personas === undefined) !== (r.model === undefined), { message: 'give either `personas` (train new models) or `model` (score with a published version)', path: ['personas'] });
export type RunRequest = z.input<typeof RunRequestSchema>;

/** What is stored with the run: the request, with the persona file's text captured at start. */
export interface RunParams extends Omit<z.output<typeof RunRequestSchema>, 'personas' | 'columns' | 'known'> {
  personaFile: { path: string; content: string };
  /** The known customers, read and checked against the persona file when the run starts. */
  known?: { file: string; empty: 'skip' | 'none'; randomSample?: boolean; learn?: boolean; rows: KnownRow[] };
  /** The run's column map, read when it starts (with a scoring version's value map). */
  columnMap?: ColumnMap;
  /** Training has a second round (fixed when the run starts). */
  secondRound?: boolean;
}

export type StepKind = 'features' | 'train' | 'clean' | 'retrain' | 'assemble' | 'score' | 'publish' | 'report';
export const STAGES: StepKind[] = ['features', 'train', 'clean', 'retrain', 'assemble', 'score', 'publish', 'report'];

/**
 * The stage after `kind`. Training is `train` (one job per persona) then, when the method has a
 * second round (seed cleaning, twins), `clean` (across personas) and `retrain` (one job per
 * persona), as `personas run` trains; a scoring-only run has no training at all.
 */
export function nextStage(kind: StepKind, params: { model?: string; secondRound?: boolean }): StepKind | 'done' {
  if (kind === 'features' && params.model) return 'assemble';
  if (kind === 'train' && !params.secondRound) return 'assemble';
  return STAGES[STAGES.indexOf(kind) + 1] ?? 'done';
}
/** Share of a run's progress each stage stands for (percent). */
export const STAGE_WEIGHT: Record<StepKind, number> = { features: 15, train: 20, clean: 2, retrain: 25, assemble: 3, score: 30, publish: 3, report: 2 };

export interface JobData {
  id: string;
  runId: string;
  kind: StepKind;
  persona?: string;
  partition?: number;
}

/** Retries of a failing job before its run fails, and the first backoff delay. */
export interface RetryPolicy {
  attempts: number;
  backoffMs: number;
}
export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, backoffMs: 2000 };

export function jobId(runId: string, kind: StepKind, part?: string | number): string {
  return part === undefined ? `${runId}.${kind}` : `${runId}.${kind}.${part}`;
}
