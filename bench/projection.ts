// Projection on benchmark worlds, ours against the reference, measured in one sitting:
//   npx tsx bench/projection.ts --worlds W1,W2,... [--out DIR] [--train JSON] [--references]
// For each world (made by ../shared/bench/world.mjs --features): features, seeds, models and
// assignment as `personas run` does them (in-process timer, features included), written to
// OUT/<world>/ours; scored with ../shared/bench/evaluate.mjs; the prevalence of
// quantification.json compared with truth.csv (sum over personas of |estimated - true share|).
// --train: TrainOptions overrides as JSON, e.g. '{"twinsPerSeed":1,"twinSearch":"model"}'.
// --diagnose: also print, against truth.csv (bench only, never in the product), each persona's
// estimated and true label frequency c and prevalence, the prevalence error other estimators of c
// would give on the same out-of-fold scores, and the best macro-F1 any per-persona threshold
// could reach on those scores (cut chosen on the truth) at a given per-persona precision, each
// persona's AUC against the truth, and the product's assignment on its probabilities calibrated
// on the truth (isotonic) at the file's target and at 0.85: what calibration alone could reach.
// --surveys: also the sizes corrected by random samples of 300, 1,000 and 2,000 of the world's
// customers whose persona is known, 100 draws each (bench/surveys.ts: personas evaluate --random-sample).
// --references: also (--only-references: only) ../shared/bench/reference.py --variant seeds | no-rule-cols | oracle
// (--trees 100 --folds 3, as our defaults; --reference-threads N, default 2), timed the same way;
// skipped with a message when /usr/bin/python3 lacks scikit-learn, XGBoost, pandas or PyYAML.
// A world directory that holds no world yet is generated first (--customers N, default 100000;
// the seed is the number ending the directory's name; a name ending otherwise is an error).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { buildFeatures } from '../src/features/index.ts';
import { loadPersonaFile, projectPersonas, selectSeeds, writeProjection, type Projection } from '../src/models/personas/index.ts';
import type { FeatureTable } from '../src/features/table.ts';
import { weightedAuc, type TrainOptions } from '../src/models/personas/train.ts';
import { assignPersonas, autoThreshold } from '../src/models/personas/assign.ts';
import { SURVEY_HEADER, surveyFigures, surveyRows } from './surveys.ts';
import { arg, ensureWorlds, evaluateWorld, pythonReferencesMissing, sharedBench, trueShares } from './worlds.ts';

const benchDir = sharedBench();
const worlds = arg('worlds', arg('world', '.tmp/w100k-1')).split(',');
const outRoot = arg('out', '.tmp/projection');
const train = JSON.parse(arg('train', '{}')) as Partial<TrainOptions>;
const withReferences = process.argv.includes('--references') || process.argv.includes('--only-references');
const withOurs = !process.argv.includes('--only-references');
const referenceThreads = arg('reference-threads', '2');
const diagnoseRun = process.argv.includes('--diagnose');
const withSurveys = process.argv.includes('--surveys');
const surveyTable: string[] = [];
// A world path that does not exist yet is generated (100,000 customers unless --customers; the seed
// is the number ending its name, as in .tmp/w100k-2).
ensureWorlds(worlds, Number(arg('customers', '100000')));
const referencesMissing = withReferences ? pythonReferencesMissing(['sklearn', 'xgboost', 'pandas', 'yaml']) : null;

interface Scored {
  world: string;
  method: string;
  macroF1: number;
  precision: number;
  coverage: number;
  prevalenceError: number | null;
  seconds: number;
  peakRssMb?: number;
}

const results: Scored[] = [];

async function runOurs(world: string, name: string): Promise<void> {
  const out = join(outRoot, name, 'ours');
  const t0 = performance.now();
  const personaFile = loadPersonaFile(join(world, 'personas.yaml'));
  const { table, asOf } = await buildFeatures({ dataDir: world, asOf: personaFile.spec.as_of });
  const projection = await projectPersonas({ table, personaFile, asOf, train });
  writeProjection(out, table, projection);
  const seconds = (performance.now() - t0) / 1000;
  const shares = trueShares(world);
  const prevalenceError = projection.quantification.personas
    .filter((row) => row.persona !== null)
    .reduce((s, row) => s + Math.abs((row.estimatedPrevalence ?? 0) - (shares.get(row.persona!) ?? 0)), 0);
  const e = evaluateWorld(world, join(out, 'assignments.csv'));
  results.push({ world: name, method: 'ours', macroF1: e.macro_f1, precision: e.precision, coverage: e.coverage, prevalenceError, seconds, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) });
  console.log(JSON.stringify({ ...results.at(-1), timings: projection.metrics.timings, c: projection.models.map((m) => +m.c.toFixed(3)), twins: projection.metrics.personas.map((p) => p.twins) }));
  if (diagnoseRun) diagnose(world, table, personaFile.spec, projection);
}

/** Label frequency and prevalence against the truth; other estimators of c; the threshold ceiling. */
function diagnose(world: string, table: FeatureTable, spec: Parameters<typeof selectSeeds>[1], projection: Projection): void {
  const truth = new Map(readFileSync(join(world, 'truth.csv'), 'utf8').trim().split('\n').slice(1).map((l) => [l.slice(0, l.indexOf(',')), l.slice(l.indexOf(',') + 1)]));
  const n = table.rows;
  const models = projection.models;
  const y = Int32Array.from(table.ids, (id) => models.findIndex((m) => m.id === truth.get(id)));
  const seeds = selectSeeds(table, spec);
  const rows = models.map((m, k) => {
    const mask = seeds.find((s) => s.id === m.id)!.mask;
    const s = m.oofScores;
    let seedCount = 0;
    let members = 0;
    let seedSum = 0;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      seedCount += mask[i];
      members += y[i] === k ? 1 : 0;
      if (mask[i]) seedSum += s[i];
      sum += s[i];
      sumSq += s[i] * s[i];
    }
    const seedScores = Float64Array.from(s.filter((_, i) => mask[i])).sort();
    const top = Float64Array.from(s).sort().reverse().subarray(0, Math.round(0.01 * n));
    return {
      persona: m.id,
      trueShare: members / n,
      seedShare: seedCount / n,
      c: { used: m.c, true: seedCount / Math.max(1, members), meanSeed: seedSum / seedCount, medianSeed: seedScores[Math.floor(seedScores.length / 2)], sWeighted: sumSq / sum, top1pc: top.reduce((a, b) => a + b, 0) / top.length },
    };
  });
  console.log(JSON.stringify({ world, diagnose: rows.map((r) => ({ persona: r.persona, trueShare: +r.trueShare.toFixed(4), c: Object.fromEntries(Object.entries(r.c).map(([k, v]) => [k, +v.toFixed(3)])) })) }));
  for (const est of ['used', 'true', 'meanSeed', 'medianSeed', 'sWeighted', 'top1pc'] as const) {
    const error = rows.reduce((a, r) => a + Math.abs(r.seedShare / r.c[est] - r.trueShare), 0);
    console.log(`  prevalence error of seed share / c with c = ${est}: ${error.toFixed(3)} (the run's own, mean s / prevalenceC, is in the table)`);
  }
  // Calibration where it matters: per persona, the mean probability of the customers assigned to it against their true share.
  const assigned = projection.assignment.persona;
  console.log(`  assigned: ${models.map((m, k) => {
    const j = projection.manifest.personas.findIndex((p) => p.id === m.id);
    let count = 0;
    let sum = 0;
    let right = 0;
    for (let i = 0; i < n; i++) if (assigned[i] === j) {
      count++;
      sum += m.probabilities[i];
      right += y[i] === k ? 1 : 0;
    }
    return `${m.id} ${count} expected ${(sum / Math.max(1, count)).toFixed(3)} true ${(right / Math.max(1, count)).toFixed(3)}`;
  }).join('; ')}`);
  // Ceiling: each customer to the persona of highest s / c (the persona models alone), then of
  // highest probability (condition views included, when the run has them); per persona the cut
  // (by truth) with the best F1 at a precision floor.
  ceilings('persona models, s / c', models.map((m) => Float64Array.from(m.oofScores, (s) => s / m.c)));
  if (models.some((m) => m.views?.length)) ceilings('probabilities, condition views included', models.map((m) => m.probabilities));
  // Ranking against the truth: each persona model's AUC and the final probabilities'.
  const member = (k: number) => Uint8Array.from(y, (v) => (v === k ? 1 : 0));
  console.log(`  AUC against the truth (persona model / final probability): ${models.map((m, k) => `${m.id} ${weightedAuc(m.oofScores, member(k)).toFixed(3)} / ${weightedAuc(m.probabilities, member(k)).toFixed(3)}`).join('; ')}`);
  // What perfect calibration of the same ranking would give: each persona's probabilities mapped
  // by isotonic regression onto the truth, then the product's own assignment (auto thresholds at
  // the file's target precision, its margin). Calibration cannot raise coverage beyond this.
  const rule = projection.manifest.assignment;
  for (const target of [rule.targetPrecision, 0.85]) {
    const calibrated = models.map((m, k) => isotonicOnTruth(m.probabilities, member(k)));
    const a = assignPersonas(calibrated, calibrated.map((p) => autoThreshold(p, target).threshold), rule.minMargin);
    console.log(`  probabilities calibrated on the truth, target precision ${target}: ${scoreAssignment(a.persona, y, models.length)}`);
  }
  function ceilings(what: string, values: Float64Array[]) {
    const best = new Int32Array(n).fill(-1);
    const value = new Float64Array(n);
    for (let i = 0; i < n; i++) for (const [k, v] of values.entries()) if (v[i] > value[i]) {
      value[i] = v[i];
      best[i] = k;
    }
    for (const floor of [0.75, 0.8, 0.85, 0.9]) {
      let assigned = 0;
      let correct = 0;
      const f1 = models.map((_, k) => {
        const order = Array.from(best.keys()).filter((i) => best[i] === k).sort((a, b) => value[b] - value[a]);
        const members = y.reduce((a, v) => a + (v === k ? 1 : 0), 0);
        let tp = 0;
        let top = { f: 0, m: 0, tp: 0 };
        order.forEach((i, m) => {
          if (y[i] === k) tp++;
          const precision = tp / (m + 1);
          const f = (2 * precision * (tp / members)) / (precision + tp / members);
          if (precision >= floor && f > top.f) top = { f, m: m + 1, tp };
        });
        assigned += top.m;
        correct += top.tp;
        return top.f;
      });
      console.log(`  ceiling (${what}) at per-persona precision >= ${floor}: macro-F1 ${(f1.reduce((a, b) => a + b, 0) / f1.length).toFixed(3)}, precision ${(correct / Math.max(1, assigned)).toFixed(3)}, coverage ${(assigned / n).toFixed(3)}`);
    }
  }
}

/** Isotonic regression (pool adjacent violators) of the labels on the scores, read back per customer. */
function isotonicOnTruth(scores: Float64Array, labels: Uint8Array): Float64Array {
  const order = Array.from(scores.keys()).sort((a, b) => scores[a] - scores[b]);
  const blocks: { sum: number; count: number; end: number }[] = [];
  for (const [r, i] of order.entries()) {
    blocks.push({ sum: labels[i], count: 1, end: r });
    while (blocks.length > 1 && blocks.at(-2)!.sum / blocks.at(-2)!.count >= blocks.at(-1)!.sum / blocks.at(-1)!.count) {
      const last = blocks.pop()!;
      const prev = blocks.at(-1)!;
      prev.sum += last.sum;
      prev.count += last.count;
      prev.end = last.end;
    }
  }
  const out = new Float64Array(scores.length);
  let r = 0;
  for (const b of blocks) for (; r <= b.end; r++) out[order[r]] = b.sum / b.count;
  return out;
}

/** Macro-F1, precision and coverage of an assignment (persona index per customer, -1 unassigned) against the truth. */
function scoreAssignment(assigned: Int32Array, y: Int32Array, personas: number): string {
  let assignedCount = 0;
  let correct = 0;
  let f1 = 0;
  for (let k = 0; k < personas; k++) {
    let a = 0;
    let t = 0;
    let tp = 0;
    for (let i = 0; i < y.length; i++) {
      a += assigned[i] === k ? 1 : 0;
      t += y[i] === k ? 1 : 0;
      tp += assigned[i] === k && y[i] === k ? 1 : 0;
    }
    assignedCount += a;
    correct += tp;
    f1 += tp ? (2 * tp) / (a + t) : 0;
  }
  return `macro-F1 ${(f1 / personas).toFixed(3)}, precision ${(correct / Math.max(1, assignedCount)).toFixed(3)}, coverage ${(assignedCount / y.length).toFixed(3)}`;
}

for (const world of worlds) {
  const name = basename(world);
  if (withOurs) await runOurs(world, name);
  if (withOurs && withSurveys) surveyTable.push(...surveyRows(name, await surveyFigures(world, join(outRoot, name, 'ours'), [300, 1000, 2000], 100)));
  if (withReferences && referencesMissing) console.log(`references skipped: ${referencesMissing}`);
  else if (withReferences) {
    for (const variant of ['seeds', 'no-rule-cols', 'oracle']) {
      const assignments = join(outRoot, name, `reference-${variant}.csv`);
      mkdirSync(dirname(assignments), { recursive: true });
      const t1 = performance.now();
      execFileSync('/usr/bin/python3', [join(benchDir, 'reference.py'), '--world', world, '--out', assignments, '--variant', variant, '--trees', '100', '--folds', '3', '--threads', referenceThreads], { stdio: 'pipe' });
      const r = evaluateWorld(world, assignments);
      results.push({ world: name, method: `reference ${variant}`, macroF1: r.macro_f1, precision: r.precision, coverage: r.coverage, prevalenceError: null, seconds: (performance.now() - t1) / 1000 });
      console.log(JSON.stringify(results.at(-1)));
    }
  }
}

const f = (v: number | null | undefined, d = 3) => (v === null || v === undefined ? '-' : v.toFixed(d));
console.log('\n| world | method | macro-F1 | precision | coverage | prevalence error | time (s) |\n|---|---|---|---|---|---|---|');
for (const r of results) console.log(`| ${r.world} | ${r.method} | ${f(r.macroF1)} | ${f(r.precision)} | ${f(r.coverage)} | ${f(r.prevalenceError)} | ${f(r.seconds, 1)} |`);
if (surveyTable.length) console.log(['', 'Sizes corrected by a random survey of the base (bench/surveys.ts):', ...SURVEY_HEADER, ...surveyTable].join('\n'));
