// Sizes corrected by a survey: how near each persona's size comes to the truth when a random
// sample of the base's customers says its persona (personas evaluate --random-sample), against
// the models' estimate alone and the sample's own shares, over many draws:
//   npx tsx bench/surveys.ts --runs OUT1,OUT2 --worlds W1,W2 [--sizes 300,1000,2000] [--draws 100]
// OUT is a run directory of the world (personas run, or bench/projection.ts's OUT/<world>/ours).
// For each sample size: the mean and the largest sum over personas of |size - true share| of the
// corrected sizes, of the sample alone and of the models (the same every draw), how often each
// persona's 95 % interval holds its true share, the interval's mean half-width, and how often
// the sample check (chi-square of the sample's labels against the base's) takes a random sample
// for one that is not. The product's own code computes the sizes (evaluateRows).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManifestSchema, QuantificationSchema, RunMetricsSchema } from '../src/models/artefacts.ts';
import { evaluateRows, type LabelSource, type RunLabel } from '../src/models/personas/evaluate.ts';
import { Random } from '../src/random.ts';
import { arg, trueShares } from './worlds.ts';

export interface SurveyFigures {
  sample: number;
  draws: number;
  modelsError: number;
  correctedError: { mean: number; max: number };
  /** Share of draws whose corrected sizes are within issue 4's 0.05 of the truth (summed over personas). */
  withinTarget: number;
  sampleError: { mean: number; max: number };
  /** Share of (draw, persona) whose 95 % interval holds the true share. */
  intervalHeld: number;
  meanHalfWidth: number;
  /** Share of draws the sample check took for not random (a false alarm: every draw is random). */
  flagged: number;
}

const json = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as unknown;

/** The size figures of a run against its world's truth, for samples of each size drawn `draws` times. */
export async function surveyFigures(world: string, runDir: string, sizes: number[], draws: number): Promise<SurveyFigures[]> {
  const manifest = ManifestSchema.parse(json(join(runDir, 'model', 'manifest.json')));
  const metrics = RunMetricsSchema.parse(json(join(runDir, 'metrics.json')));
  const quantification = QuantificationSchema.parse(json(join(runDir, 'quantification.json')));
  const ids = manifest.personas.map((p) => p.id);
  // The run's labels, read once.
  const [header, ...lines] = readFileSync(join(runDir, 'assignments.csv'), 'utf8').trim().split('\n');
  const at = ids.map((id) => header.split(',').indexOf(`score_${id}`));
  const labels = new Map<string, RunLabel>();
  for (const line of lines) {
    const f = line.split(',');
    labels.set(f[0], { persona: f[1] || null, scores: at.map((k) => (k >= 0 ? Number(f[k]) : NaN)) });
  }
  const source: LabelSource = {
    exact: async (asked) => new Map(asked.flatMap((id) => (labels.has(id) ? [[id, labels.get(id)!] as const] : []))),
    byKey: async () => new Map(),
  };
  const truth = readFileSync(join(world, 'truth.csv'), 'utf8').trim().split('\n').slice(1).map((l) => [l.slice(0, l.indexOf(',')), l.slice(l.indexOf(',') + 1)] as const);
  const shares = trueShares(world);
  const error = (size: (persona: string) => number) => ids.reduce((s, id) => s + Math.abs(size(id) - (shares.get(id) ?? 0)), 0);
  const estimated = new Map(quantification.personas.map((p) => [p.persona, p.estimatedPrevalence ?? 0]));
  const figures: SurveyFigures[] = [];
  for (const n of sizes) {
    const rng = new Random(n);
    const corrected: number[] = [];
    const alone: number[] = [];
    let held = 0;
    let halfWidth = 0;
    let intervals = 0;
    let flagged = 0;
    for (let d = 0; d < draws; d++) {
      const picked = new Set<number>();
      while (picked.size < Math.min(n, truth.length)) picked.add(rng.int(truth.length));
      const rows = [...picked].map((i, k) => ({ customerId: truth[i][0], value: truth[i][1], line: k + 2 }));
      const e = await evaluateRows(rows, manifest, metrics, { file: 'survey', empty: 'none', randomSample: true }, source, quantification);
      const bySize = new Map(e.sizes.map((z) => [z.persona, z]));
      corrected.push(error((id) => bySize.get(id)?.corrected ?? 0));
      alone.push(error((id) => bySize.get(id)?.sampleShare ?? 0));
      for (const z of e.sizes) {
        const t = shares.get(z.persona) ?? 0;
        if (z.interval[0] <= t && t <= z.interval[1]) held++;
        halfWidth += (z.interval[1] - z.interval[0]) / 2;
        intervals++;
      }
      if (e.sampleCheck && !e.sampleCheck.random) flagged++;
    }
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    figures.push({
      sample: n,
      draws,
      modelsError: error((id) => estimated.get(id) ?? 0),
      correctedError: { mean: mean(corrected), max: Math.max(...corrected) },
      withinTarget: corrected.filter((v) => v < 0.05).length / corrected.length,
      sampleError: { mean: mean(alone), max: Math.max(...alone) },
      intervalHeld: held / intervals,
      meanHalfWidth: halfWidth / intervals,
      flagged: flagged / draws,
    });
  }
  return figures;
}

/** The figures as a Markdown table's rows. */
export function surveyRows(world: string, figures: SurveyFigures[]): string[] {
  const f = (v: number) => v.toFixed(3);
  return figures.map(
    (s) =>
      `| ${world} | ${s.sample} | ${f(s.modelsError)} | ${f(s.correctedError.mean)} (max ${f(s.correctedError.max)}) | ${f(s.withinTarget)} | ${f(s.sampleError.mean)} (max ${f(s.sampleError.max)}) | ${f(s.intervalHeld)} | ${f(s.meanHalfWidth)} | ${f(s.flagged)} |`,
  );
}

export const SURVEY_HEADER = [
  '| world | surveyed | size error, models | corrected by the survey | draws under 0.05 | the survey alone | 95 % intervals holding the truth | mean half-width | draws flagged not random |',
  '|---|---|---|---|---|---|---|---|---|',
];

if (import.meta.url === `file://${process.argv[1]}`) {
  const runs = arg('runs', '').split(',').filter(Boolean);
  const worlds = arg('worlds', '').split(',').filter(Boolean);
  if (!runs.length || runs.length !== worlds.length) throw new Error('give --runs OUT1,... and --worlds W1,... (one world per run)');
  const sizes = arg('sizes', '300,1000,2000').split(',').map(Number);
  const draws = Number(arg('draws', '100'));
  const rows: string[] = [];
  for (let k = 0; k < runs.length; k++) {
    const t0 = performance.now();
    const figures = await surveyFigures(worlds[k], runs[k], sizes, draws);
    for (const s of figures) console.log(JSON.stringify({ world: worlds[k], ...s }));
    console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    rows.push(...surveyRows(worlds[k], figures));
  }
  for (const line of [...SURVEY_HEADER, ...rows]) console.log(line);
}
