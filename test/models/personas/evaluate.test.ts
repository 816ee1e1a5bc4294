// A run's labels checked against known customers: the Wilson interval, how the persona column
// is read (ids, labels, none, empty), its mistakes named with their lines, and the figures of a
// small hand-made case.
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.ts';
import { evaluateKnown, evaluateRows, idKey, knownPersonas, type LabelSource, type RunLabel } from '../../../src/models/personas/evaluate.ts';
import { chiSquareTail, correctedSizes, SAMPLE_CHECK_P, sampleCheck, sampleWarning, SurveyPlanner, wilson } from '../../../src/models/personas/survey.ts';
import { Random } from '../../../src/random.ts';

const PERSONAS = [
  { id: 'urban_digital', label: 'Léa, jeune urbaine connectée' },
  { id: 'affluent_senior', label: 'Philippe, senior aisé' },
];
const row = (customerId: string, value: string, line: number) => ({ customerId, value, line });

describe('the Wilson interval', () => {
  it('gives the textbook 95 % intervals', () => {
    const [lo, hi] = wilson(8, 10);
    expect(lo).toBeCloseTo(0.4902, 4);
    expect(hi).toBeCloseTo(0.9433, 4);
    const [a, b] = wilson(0, 20);
    expect(a).toBe(0);
    expect(b).toBeCloseTo(0.1611, 4);
    expect(wilson(10, 10)[1]).toBe(1);
    expect(wilson(0, 0)).toEqual([0, 1]);
  });
});

describe('ids written otherwise', () => {
  it('reduce numeric ids to their digits without leading zeros or a trailing .0, others to lower case', () => {
    expect(['00042', '42', '42.0', '042.00'].map(idKey)).toEqual(['n:42', 'n:42', 'n:42', 'n:42']);
    expect(['Jean.Dupont@Mail.fr', 'jean.dupont@mail.fr', 'D000001', 'ÉLISE'].map(idKey)).toEqual(['l:jean.dupont@mail.fr', 'l:jean.dupont@mail.fr', 'l:d000001', 'l:Élise']);
    expect(idKey('42a')).toBe('l:42a');
  });

  it('match a known customer to the one customer of the run written alike, and leave an id that names two alone', async () => {
    const run = new Map<string, RunLabel>([
      ['00042', { persona: 'urban_digital', scores: [0.9, 0.1] }],
      ['ABC', { persona: 'affluent_senior', scores: [0.1, 0.9] }],
      ['7', { persona: null, scores: [0.2, 0.2] }],
      ['007', { persona: 'urban_digital', scores: [0.8, 0.1] }],
    ]);
    const source: LabelSource = {
      exact: async (ids) => new Map(ids.filter((id) => run.has(id)).map((id) => [id, run.get(id)!])),
      byKey: async (keys) => {
        const out = new Map<string, { id: string; label: RunLabel }[]>();
        for (const [id, label] of run) if (keys.includes(idKey(id))) out.set(idKey(id), [...(out.get(idKey(id)) ?? []), { id, label }]);
        return out;
      },
    };
    const rows = [row('42', 'urban_digital', 2), row('abc', 'affluent_senior', 3), row('0007', 'urban_digital', 4), row('ABC', 'affluent_senior', 5)];
    const e = await evaluateRows(rows, { modelVersion: 'v1', personas: PERSONAS.map((p) => ({ ...p, description: '', status: 'trained' as const })) }, { personas: [] }, { file: 'k.csv' }, source);
    // 42 is 00042; abc is ABC; 0007 names both 7 and 007: not in the run.
    expect(e).toMatchObject({ customers: 4, matched: 3, reformattedIds: 2, notInRun: 1, notInRunIds: ['0007'], correct: 3 });
  });
});

describe('the known personas file', () => {
  it('reads a persona by its id or its label, in any case and with or without accents, and none in words', () => {
    const { known, empty, repeated } = knownPersonas(
      [row('1', 'urban_digital', 2), row('2', 'LEA, JEUNE URBAINE CONNECTEE', 3), row('3', 'Philippe, senior aisé', 4), row('4', 'Aucun', 5), row('5', '', 6), row('1', 'Urban_Digital', 7)],
      PERSONAS,
      'known.csv',
    );
    expect([...known]).toEqual([['1', 'urban_digital'], ['2', 'urban_digital'], ['3', 'affluent_senior'], ['4', null]]);
    expect([empty, repeated]).toEqual([1, 1]);
    // An empty persona read as none, as truth.csv writes it.
    expect(knownPersonas([row('5', '', 2)], PERSONAS, 'truth.csv', 'none').known.get('5')).toBeNull();
  });

  it('names the lines of values that are no persona, of a customer given two, and of an empty id', () => {
    const bad = (rows: ReturnType<typeof row>[]) => {
      try {
        knownPersonas(rows, PERSONAS, 'known.csv');
      } catch (e) {
        expect(e).toBeInstanceOf(InputError);
        return (e as Error).message;
      }
      throw new Error('expected an error');
    };
    expect(bad([row('1', 'Léa', 2), row('2', 'urban_digital', 3), row('3', 'Bob', 4)])).toBe(
      `known.csv: column persona: 2 value(s) name no persona of the run (line 2 'Léa', line 4 'Bob'); expected a persona's id or label (urban_digital "Léa, jeune urbaine connectée", affluent_senior "Philippe, senior aisé") or none (none, aucun, aucune...)`,
    );
    expect(bad([row('1', 'urban_digital', 2), row('1', 'none', 9)])).toBe("known.csv: customer '1' is given two personas: urban_digital (line 2) and none (line 9)");
    expect(bad([row('', 'urban_digital', 5)])).toBe('known.csv: line 5, column customer_id: empty (every row names a customer)');
    expect(bad([row('1', '', 2)])).toMatch(/^known\.csv: no row gives a customer's persona \(1 row\(s\) with the persona column empty; --empty none/);
  });
});

describe('a run checked against known customers', () => {
  it('counts per persona the known, the assigned and the right, with the interval against the expected precision', () => {
    // 12 known urban customers, 10 of them assigned urban; 3 known none, 2 of them assigned urban;
    // 2 known seniors, one assigned senior, one unassigned; one known customer not in the run.
    const known = new Map<string, string | null>();
    const labels = new Map<string, RunLabel>();
    for (let i = 0; i < 12; i++) {
      known.set(`u${i}`, 'urban_digital');
      labels.set(`u${i}`, { persona: i < 10 ? 'urban_digital' : null, scores: [0.8, 0.1] });
    }
    for (let i = 0; i < 3; i++) {
      known.set(`n${i}`, null);
      labels.set(`n${i}`, { persona: i < 2 ? 'urban_digital' : null, scores: [0.5, 0.1] });
    }
    known.set('s0', 'affluent_senior');
    labels.set('s0', { persona: 'affluent_senior', scores: [0.1, 0.9] });
    known.set('s1', 'affluent_senior');
    labels.set('s1', { persona: null, scores: [0.1, NaN] });
    known.set('gone', 'urban_digital');
    const e = evaluateKnown(known, (id) => labels.get(id), [{ id: 'urban_digital', expectedPrecision: 0.9 }, { id: 'affluent_senior', expectedPrecision: 0.88 }], { file: 'k.csv', modelVersion: 'v1', empty: 0, repeated: 0 });
    expect(e).toMatchObject({ customers: 18, matched: 17, notInRun: 1, notInRunIds: ['gone'], knownNone: 3, assigned: 13, correct: 11 });
    expect(e.coverage).toBeCloseTo(13 / 17, 12);
    expect(e.precision).toBeCloseTo(11 / 13, 12);
    const [urban, senior] = e.personas;
    expect(urban).toMatchObject({ persona: 'urban_digital', known: 12, assigned: 12, correct: 10, expectedPrecision: 0.9, verdict: 'consistent' });
    expect(urban.precision).toBeCloseTo(10 / 12, 12);
    expect(urban.precisionInterval).toEqual(wilson(10, 12));
    expect(urban.recall).toBeCloseTo(10 / 12, 12);
    expect(urban.knownShare).toBeCloseTo(12 / 17, 12);
    expect(urban.meanProbability).toBeCloseTo((12 * 0.8 + 3 * 0.5 + 2 * 0.1) / 17, 12);
    // One assigned: too few to judge its expected precision by; a missing score counts nothing.
    expect(senior).toMatchObject({ known: 2, assigned: 1, correct: 1, precision: 1, recall: 0.5, verdict: 'too few' });
    expect(senior.meanProbability).toBeCloseTo((12 * 0.1 + 3 * 0.1 + 0.9) / 17, 12);
    expect(e.macroF1).toBeCloseTo(((10 / 12) + (2 * 1 * 0.5) / 1.5) / 2, 12);
    // The assigned by confidence: the urban customers at 0.8 (all right), the none ones at 0.5 (wrong), the senior at 0.9.
    expect(e.calibration).toEqual([
      { from: 0.5, to: 0.6, customers: 2, meanConfidence: 0.5, right: 0 },
      { from: 0.8, to: 0.9, customers: 10, meanConfidence: expect.closeTo(0.8, 12), right: 1 },
      { from: 0.9, to: 1, customers: 1, meanConfidence: 0.9, right: 1 },
    ]);
    expect(e.confusion).toEqual([
      { known: 'urban_digital', assigned: 'urban_digital', customers: 10 },
      { known: null, assigned: 'urban_digital', customers: 2 },
      { known: 'urban_digital', assigned: null, customers: 2 },
      { known: 'affluent_senior', assigned: 'affluent_senior', customers: 1 },
      { known: 'affluent_senior', assigned: null, customers: 1 },
      { known: null, assigned: null, customers: 1 },
    ]);
    // An expected precision above the interval is optimistic; below it, pessimistic.
    const judge = (expected: number) => evaluateKnown(known, (id) => labels.get(id), [{ id: 'urban_digital', expectedPrecision: expected }, { id: 'affluent_senior', expectedPrecision: null }], { file: 'k.csv', modelVersion: 'v1', empty: 0, repeated: 0 }).personas[0].verdict;
    expect([judge(0.99), judge(0.4), judge(0.7)]).toEqual(['optimistic', 'pessimistic', 'consistent']);
    // No known customer in the run: said, with the ids.
    expect(() => evaluateKnown(new Map([['x', 'urban_digital']]), () => undefined, [], { file: 'k.csv', modelVersion: 'v1', empty: 0, repeated: 0 })).toThrow(/k\.csv: none of its 1 customers is in the run's assignment file \('x'\)/);
  });
});

describe('sizes corrected by a random sample of known customers', () => {
  it('gives the textbook chi-square tail probabilities', () => {
    expect(chiSquareTail(3.841, 1)).toBeCloseTo(0.05, 4);
    expect(chiSquareTail(6.635, 1)).toBeCloseTo(0.01, 4);
    expect(chiSquareTail(12.592, 6)).toBeCloseTo(0.05, 4);
    expect(chiSquareTail(2.204, 6)).toBeCloseTo(0.9, 3);
    expect(chiSquareTail(46.963, 20)).toBeCloseTo(0.0006, 4);
    expect(chiSquareTail(0, 3)).toBe(1);
    expect(chiSquareTail(400, 6)).toBeLessThan(1e-80);
  });

  /**
   * A base of 40,000 customers, 20 % of them members of a persona whose model is off in a way no
   * label-free check sees: half its members get 0.9 and the other half 0.1, the non-members 0.15,
   * so the mean probability says 0.22 for a true 0.20.
   */
  const base = (() => {
    const rng = new Random(5);
    const customers = Array.from({ length: 40_000 }, (_, i) => {
      const member = rng.next() < 0.2;
      return { id: `c${i}`, member, score: member ? (rng.next() < 0.5 ? 0.9 : 0.1) : 0.15 };
    });
    const truth = customers.filter((c) => c.member).length / customers.length;
    const estimated = customers.reduce((s, c) => s + c.score, 0) / customers.length;
    const assigned = customers.filter((c) => c.score > 0.5).length;
    return { customers, truth, estimated, labels: [assigned, customers.length - assigned] };
  })();
  const evaluateSample = (ids: string[]) => {
    const byId = new Map(base.customers.map((c) => [c.id, c]));
    const known = new Map(ids.map((id) => [id, byId.get(id)!.member ? 'urban_digital' : null]));
    return evaluateKnown(
      known,
      (id) => {
        const c = byId.get(id)!;
        return { persona: c.score > 0.5 ? 'urban_digital' : null, scores: [c.score] };
      },
      [{ id: 'urban_digital', expectedPrecision: 0.9 }],
      { file: 'survey.csv', modelVersion: 'v1', empty: 0, repeated: 0, base: { prevalence: [base.estimated], labels: base.labels } },
    );
  };

  it('corrects the models\' estimate to the true size, its 95 % interval holding it about 95 times in 100', () => {
    expect(base.estimated - base.truth).toBeGreaterThan(0.015);
    const rng = new Random(11);
    let held = 0;
    let error = 0;
    const draws = 200;
    for (let d = 0; d < draws; d++) {
      const ids = new Set<string>();
      while (ids.size < 1000) ids.add(`c${rng.int(base.customers.length)}`);
      const e = evaluateSample([...ids]);
      expect(e.randomSample).toBe(true);
      const [size] = e.sizes;
      expect(size.estimated).toBe(base.estimated);
      if (size.interval[0] <= base.truth && base.truth <= size.interval[1]) held++;
      error += Math.abs(size.corrected - base.truth);
      // The sample's labels are spread as the base's.
      if (d < 20) expect(e.sampleCheck!.random).toBe(true);
    }
    expect(held / draws).toBeGreaterThan(0.9);
    expect(held / draws).toBeLessThan(0.99);
    // Unbiased, and nearer than the models alone.
    expect(error / draws).toBeLessThan((base.estimated - base.truth) / 2);
  });

  it('holds exactly for a census, and flags a sample chosen among the assigned', () => {
    const census = evaluateSample(base.customers.map((c) => c.id));
    expect(census.sizes[0].corrected).toBeCloseTo(base.truth, 12);
    expect(census.sizes[0].interval[0]).toBeCloseTo(base.truth, 12);
    expect(census.sizes[0].interval[1]).toBeCloseTo(base.truth, 12);
    expect(census.sizes[0].sampleShare).toBeCloseTo(base.truth, 12);
    // Interviewees recruited among the customers the run assigned: not a random sample, and said.
    const chosen = evaluateSample(base.customers.filter((c) => c.score > 0.5).slice(0, 300).map((c) => c.id));
    expect(chosen.sampleCheck!.random).toBe(false);
    expect(chosen.sampleCheck!.p).toBeLessThan(SAMPLE_CHECK_P);
    expect(sampleWarning(chosen.sampleCheck!)).toMatch(/^the known customers' labels are spread unlike the base's \(chi-square [\d.]+ on 1 degrees of freedom, p (= [\d.]+e-\d+|< 1e-300)\): they do not look drawn at random/);
    // Without a base, no sizes: the known customers are not said to be a random sample.
    const plain = evaluateKnown(new Map([['c1', null]]), () => ({ persona: null, scores: [0.1] }), [{ id: 'urban_digital', expectedPrecision: 0.9 }], { file: 'k.csv', modelVersion: 'v1', empty: 0, repeated: 0 });
    expect([plain.randomSample, plain.sizes, plain.sampleCheck]).toEqual([false, [], null]);
  });

  it('weighs each label\'s gaps by its share of the base, leaves out a persona without an estimate, and computes the interval as written', () => {
    // Four labels: 30, 60, 20 and 10 customers in the base; 6, 4, 1 and 0 known customers.
    const strata = { sample: [6, 4, 1, 0], base: [30, 60, 20, 10] };
    const sizes = correctedSizes(
      [
        { persona: 'a', estimated: 0.3, members: 3, sum: [0.6, -0.2, 0.4, 0], squares: [1.5, 1.0, 0.16, 0] },
        { persona: 'b', estimated: null, members: 0, sum: [0, 0, 0, 0], squares: [0, 0, 0, 0] },
      ],
      strata,
    );
    expect(sizes).toHaveLength(1);
    const w = [30 / 120, 60 / 120, 20 / 120];
    const corrected = 0.3 + w[0] * 0.1 + w[1] * -0.05 + w[2] * 0.4;
    // The label with one known customer takes the whole sample's variance; the one with none adds nothing.
    const pooled = (2.66 - (0.8 * 0.8) / 11) / 10;
    const variance = ((w[0] ** 2 * ((1.5 - 6 * 0.01) / 5)) / 6) * (1 - 6 / 30) + ((w[1] ** 2 * ((1.0 - 4 * 0.0025) / 3)) / 4) * (1 - 4 / 60) + ((w[2] ** 2 * pooled) / 1) * (1 - 1 / 20);
    expect(sizes[0].corrected).toBeCloseTo(corrected, 12);
    expect(sizes[0].interval[0]).toBeCloseTo(corrected - 1.96 * Math.sqrt(variance), 12);
    expect(sizes[0].interval[1]).toBeCloseTo(corrected + 1.96 * Math.sqrt(variance), 12);
    expect(sizes[0].sampleShare).toBeCloseTo(3 / 11, 12);
    expect(sizes[0].sampleInterval).toEqual(wilson(3, 11));
    // The base's share whose label no known customer has.
    expect(sampleCheck(strata.sample, strata.base).unsampled).toBeCloseTo(10 / 120, 12);
  });

  it('stays right when those who answer do so at a rate that depends on their label', () => {
    // Assigned customers answer four times as often as the unassigned: a plain mean of the gaps
    // would over-weigh them; weighed by label, the correction holds.
    const rng = new Random(21);
    let error = 0;
    const draws = 100;
    for (let d = 0; d < draws; d++) {
      const ids: string[] = [];
      for (const c of base.customers) if (rng.next() < (c.score > 0.5 ? 0.08 : 0.02)) ids.push(c.id);
      const e = evaluateSample(ids);
      expect(e.sampleCheck!.random).toBe(false);
      error += e.sizes[0].corrected - base.truth;
    }
    expect(Math.abs(error / draws)).toBeLessThan(0.004);
  });
});

describe('a survey planned before it is drawn', () => {
  it('gives each persona the half-width of the formula, and the fewest answers for a half-width', () => {
    const planner = new SurveyPlanner(['a', 'b']);
    // Label a: 2 customers; unassigned: 2; b's probability unknown for one.
    planner.add('a', [0.8, 0.1]);
    planner.add('a', [0.6, null]);
    planner.add(null, [0.2, 0.5]);
    planner.add(null, [0.1, 0.3]);
    expect(planner.customers).toBe(4);
    const va = 0.5 * ((0.8 * 0.2 + 0.6 * 0.4) / 2) + 0.5 * ((0.2 * 0.8 + 0.1 * 0.9) / 2);
    const vb = 0.5 * ((0.1 * 0.9) / 2) + 0.5 * ((0.5 * 0.5 + 0.3 * 0.7) / 2);
    const [a, b] = planner.halfWidths(2);
    expect(a.persona).toBe('a');
    expect(a.halfWidth).toBeCloseTo(1.96 * Math.sqrt((va / 2) * (1 - 2 / 4)), 12);
    expect(b.halfWidth).toBeCloseTo(1.96 * Math.sqrt((vb / 2) * (1 - 2 / 4)), 12);
    // A census knows every size exactly.
    expect(planner.halfWidths(4).map((w) => w.halfWidth)).toEqual([0, 0]);
  });

  it('plans the half-width the survey then gives, where the probabilities are calibrated', () => {
    // 20,000 customers in three labels, each a member with its probability (calibrated by construction).
    const rng = new Random(5);
    const labels = ['a', 'b', null];
    const base = Array.from({ length: 20_000 }, (_, i) => {
      const label = labels[i % 3];
      const p = label === 'a' ? 0.6 + 0.35 * rng.next() : label === 'b' ? 0.05 + 0.2 * rng.next() : 0.3 * rng.next();
      return { label, p, member: rng.next() < p ? 1 : 0 };
    });
    const planner = new SurveyPlanner(['a']);
    for (const c of base) planner.add(c.label, [c.p]);
    const answers = 800;
    const [{ halfWidth: planned }] = planner.halfWidths(answers);
    const strataOf = (label: string | null) => labels.indexOf(label);
    const estimated = base.reduce((t, c) => t + c.p, 0) / base.length;
    let widths = 0;
    const draws = 200;
    for (let d = 0; d < draws; d++) {
      const sample = new Set<number>();
      while (sample.size < answers) sample.add(rng.int(base.length));
      const gaps = { persona: 'a', estimated, members: 0, sum: [0, 0, 0], squares: [0, 0, 0] };
      const counts = [0, 0, 0];
      for (const i of sample) {
        const h = strataOf(base[i].label);
        const gap = base[i].member - base[i].p;
        gaps.sum[h] += gap;
        gaps.squares[h] += gap * gap;
        gaps.members += base[i].member;
        counts[h]++;
      }
      const [size] = correctedSizes([gaps], { sample: counts, base: [0, 1, 2].map((h) => base.filter((c) => strataOf(c.label) === h).length) });
      widths += (size.interval[1] - size.interval[0]) / 2;
    }
    expect(planned).toBeGreaterThan(0.02);
    expect(widths / draws / planned).toBeGreaterThan(0.95);
    expect(widths / draws / planned).toBeLessThan(1.05);
    // The fewest answers for that half-width are those planned for it.
    const needed = planner.answersFor(planned);
    expect(Math.abs(needed - answers)).toBeLessThanOrEqual(1);
    expect(planner.halfWidths(needed)[0].halfWidth).toBeLessThanOrEqual(planned);
    expect(planner.halfWidths(needed - 1)[0].halfWidth).toBeGreaterThan(planned);
    // A half-width no survey short of a census gives: the whole base.
    expect(planner.answersFor(1e-9)).toBe(20_000);
  });
});

