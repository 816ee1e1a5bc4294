// `npm run bench`: the benchmark suite, one benchmark after another, each in its own process and
// each measuring its reference in the same run (BENCHMARKS.md keeps the figures):
//   npm run bench [-- --only gbdt,features,projection,api,jobs] [--quick] [--list] [--dry-run]
// gbdt        bench/gbdt.ts: our boosted trees against XGBoost and scikit-learn (20 k, 200 k, 1 M rows)
// features    bench/features.ts: the feature pipeline on a generated 1 M-customer world
// projection  bench/projection.ts: `personas run` on the 100 k benchmark world (seed 1), with the
//             reference pipeline's three variants (../shared/bench/reference.py), and the sizes
//             corrected by random surveys of the base (bench/surveys.ts)
// api         bench/api.ts: REST latency on PostgreSQL (skipped without PostgreSQL)
// jobs        bench/jobs.ts: batch scoring with 1, 2, 3 workers (skipped without PostgreSQL and Redis)
// Not in the default suite, run by name with --only: soak (10 minutes of API load), learners
// (every learner kind through the CLI on the three 100 k worlds), scale (the projection and its
// references on a 1 M-customer world, seed 7: the models learn from the 200,000-customer training
// sample, every customer is scored), known-seeds (what learning from 300, 1,000 and 3,000 customers
// surveyed at random adds, personas run --learn-from-known, on the 100 k world of seed 1).
// --quick: small sizes (a check that every benchmark still runs, not figures to record).
// --dry-run: print the commands and what would be skipped, run nothing.
// Each benchmark's output goes to the terminal and to .tmp/bench/<name>.log; a table at the end
// gives each one's status and minutes. Exit status 1 when one failed.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { arg, repo } from './worlds.ts';

type Needs = 'postgres' | 'redis';

interface Benchmark {
  name: string;
  script: string;
  args: string[];
  quick: string[];
  needs: Needs[];
  /** In the suite run without --only. */
  suite: boolean;
}

const BENCHMARKS: Benchmark[] = [
  { name: 'gbdt', script: 'bench/gbdt.ts', args: [], quick: ['--sizes', '20000'], needs: [], suite: true },
  { name: 'features', script: 'bench/features.ts', args: ['--customers', '1000000'], quick: ['--customers', '20000'], needs: [], suite: true },
  {
    name: 'projection',
    script: 'bench/projection.ts',
    args: ['--worlds', '.tmp/w100k-1', '--references', '--surveys', '--out', '.tmp/bench/projection'],
    quick: ['--worlds', '.tmp/w20k-1', '--customers', '20000', '--references', '--surveys', '--out', '.tmp/bench/projection-quick'],
    needs: [],
    suite: true,
  },
  { name: 'api', script: 'bench/api.ts', args: [], quick: ['--customers', '20000', '--seconds', '5'], needs: ['postgres'], suite: true },
  { name: 'jobs', script: 'bench/jobs.ts', args: [], quick: ['--customers', '20000', '--partitions', '4', '--workers', '1,2'], needs: ['postgres', 'redis'], suite: true },
  { name: 'soak', script: 'bench/soak.ts', args: [], quick: ['--minutes', '1', '--customers', '20000'], needs: ['postgres'], suite: false },
  {
    name: 'learners',
    script: 'bench/learners.ts',
    args: ['--worlds', '.tmp/w100k-1,.tmp/w100k-2,.tmp/w100k-3'],
    quick: ['--worlds', '.tmp/w20k-1', '--customers', '20000', '--kinds', 'gbdt'],
    needs: [],
    suite: false,
  },
  {
    name: 'known-seeds',
    script: 'bench/known-seeds.ts',
    args: ['--worlds', '.tmp/w100k-1', '--sizes', '300,1000,3000'],
    quick: ['--worlds', '.tmp/w20k-1', '--customers', '20000', '--sizes', '300'],
    needs: [],
    suite: false,
  },
  {
    name: 'scale',
    script: 'bench/projection.ts',
    args: ['--worlds', '.tmp/w1m-7', '--customers', '1000000', '--references', '--out', '.tmp/bench/projection-1m'],
    quick: ['--worlds', '.tmp/w30k-7', '--customers', '30000', '--train', '{"trainingCustomers":10000}', '--out', '.tmp/bench/projection-scale-quick'],
    needs: [],
    suite: false,
  },
];

const SERVERS: Record<Needs, { url: string; fallback: string; port: number }> = {
  postgres: { url: 'DATABASE_URL', fallback: 'postgres://root@127.0.0.1:5432/postgres', port: 5432 },
  redis: { url: 'REDIS_URL', fallback: 'redis://127.0.0.1:6379', port: 6379 },
};

/** Whether the server a URL names accepts a TCP connection within a second. */
function reachable(server: Needs): Promise<boolean> {
  const s = SERVERS[server];
  const url = new URL(process.env[s.url] ?? s.fallback);
  return new Promise((done) => {
    const socket = connect({ host: url.hostname || '127.0.0.1', port: Number(url.port) || s.port });
    const end = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(1000, () => end(false));
    socket.once('connect', () => end(true));
    socket.once('error', () => end(false));
  });
}

/** Runs one benchmark, its output to the terminal and to its log; resolves with its exit code. */
function run(b: Benchmark, args: string[], log: string): Promise<number> {
  return new Promise((done) => {
    const file = createWriteStream(log);
    const child = spawn(process.execPath, ['--import', 'tsx', join(repo, b.script), ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => {
      process.stdout.write(d);
      file.write(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      process.stderr.write(d);
      file.write(d);
    });
    child.on('close', (code) => file.end(() => done(code ?? 1)));
  });
}

async function main(): Promise<number> {
  if (process.argv.includes('--list')) {
    for (const b of BENCHMARKS) console.log(`${b.name.padEnd(11)} ${b.script}${b.suite ? '' : ' (not in the default suite: --only ' + b.name + ')'}${b.needs.length ? `, needs ${b.needs.join(' and ')}` : ''}`);
    return 0;
  }
  const only = arg('only', '');
  const names = only ? only.split(',').map((s) => s.trim()).filter(Boolean) : BENCHMARKS.filter((b) => b.suite).map((b) => b.name);
  const unknown = names.filter((n) => !BENCHMARKS.some((b) => b.name === n));
  if (unknown.length) {
    console.error(`npm run bench: unknown benchmark ${unknown.join(', ')} in --only; expected some of ${BENCHMARKS.map((b) => b.name).join(', ')}`);
    return 2;
  }
  const quick = process.argv.includes('--quick');
  const dry = process.argv.includes('--dry-run');
  const logs = join(repo, '.tmp', 'bench');
  mkdirSync(logs, { recursive: true });
  const up = new Map<Needs, boolean>();
  for (const server of ['postgres', 'redis'] as const) up.set(server, await reachable(server));
  const rows: string[] = [];
  let failed = 0;
  for (const name of names) {
    const b = BENCHMARKS.find((x) => x.name === name)!;
    const args = quick ? b.quick : b.args;
    const down = b.needs.filter((s) => !up.get(s));
    if (down.length) {
      const why = down.map((s) => `${s} not reachable at ${process.env[SERVERS[s].url] ?? SERVERS[s].fallback} (${SERVERS[s].url})`).join(', ');
      console.log(`\n== ${name}: skipped: ${why}`);
      rows.push(`| ${name} | skipped: ${why} | - | - |`);
      continue;
    }
    const command = `npx tsx ${b.script} ${args.join(' ')}`.trim();
    console.log(`\n== ${name}: ${command}`);
    if (dry) {
      rows.push(`| ${name} | would run: \`${command}\` | - | - |`);
      continue;
    }
    const log = join(logs, `${name}.log`);
    const t0 = performance.now();
    const code = await run(b, args, log);
    const minutes = ((performance.now() - t0) / 60000).toFixed(1);
    if (code !== 0) failed++;
    rows.push(`| ${name} | ${code === 0 ? 'ok' : `failed (exit ${code})`} | ${minutes} | .tmp/bench/${name}.log |`);
  }
  console.log(`\n| benchmark | status | minutes | log |\n|---|---|---|---|\n${rows.join('\n')}`);
  return failed ? 1 : 0;
}

process.exitCode = await main();
