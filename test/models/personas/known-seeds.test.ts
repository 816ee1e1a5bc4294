// Known customers as seeds (known-seeds.ts): which customers become a persona's seeds, which are
// taken out, how ids written otherwise are matched, min_seeds both ways; seed cleaning never leaves
// a known member out; twins grow from the rule's seeds only and never take a known customer; a
// known member outside the training sample is trained on and scored by the fold that did not see it.
import { describe, expect, it } from 'vitest';
import { Random } from '../../../src/random.ts';
import { anySeedMask, mislabelledSeeds, trainingSample, trainPersonas, TRAIN_DEFAULTS, type PersonaSeeds } from '../../../src/models/personas/index.ts';
import { knownSeedLine, twinSeedMask, withKnownSeeds } from '../../../src/models/personas/known-seeds.ts';
import type { DesignMatrix } from '../../../src/models/personas/design.ts';

const seedsOf = (id: string, picked: number[], rows: number): PersonaSeeds => {
  const mask = new Uint8Array(rows);
  for (const i of picked) mask[i] = 1;
  return { id, ruleMatches: picked.length, mask, seeds: picked.length, overlaps: {}, thresholds: [], ruleFeatures: [], status: 'ok' };
};
const ones = (mask: Uint8Array) => Array.from(mask.keys()).filter((i) => mask[i]);

describe('known customers as seeds', () => {
  // Ten customers; the rule of a picks 0, 1, 2; the rule of b picks 5, 6.
  const ids = ['C0', 'C1', 'C2', 'C3', 'C4', '00042', 'C6', 'Dupont', 'C8', 'C9'];
  const rule = [seedsOf('a', [0, 1, 2], 10), seedsOf('b', [5, 6], 10)];

  it('adds known members, takes out the rule seeds known to be another persona or none, and matches ids written otherwise', () => {
    const known = new Map<string, string | null>([
      ['C0', 'a'], // a rule seed, known right
      ['C3', 'a'], // missed by the rule
      ['C1', 'b'], // a's rule seed, known to be b
      ['C2', null], // a's rule seed, known to be none
      ['42', 'b'], // 00042 written as a number: b's rule seed, known right
      ['dupont', 'a'], // another case
      ['C8', null], // none, seed of no one
      ['X99', 'a'], // not in the base
    ]);
    const r = withKnownSeeds(rule, ids, known, [1, 1]);
    expect([r.matched, r.notFound, r.notFoundIds]).toEqual([7, 1, ['X99']]);
    expect(ones(r.knownMask)).toEqual([0, 1, 2, 3, 5, 7, 8]);
    const [a, b] = r.seeds;
    expect(ones(a.mask)).toEqual([0, 3, 7]);
    expect([a.seeds, a.known!.members, a.known!.added, a.known!.removed]).toEqual([3, 3, 2, 2]);
    expect(ones(a.known!.memberMask)).toEqual([0, 3, 7]);
    expect(ones(a.known!.addedMask)).toEqual([3, 7]);
    expect(ones(b.mask)).toEqual([1, 5, 6]);
    expect([b.seeds, b.known!.members, b.known!.added, b.known!.removed]).toEqual([3, 2, 1, 0]);
    // What the rule found is kept as it was; the given seeds are not changed.
    expect([a.ruleMatches, rule[0].seeds, ones(rule[0].mask)]).toEqual([3, 3, [0, 1, 2]]);
    // Twins grow from the seeds less the known members the rule had not picked.
    expect(ones(twinSeedMask(a))).toEqual([0]);
    expect(ones(twinSeedMask(b))).toEqual([5, 6]);
    expect(twinSeedMask(rule[0])).toBe(rule[0].mask);
    // No known customer is anyone's twin.
    expect(ones(anySeedMask(r.seeds.map((s) => s.mask), 10, r.knownMask))).toEqual([0, 1, 2, 3, 5, 6, 7, 8]);
    expect(knownSeedLine(a)).toBe("a: 3 known members among the seeds (2 the rule had not picked), 2 of the rule's seeds known to be another persona or none taken out: 3 seeds");
    expect(knownSeedLine(b)).toBe('b: 2 known members among the seeds (1 the rule had not picked): 3 seeds');
    expect(knownSeedLine(rule[0])).toBeNull();
  });

  it('leaves an id written alike for two customers unmatched rather than guess', () => {
    const r = withKnownSeeds(rule, ['C0', 'c0x', 'C0X', 'C3', 'C4', 'C5', 'C6', 'C7', 'C8', 'C9'], new Map([['c0X', 'a']]), [1, 1]);
    expect([r.matched, r.notFound]).toEqual([0, 1]);
    expect(r.seeds[0].seeds).toBe(3);
  });

  it('trains a persona its known members lift to min_seeds, and skips one they take below it, saying why', () => {
    const skipped = { ...seedsOf('a', [0], 10), status: 'skipped' as const, reason: 'too few' };
    const lifted = withKnownSeeds([skipped, rule[1]], ids, new Map([['C3', 'a'], ['C4', 'a']]), [3, 2]);
    expect([lifted.seeds[0].status, lifted.seeds[0].seeds, lifted.seeds[0].reason]).toEqual(['ok', 3, undefined]);
    const taken = withKnownSeeds(rule, ids, new Map([['C6', null]]), [1, 2]);
    expect([taken.seeds[1].status, taken.seeds[1].seeds]).toEqual(['skipped', 1]);
    expect(taken.seeds[1].reason).toBe("1 seed customers (the rule's 2, 1 known to be another persona or none taken out), below min_seeds 2: loosen the key drivers, lower min_seeds or add known members");
  });

  it('never leaves a known member out as mislabelled, even one another persona scores higher or its own model lowest', () => {
    const n = 40;
    const masks = [Uint8Array.from({ length: n }, (_, i) => (i < 20 ? 1 : 0)), Uint8Array.from({ length: n }, (_, i) => (i >= 20 ? 1 : 0))];
    // Persona 0's seeds 0..19 scored i / 20 by their own model; customer 3 and 4 scored higher by persona 1's.
    const scores = [Float64Array.from({ length: n }, (_, i) => (i < 20 ? i / 20 : 0)), Float64Array.from({ length: n }, (_, i) => (i === 3 || i === 4 ? 0.9 : i >= 20 ? 0.5 : 0))];
    const plain = mislabelledSeeds(masks, scores, scores, 0.2);
    expect(ones(plain.excluded[0])).toEqual([0, 1, 2, 3, 4]);
    // Claimed: the seeds another persona's model scores higher (3 and 4), not those left out for their low score alone.
    expect(plain.claimed).toEqual([2, 0]);
    expect(plain.claimedBy).toEqual([[0, 2], [0, 0]]);
    const keep = new Uint8Array(n);
    keep[1] = keep[3] = 1;
    const kept = mislabelledSeeds(masks, scores, scores, 0.2, [keep]);
    expect(ones(kept.excluded[0])).toEqual([0, 2, 4]);
    expect(kept.counts[0]).toBe(3);
    expect(kept.claimed).toEqual([1, 0]);
    expect(kept.excluded[1]).toEqual(plain.excluded[1]);
  });

  it('trains on a known member outside the training sample, scored by the fold model that did not see it', async () => {
    const rows = 1500;
    const rng = new Random(5);
    const klass = Uint8Array.from({ length: rows }, () => rng.int(2));
    const names = ['a', 'b', 'c'];
    const columns = names.map((_, j) => Float32Array.from(klass, (k) => rng.normal(k === 1 && j < 2 ? 2 : 0, 1)));
    const design: DesignMatrix = { rows, columns, names, sources: names };
    const options = { ...TRAIN_DEFAULTS, folds: 2, unlabeledPerSeed: 1000, relatedCorrelation: 0, trainingCustomers: 600, foldsOnly: true, workers: 1, learner: { kind: 'gbdt' as const, params: { numTrees: 10, numLeaves: 4, maxDepth: 2, learningRate: 0.2, minDataInLeaf: 10 } } };
    const sample = trainingSample(rows, options)!;
    const seedMask = Uint8Array.from(klass, (k, i) => (k === 1 && sample[i] && i % 3 === 0 ? 1 : 0));
    // Forty members outside the sample, known.
    const knownMembers = new Uint8Array(rows);
    let outside = 0;
    for (let i = 0; i < rows && outside < 40; i++) if (klass[i] === 1 && !sample[i]) {
      knownMembers[i] = seedMask[i] = 1;
      outside++;
    }
    const [m] = await trainPersonas(design, [{ id: 'p', seedMask, ruleFeatures: [], knownMembers }], options);
    // The training rows: the sample's 600 and the 40 known members.
    expect(m.calibration.reduce((s, b) => s + b.count, 0)).toBe(640);
    // Each scored by its own fold's model (a customer no fold model scored would be 0).
    const scores = Array.from(knownMembers.keys()).filter((i) => knownMembers[i]).map((i) => m.oofScores[i]);
    expect(scores.every((s) => s > 0 && s <= 1)).toBe(true);
    // Without them marked known, members outside the sample are not trained on.
    const [plain] = await trainPersonas(design, [{ id: 'p', seedMask, ruleFeatures: [] }], options);
    expect(plain.calibration.reduce((s, b) => s + b.count, 0)).toBe(600);
  }, 60_000);
});
