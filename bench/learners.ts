// Each learner kind through `personas run` on benchmark worlds, one run at a time:
//   npx tsx bench/learners.ts --worlds W1,W2,W3 [--kinds gbdt,forest,mlp,ensemble,ensemble:gbdt+forest] [--out DIR]
// For each world (made by ../shared/bench/world.mjs --features) and kind: the CLI run as a user
// runs it (`personas run --data W --personas W/personas.yaml --out OUT --seed 1 --learner K`)
// under /usr/bin/time (wall, user + sys CPU of the process and its worker threads, peak RSS),
// then ../shared/bench/evaluate.mjs on its assignments.csv, and the prevalence error of its
// quantification.json against truth.csv. One markdown row per run, printed as it finishes, and
// every result in OUT/learners.json. The load average is printed beside each run: figures taken
// on a busy machine say so.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { arg, ensureWorlds, evaluateWorld, prevalenceError, repo, sharedBench } from './worlds.ts';

sharedBench();
if (!existsSync('/usr/bin/time')) throw new Error('/usr/bin/time is needed for CPU and memory figures (apt-get install time)');
const worlds = arg('worlds', '.tmp/w100k-1').split(',').map((w) => resolve(w));
// A world directory that holds no world yet is generated (--customers, default 100000; the seed is
// the number ending its name; a name ending otherwise is an error: bench/worlds.ts ensureWorlds).
ensureWorlds(worlds, Number(arg('customers', '100000')));
const kinds = arg('kinds', 'gbdt,forest,mlp,ensemble').split(',');
const outRoot = resolve(arg('out', '.tmp/learners'));
mkdirSync(outRoot, { recursive: true });

interface Result {
  world: string;
  kind: string;
  macroF1: number;
  precision: number;
  coverage: number;
  prevalenceError: number;
  wallSeconds: number;
  cpuSeconds: number;
  peakRssMb: number;
  loadBefore: number;
  loadAfter: number;
  finishedAt: string;
}

const results: Result[] = [];
console.log('| world | learner | macro-F1 | precision | coverage | prevalence error | wall (s) | CPU (s) | peak RSS | load avg before -> after |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const world of worlds) {
  for (const kind of kinds) {
    const out = join(outRoot, basename(world), kind.replace(/[^a-z+]/g, '-'));
    // `ensemble:gbdt+forest`: the ensemble of those members, through a copy of the persona file
    // with `model: { kind: ensemble, params: { members } }` (the CLI has no flag for learner params).
    const [base, members] = kind.split(':');
    let personas = join(world, 'personas.yaml');
    if (members) {
      const file = parse(readFileSync(personas, 'utf8')) as Record<string, unknown>;
      file.model = { kind: base, params: { members: members.split('+') } };
      mkdirSync(out, { recursive: true });
      personas = join(out, '..', `personas-${kind.replace(/[^a-z+]/g, '-')}.yaml`);
      writeFileSync(personas, stringify(file));
    }
    const loadBefore = loadavg()[0];
    const r = spawnSync(
      '/usr/bin/time',
      ['-f', 'TIME %e %U %S %M', process.execPath, join(repo, 'bin', 'personas.js'), 'run', '--data', world, '--personas', personas, '--out', out, '--seed', '1', ...(members ? [] : ['--learner', kind])],
      { encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, CI: 'true' } },
    );
    const timeLine = r.stderr.split('\n').find((l) => l.startsWith('TIME '));
    if (r.status !== 0 || !timeLine) throw new Error(`personas run --learner ${kind} on ${world} failed (exit ${r.status}):\n${r.stderr.slice(-4000)}`);
    const [wall, user, sys, rssKb] = timeLine.slice(5).split(' ').map(Number);
    const ev = evaluateWorld(world, join(out, 'assignments.csv'));
    const res: Result = {
      world: basename(world), kind, macroF1: ev.macro_f1, precision: ev.precision, coverage: ev.coverage, prevalenceError: prevalenceError(world, out),
      wallSeconds: wall, cpuSeconds: user + sys, peakRssMb: rssKb / 1024, loadBefore, loadAfter: loadavg()[0], finishedAt: new Date().toISOString(),
    };
    results.push(res);
    writeFileSync(join(outRoot, 'learners.json'), JSON.stringify(results, null, 2));
    console.log(
      `| ${res.world} | ${kind} | ${res.macroF1.toFixed(4)} | ${res.precision.toFixed(4)} | ${res.coverage.toFixed(4)} | ${res.prevalenceError.toFixed(3)} | ${wall.toFixed(1)} | ${res.cpuSeconds.toFixed(0)} | ${(res.peakRssMb / 1024).toFixed(2)} GB | ${loadBefore.toFixed(2)} -> ${res.loadAfter.toFixed(2)} |`,
    );
  }
}
