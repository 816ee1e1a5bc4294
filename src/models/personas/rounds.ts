// The parts of two-round training that sit between the rounds, shared by `personas run`
// (project.ts, every persona in one process) and the batch jobs (jobs/steps.ts: `train` per
// persona, `clean` across personas, `retrain` per persona), so the two cannot drift: which
// seeds the first round judges mislabelled, and each persona's look-alike twins.
import { ModelError } from '../../errors.ts';
import { withoutFeatures, type DesignMatrix } from './design.ts';
import { mislabelledSeeds, type SeedCleaning } from './seed-cleaning.ts';
import { findTwins } from './twins.ts';
import { trainingSample, type TrainOptions } from './train.ts';

/** Whether training has a second round (seed cleaning and/or twins). */
export const hasSecondRound = (o: Pick<TrainOptions, 'twinsPerSeed' | 'cleanSeedsQuantile'>): boolean => o.twinsPerSeed > 0 || o.cleanSeedsQuantile >= 0;

/** 1 for a customer who is a seed of any persona, or a known customer (`known`: known-seeds.ts): never anyone's twin. */
export function anySeedMask(seedMasks: Uint8Array[], rows: number, known?: Uint8Array): Uint8Array {
  const any = known ? Uint8Array.from(known) : new Uint8Array(rows);
  for (const mask of seedMasks) for (let i = 0; i < rows; i++) any[i] |= mask[i];
  return any;
}

/**
 * Between the rounds: the seeds each trained persona's first round judges mislabelled, across
 * personas (seed-cleaning.ts); null when cleaning is off. Inputs in the same persona order.
 */
export function cleanSeedsBetweenRounds(
  seedMasks: Uint8Array[],
  firstRoundScores: Float64Array[],
  firstRoundProbabilities: Float64Array[],
  options: Pick<TrainOptions, 'cleanSeedsQuantile'>,
  /** Per persona, its known members (known-seeds.ts), never left out. */
  knownMembers: readonly (Uint8Array | undefined)[] = [],
): SeedCleaning | null {
  if (options.cleanSeedsQuantile < 0 || !seedMasks.length) return null;
  return mislabelledSeeds(seedMasks, firstRoundScores, firstRoundProbabilities, options.cleanSeedsQuantile, knownMembers);
}

/** A persona's seeds less those left out. */
export function keptSeeds(seedMask: Uint8Array, excludeMask?: Uint8Array): Uint8Array {
  return excludeMask ? Uint8Array.from(seedMask, (v, i) => v & (excludeMask[i] ^ 1)) : seedMask;
}

export interface TwinRequest {
  design: DesignMatrix;
  /** The persona's model columns in the first round (kNN twins are searched in that space). */
  modelFeatures: string[];
  /** The seeds twins grow from (known-seeds.ts twinSeedMask: known members the rule had not picked grow none). */
  seedMask: Uint8Array;
  excludeMask?: Uint8Array;
  /** anySeedMask of every persona's seeds. */
  anySeed: Uint8Array;
  /** First-round probabilities of the persona (needed by twinSearch 'model' only). */
  firstRoundProbabilities?: Float64Array;
  /** The persona's index among the trained personas (seeds the search). */
  index: number;
}

/** A persona's twins for the second round, or null when the options ask for none. */
export async function secondRoundTwins(req: TwinRequest, options: TrainOptions): Promise<{ mask: Uint8Array; twins: number } | null> {
  if (options.twinsPerSeed <= 0) return null;
  const rows = req.seedMask.length;
  // On a base larger than the training sample, seeds and twins both come from the sample.
  const sample = trainingSample(rows, options);
  const own = sample ? Uint8Array.from(keptSeeds(req.seedMask, req.excludeMask), (v, i) => v & sample[i]) : keptSeeds(req.seedMask, req.excludeMask);
  const blocked = sample ? Uint8Array.from(req.anySeed, (v, i) => v | (sample[i] ^ 1)) : req.anySeed;
  if (options.twinSearch === 'knn') {
    const x = withoutFeatures(req.design, req.design.sources.filter((_, j) => !req.modelFeatures.includes(req.design.names[j])));
    const found = await findTwins(x, own, blocked, { perSeed: options.twinsPerSeed, cutoffQuantile: options.twinCutoffQuantile, workers: options.workers ?? 2, seed: options.seed + req.index });
    return { mask: found.mask, twins: found.twins };
  }
  const p = req.firstRoundProbabilities;
  if (!p) throw new ModelError('TRAINING_DATA_INVALID', `model-score twins need the first round's probabilities (persona index ${req.index})`);
  let ownCount = 0;
  for (const v of own) ownCount += v;
  const want = Math.round(options.twinsPerSeed * ownCount);
  const candidates = Array.from(p.keys()).filter((i) => !blocked[i]);
  candidates.sort((a, b) => p[b] - p[a] || a - b);
  const mask = new Uint8Array(rows);
  for (const i of candidates.slice(0, want)) mask[i] = 1;
  return { mask, twins: Math.min(want, candidates.length) };
}
