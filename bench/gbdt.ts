// `npm run bench:gbdt`: trains and scores our boosted trees and, in the same invocation and on the
// same data, XGBoost 1.7 (hist, one thread) and scikit-learn's HistGradientBoostingClassifier
// through bench/reference_gbdt.py (skipped with a message when /usr/bin/python3 or the packages
// are absent). 100 trees, depth 6, learning rate 0.1, 30 features, held-out 200 k rows.
//   npx tsx bench/gbdt.ts [--sizes 20000,200000,1000000] [--repeats 1]
// With --repeats N each size is measured N times (ours, then the references, in turn) and a last
// line per size gives the medians: the machine may be shared, so single timings are noisy.
// Training is timed as wall-clock and as CPU seconds of the process (ours: process.cpuUsage;
// the references: time.process_time), which other load on the machine disturbs less. Scoring
// (rows per second of predictProba on the held-out rows, best of 3 warm calls, wall and CPU) is
// measured for the WebAssembly scorer (the default, wasm.ts), the JavaScript scorer (compile.ts)
// and XGBoost's predict_proba, one thread each; the line says whether the two scorers of ours
// gave bit-identical probabilities.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { GbdtLearner } from '../src/models/gbdt/index.ts';
import { auc, syntheticData, type SyntheticData } from './synthetic.ts';
import { arg, pythonReferencesMissing } from './worlds.ts';

const sizes = arg('sizes', '20000,200000,1000000').split(',').map(Number);
const repeats = Number(arg('repeats', '1'));
const TREES = 100;
const DEPTH = 6;
const LR = 0.1;
const TEST_ROWS = 200_000;
const dir = join('.tmp', 'bench-gbdt');
mkdirSync(dir, { recursive: true });

function save(prefix: string, d: SyntheticData): void {
  const x = new Float32Array(d.rows * d.columns.length);
  d.columns.forEach((c, j) => x.set(c, j * d.rows));
  writeFileSync(`${prefix}.x.f32`, x);
  writeFileSync(`${prefix}.y.u8`, d.y);
}

function reference(train: string, test: string, rows: number): Record<string, number> | string {
  const missing = pythonReferencesMissing(['xgboost', 'sklearn']);
  if (missing) return `skipped: ${missing}`;
  const out = execFileSync('/usr/bin/python3', [join('bench', 'reference_gbdt.py'), train, test, String(rows), String(TEST_ROWS), '30', String(TREES), String(DEPTH), String(LR)], {
    env: { ...process.env, OMP_NUM_THREADS: '1' },
  });
  return JSON.parse(out.toString().trim().split('\n').pop()!) as Record<string, number>;
}

const test = syntheticData(TEST_ROWS, 999);
save(join(dir, 'test'), test);
console.log(`machine: ${cpus().length} x ${cpus()[0].model}, node ${process.version}`);
const lines: string[] = [];
const median = (xs: number[]) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
for (const rows of sizes) {
  const train = syntheticData(rows, rows);
  const prefix = join(dir, `train-${rows}`);
  save(prefix, train);
  const runs: Record<string, number | string>[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const model = new GbdtLearner({ numTrees: TREES, maxDepth: DEPTH, numLeaves: 2 ** DEPTH - 1, learningRate: LR, earlyStoppingRounds: 0 }).fit({ x: train, y: train.y });
    const trainS = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    const trainCpuS = (cpu.user + cpu.system) / 1e6;
    // Scoring, both scorers on the same model: the first call compiles (wasm.ts: the WebAssembly
    // module; compile.ts: the JavaScript functions); then the best of 3 warm calls, the steady
    // state a server sees, timed as wall-clock and as CPU time of the process.
    const scoring = (scorer: 'auto' | 'js') => {
      const t0 = performance.now();
      const p = model.predictProba(test, { scorer });
      const first = (performance.now() - t0) / 1000;
      let wall = Infinity;
      let cpuS = Infinity;
      for (let k = 0; k < 3; k++) {
        const t = performance.now();
        const c = process.cpuUsage();
        model.predictProba(test, { scorer });
        const u = process.cpuUsage(c);
        wall = Math.min(wall, (performance.now() - t) / 1000);
        cpuS = Math.min(cpuS, (u.user + u.system) / 1e6);
      }
      return { p, first, wall, cpuS };
    };
    const wasm = scoring('auto');
    const js = scoring('js');
    let identical = wasm.p.length === js.p.length;
    for (let i = 0; i < wasm.p.length && identical; i++) identical = Object.is(wasm.p[i], js.p[i]);
    const p = wasm.p;
    const ours = {
      rows,
      train_s: +trainS.toFixed(2),
      train_cpu_s: +trainCpuS.toFixed(2),
      auc: +auc(p, test.y).toFixed(4),
      scorer: model.scorer().kind,
      score_rows_per_s: Math.round(TEST_ROWS / wasm.wall),
      score_cpu_rows_per_s: Math.round(TEST_ROWS / wasm.cpuS),
      score_rows_per_s_first_call: Math.round(TEST_ROWS / wasm.first),
      js_score_rows_per_s: Math.round(TEST_ROWS / js.wall),
      js_score_cpu_rows_per_s: Math.round(TEST_ROWS / js.cpuS),
      js_score_rows_per_s_first_call: Math.round(TEST_ROWS / js.first),
      scorers_bit_identical: identical ? 1 : 0,
      load_1m: +loadavg()[0].toFixed(1),
    };
    const ref = reference(prefix, join(dir, 'test'), rows);
    const line =
      typeof ref === 'string'
        ? { ...ours, reference: ref }
        : {
            ...ours,
            xgboost_train_s: +ref.xgboost_train_s.toFixed(2),
            ratio_vs_xgboost: +(trainS / ref.xgboost_train_s).toFixed(2),
            xgboost_train_cpu_s: +ref.xgboost_train_cpu_s.toFixed(2),
            cpu_ratio_vs_xgboost: +(trainCpuS / ref.xgboost_train_cpu_s).toFixed(2),
            xgboost_auc: +ref.xgboost_auc.toFixed(4),
            xgboost_score_rows_per_s: Math.round(TEST_ROWS / ref.xgboost_predict_s),
            xgboost_score_cpu_rows_per_s: Math.round(TEST_ROWS / ref.xgboost_predict_cpu_s),
            sklearn_train_s: +ref.sklearn_train_s.toFixed(2),
            sklearn_train_cpu_s: +ref.sklearn_train_cpu_s.toFixed(2),
            sklearn_auc: +ref.sklearn_auc.toFixed(4),
          };
    console.log(JSON.stringify(line));
    lines.push(JSON.stringify(line));
    runs.push(line);
  }
  if (repeats > 1) {
    const med: Record<string, number | string> = { rows, median_of: repeats };
    for (const [k, v] of Object.entries(runs[0])) if (k !== 'rows' && typeof v === 'number') med[k] = +median(runs.map((x) => x[k] as number)).toFixed(4);
    console.log(JSON.stringify(med));
    lines.push(JSON.stringify(med));
  }
}
writeFileSync(join(dir, 'results.jsonl'), lines.join('\n') + '\n');
