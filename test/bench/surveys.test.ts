// The survey benchmark (bench/surveys.ts) on a test run of the demo base: sizes corrected by random
// samples of its customers against the truth, over draws, with the product's own evaluation.
import { describe, expect, inject, it } from 'vitest';
import { surveyFigures, surveyRows } from '../../bench/surveys.ts';

const runs = inject('runs');

describe('bench/surveys.ts', () => {
  it('draws random samples of the base and says how near the corrected sizes come to the truth', async () => {
    const [small, census] = await surveyFigures(runs.data, runs.a, [300, 1500], 30);
    expect(small).toMatchObject({ sample: 300, draws: 30, flagged: expect.any(Number) });
    // The sizes of this small test run are far off; a survey of a fifth of the base brings them near.
    expect(small.correctedError.mean).toBeLessThan(small.modelsError / 2);
    expect(small.intervalHeld).toBeGreaterThan(0.8);
    // Every customer surveyed: the corrected sizes are the true shares, the intervals of no width.
    expect(census.correctedError.max).toBeLessThan(1e-6);
    expect(census.meanHalfWidth).toBeLessThan(1e-9);
    expect(surveyRows('demo', [small])[0]).toMatch(/^\| demo \| 300 \| [\d.]+ \| [\d.]+ \(max [\d.]+\) \| [\d.]+ \| [\d.]+ \(max [\d.]+\) \| [\d.]+ \| [\d.]+ \| [\d.]+ \|$/);
  }, 60_000);
});
