// Benchmark of the feature pipeline on a generated world: wall time and peak RSS of
// `buildFeatures` (world generation not counted). Usage:
//   npx tsx bench/features.ts [--customers 1000000] [--seed 1] [--world DIR] [--monthly plain|overlap|amended [--joined]] [--customer-files N]
// With --monthly, the world's purchases and contacts are read as folders of monthly files
// (written once beside the world, not timed); `overlap`: each month's file also holds the first
// seven days of the next month, as exports run a week into the month write them; `amended`: as
// overlap, with one purchase in twenty of those seven days written 10 % dearer in the earlier
// month's file, which the next month's file (as the world holds them) corrects. With --joined,
// each folder's monthly files are read as one file, joined end to end with their header lines
// (exports concatenated), written once beside it, not timed. With
// --customer-files N, the customers are read as a folder of N files (the world's rows in N parts,
// in order; the other files linked), written once beside the world, not timed.
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildFeatures } from '../src/features/index.ts';
import { literal, openDuck, rows, run } from '../src/features/duck.ts';
import type { Progress } from '../src/progress.ts';
import { arg, ensureWorld } from './worlds.ts';

const customers = Number(arg('customers', '1000000'));
const seed = arg('seed', '1');
const plainWorld = arg('world', join('.tmp', `world-${customers}-${seed}`));
ensureWorld(plainWorld, customers, Number(seed), false);
const monthly = arg('monthly', '');
if (monthly && !['plain', 'overlap', 'amended'].includes(monthly)) throw new Error(`--monthly: plain, overlap or amended (got ${monthly})`);
const customerFiles = Number(arg('customer-files', '0'));
const joined = process.argv.includes('--joined');
if (joined && !monthly) throw new Error('--joined joins the monthly files of --monthly: give --monthly too');
const monthlyEvents = monthly ? await monthlyWorld(plainWorld, monthly as 'plain' | 'overlap' | 'amended') : plainWorld;
const eventsWorld = joined ? joinedWorld(monthlyEvents) : monthlyEvents;
const world = customerFiles > 0 ? await customersFolder(eventsWorld, customerFiles) : eventsWorld;

/** The world with its customers as a folder of `parts` files (its rows in order), the other inputs linked. */
async function customersFolder(dir: string, parts: number): Promise<string> {
  const dest = `${dir}-customers-${parts}`;
  if (existsSync(join(dest, 'customers'))) return dest;
  console.log(`writing ${dest} (not timed)`);
  mkdirSync(join(dest, 'customers'), { recursive: true });
  for (const f of readdirSync(dir)) if (f !== 'customers.csv') symlinkSync(resolve(dir, f), join(dest, f));
  const { db, conn } = await openDuck();
  try {
    await run(conn, `CREATE TABLE source AS SELECT row_number() OVER () AS _n, * FROM read_csv(${literal(join(dir, 'customers.csv'))}, header = true, all_varchar = true)`);
    const [{ n }] = (await rows(conn, 'SELECT count(*) AS n FROM source')) as { n: bigint }[];
    const size = Math.ceil(Number(n) / parts);
    for (let k = 0; k < parts; k++) {
      await run(conn, `COPY (SELECT * EXCLUDE (_n) FROM source WHERE _n > ${k * size} AND _n <= ${(k + 1) * size} ORDER BY _n) TO ${literal(join(dest, 'customers', `part-${k + 1}.csv`))} (HEADER)`);
    }
  } finally {
    conn.closeSync();
    db.closeSync();
  }
  return dest;
}

/**
 * The monthly world with each event folder's files joined end to end in one file, each with its
 * header line (what `cat` of the exports gives), the other inputs linked; written once beside it.
 */
function joinedWorld(dir: string): string {
  const dest = `${dir}-joined`;
  if (existsSync(join(dest, 'interactions.csv'))) return dest;
  console.log(`writing ${dest} (not timed)`);
  mkdirSync(dest, { recursive: true });
  for (const f of ['customers.csv', 'tiles.csv', 'first_names.csv']) symlinkSync(resolve(dir, f), join(dest, f));
  for (const name of ['transactions', 'interactions']) {
    const target = join(dest, `${name}.csv.part`);
    writeFileSync(target, '');
    for (const f of readdirSync(join(dir, name)).sort()) appendFileSync(target, readFileSync(join(dir, name, f)));
    renameSync(target, join(dest, `${name}.csv`));
  }
  return dest;
}

/** The world with its event files as folders of monthly files, written once beside it. */
async function monthlyWorld(dir: string, kind: 'plain' | 'overlap' | 'amended'): Promise<string> {
  const dest = `${dir}-monthly-${kind}`;
  const overlap = kind !== 'plain';
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
        const next = `${start} + INTERVAL 1 MONTH`;
        const select =
          kind === 'amended' && name === 'transactions'
            ? `* EXCLUDE (_day) REPLACE (CASE WHEN _day >= ${next} AND hash(customer_id, ts, amount) % 20 = 0 THEN CAST(round(CAST(amount AS DOUBLE) * 1.1, 2) AS VARCHAR) ELSE amount END AS amount)`
            : '* EXCLUDE (_day)';
        await run(conn, `COPY (SELECT ${select} FROM ${source} WHERE _day >= ${start} AND _day < ${end}) TO ${literal(join(dest, name, `${m}.csv`))} (HEADER)`);
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
