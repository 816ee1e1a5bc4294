// Seeds a first round judges mislabelled. The rules pick seeds that are mostly, not all, the
// persona (on the benchmark worlds 72 % to 88 %), and the wrong ones are what the model learns
// as the persona's most typical customers. A seed is left out of the second round when another
// persona's model (which does not see this persona's rule) gives it a higher probability than its
// own persona's model does (other personas' seeds and look-alikes are reliable negatives), or
// when its own out-of-fold score is among the lowest `quantile` of the persona's seeds (the
// seeds least like the others, the "spies" a PU model cannot explain).
// A persona of which this would leave out more than half of the seeds keeps them all: that says
// more about its first-round model (or another persona's) than about its seeds, and a second
// round on what is left (possibly nothing) would be worse than none.

import { CLAIMED_SEEDS_LIMIT } from '../artefacts.ts';

export interface SeedCleaning {
  /** Per persona: 1 for the seeds left out. */
  excluded: Uint8Array[];
  /** Per persona: how many seeds were left out. */
  counts: number[];
  /** Per persona: why no seed was left out although some were judged mislabelled (null otherwise). */
  skipped: (string | null)[];
  /**
   * Per persona: its seeds that another persona's model gives a higher probability than its own
   * (left out or, cleaning skipped, kept): its rule's picks that look like another persona's customers.
   */
  claimed: number[];
  /** Per persona k: at j, how many of its claimed seeds persona j's model gave the highest probability. */
  claimedBy: number[][];
}

/**
 * `probabilities[k]` and `scores[k]`: persona k's first-round probabilities and out-of-fold
 * scores for every customer; `seedMasks[k]`: its seeds; `keep[k]`, where given: its seeds known to
 * be members (known-seeds.ts), never left out (they still count among the seeds the quantile and
 * the half are taken of).
 */
export function mislabelledSeeds(seedMasks: Uint8Array[], scores: Float64Array[], probabilities: Float64Array[], quantile: number, keep: readonly (Uint8Array | undefined)[] = []): SeedCleaning {
  const n = seedMasks[0]?.length ?? 0;
  const excluded = seedMasks.map(() => new Uint8Array(n));
  const skipped: (string | null)[] = seedMasks.map(() => null);
  const claimed = seedMasks.map(() => 0);
  const claimedBy = seedMasks.map(() => seedMasks.map(() => 0));
  const counts = seedMasks.map((mask, k) => {
    const own: number[] = [];
    for (let i = 0; i < n; i++) if (mask[i]) own.push(scores[k][i]);
    own.sort((a, b) => a - b);
    const cut = quantile > 0 && own.length ? own[Math.min(own.length - 1, Math.floor(quantile * own.length))] : -Infinity;
    let count = 0;
    const known = keep[k];
    for (let i = 0; i < n; i++) {
      if (!mask[i] || known?.[i]) continue;
      let other = 0;
      let by = -1;
      for (let j = 0; j < probabilities.length; j++) {
        if (j !== k && probabilities[j][i] > other) {
          other = probabilities[j][i];
          by = j;
        }
      }
      if (other > probabilities[k][i]) {
        claimed[k]++;
        claimedBy[k][by]++;
      }
      if (other > probabilities[k][i] || scores[k][i] < cut) {
        excluded[k][i] = 1;
        count++;
      }
    }
    if (count > own.length / 2) {
      excluded[k].fill(0);
      skipped[k] = `seed cleaning would have left out ${count} of ${own.length} seeds (more than half): all kept`;
      return 0;
    }
    return count;
  });
  return { excluded, counts, skipped, claimed, claimedBy };
}

/** What metrics.json says of a persona's claimed seeds (PersonaMetrics' seedsClaimed and seedsClaimedBy). */
export interface ClaimedSeeds {
  seedsClaimed: number;
  seedsClaimedBy: Record<string, number>;
}

/**
 * The personas that claimed a persona's seeds (its row of claimedBy read with the personas' ids), by
 * id, most first as JSON lists them (none at 0). Read the largest with topClaimant, which does not
 * rely on the keys' order.
 */
export function claimants(claimedBy: readonly number[], ids: readonly string[]): Record<string, number> {
  const pairs = ids.map((id, j) => [id, claimedBy[j] ?? 0] as const).filter(([, n]) => n > 0);
  return Object.fromEntries(pairs.sort((a, b) => b[1] - a[1]));
}

/** The persona that claimed the most of a persona's seeds, with how many (the first id on a tie); undefined for none. */
export function topClaimant(by: Readonly<Record<string, number>>): [string, number] | undefined {
  let top: [string, number] | undefined;
  for (const [id, n] of Object.entries(by)) if (!top || n > top[1] || (n === top[1] && id < top[0])) top = [id, n];
  return top;
}

/**
 * The run's log line of a persona whose seeds another persona's model claims beyond
 * CLAIMED_SEEDS_LIMIT (`claimed` of the seeds in `seedMask`, `by` persona as `claimants` gives them,
 * the first named); null under it.
 */
export function claimedSeedsLine(id: string, claimed: number, seedMask: Uint8Array, by: Record<string, number> = {}): string | null {
  let seeds = 0;
  for (let i = 0; i < seedMask.length; i++) seeds += seedMask[i];
  if (!seeds || claimed / seeds <= CLAIMED_SEEDS_LIMIT) return null;
  const first = topClaimant(by);
  const most = first ? `, most of them ${first[0]}'s (${first[1]})` : '';
  return `${id}: ${claimed} of its ${seeds} seeds (${((100 * claimed) / seeds).toFixed(0)} %) look more like another persona's customers to that persona's model than like its own${most}: its rule picks other personas' customers, fewer of its assigned customers may be right than its expected precision says, and its estimated size may be too large`;
}
