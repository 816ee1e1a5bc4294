// Benchmark of the feature pipeline on a generated world: wall time and peak RSS of
// `buildFeatures` (world generation not counted). Usage:
//   npx tsx bench/features.ts [--customers 1000000] [--seed 1] [--world DIR]
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildFeatures } from '../src/features/index.ts';
import type { Progress } from '../src/progress.ts';
import { arg, ensureWorld } from './worlds.ts';

const customers = Number(arg('customers', '1000000'));
const seed = arg('seed', '1');
const world = arg('world', join('.tmp', `world-${customers}-${seed}`));
ensureWorld(world, customers, Number(seed), false);

let peak = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 100);
const out = join('.tmp', `features-bench-${customers}`);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const t0 = performance.now();
// Stage timings: each stage's wall time is printed when the next one starts.
let stageStart = performance.now();
let stageName = '';
const timings: Record<string, number> = {};
const endStage = () => {
  if (stageName) timings[stageName] = +((performance.now() - stageStart) / 1000).toFixed(1);
};
const progress: Progress = {
  stage(name) {
    endStage();
    stageName = name;
    stageStart = performance.now();
  },
  tick() {},
  log() {},
};
const result = await buildFeatures({ dataDir: world, outDir: out, progress });
endStage();
console.log(JSON.stringify({ stages_s: timings }));
const seconds = (performance.now() - t0) / 1000;
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage().rss);
console.log(
  JSON.stringify({ customers: result.table.rows, features: result.table.numericNames.length + result.table.categoricalNames.length, seconds: +seconds.toFixed(1), peakRssGb: +(peak / 2 ** 30).toFixed(2) }),
);
