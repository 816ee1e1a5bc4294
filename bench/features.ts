// Benchmark of the feature pipeline on a generated world: wall time and peak RSS of
// `buildFeatures` (world generation not counted). Usage:
//   npx tsx bench/features.ts [--customers 1000000] [--seed 1] [--world DIR] [--monthly plain|overlap]
// With --monthly, the world's purchases and contacts are read as folders of monthly files
// (written once beside the world, not timed); `overlap`: each month's file also holds the first
// seven days of the next month, as exports run a week into the month write them.
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildFeatures } from '../src/features/index.ts';
import { literal, openDuck, rows, run } from '../src/features/duck.ts';
import type { Progress } from '../src/progress.ts';
import { arg, ensureWorld } from './worlds.ts';

const customers = Number(arg('customers', '1000000'));
const seed = arg('seed', '1');
const plainWorld = arg('world', join('.tmp', `world-${customers}-${seed}`));
ensureWorld(plainWorld, customers, Number(seed), false);
const monthly = arg('monthly', '');
if (monthly && monthly !== 'plain' && monthly !== 'overlap') throw new Error(`--monthly: plain or overlap (got ${monthly})`);
const world = monthly ? await monthlyWorld(plainWorld, monthly === 'overlap') : plainWorld;

/** The world with its event files as folders of monthly files, written once beside it. */
async function monthlyWorld(dir: string, overlap: boolean): Promise<string> {
  const dest = `${dir}-monthly-${overlap ? 'overlap' : 'plain'}`;
  if (existsSync(join(dest, 'interactions'))) return dest;
  console.log(`writing ${dest} (not timed)`);
  mkdirSync(dest, { recursive: true });
  for (const f of ['customers.csv', 'tiles.csv', 'first_names.csv']) copyFileSync(join(dir, f), join(dest, f));
  const { db, conn } = await openDuck();
  try {
    for (const name of ['transactions', 'interactions']) {
      mkdirSync(join(dest, name));
      // Read once (the file's order kept), then each month written from the table.
      await run(conn, `CREATE OR REPLACE TABLE source AS SELECT *, CAST(substr(ts, 1, 10) AS DATE) AS _day FROM read_csv(${literal(join(dir, `${name}.csv`))}, header = true, all_varchar = true)`);
      const source = 'source';
      const months = (await rows(conn, `SELECT DISTINCT substr(ts, 1, 7) AS m FROM source ORDER BY 1`)).map((r) => String(r.m));
      for (const m of months) {
        const start = `DATE ${literal(`${m}-01`)}`;
        const end = overlap ? `${start} + INTERVAL 1 MONTH + INTERVAL 7 DAY` : `${start} + INTERVAL 1 MONTH`;
        await run(conn, `COPY (SELECT * EXCLUDE (_day) FROM ${source} WHERE _day >= ${start} AND _day < ${end}) TO ${literal(join(dest, name, `${m}.csv`))} (HEADER)`);
      }
    }
  } finally {
    conn.closeSync();
    db.closeSync();
  }
  return dest;
}

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
  JSON.stringify({ world, rejected: result.rejects.reduce((n, r) => n + (r.action === 'dropped' ? r.rows : 0), 0), customers: result.table.rows, features: result.table.numericNames.length + result.table.categoricalNames.length, seconds: +seconds.toFixed(1), peakRssGb: +(peak / 2 ** 30).toFixed(2) }),
);
