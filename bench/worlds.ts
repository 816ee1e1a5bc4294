// What the benchmark scripts share: their command-line flags, and the benchmark worlds of
// ../shared/bench (the evaluator, the true shares of a world's personas).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The value of `--name`, or `fallback`. */
export const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** ../shared/bench beside the repository (world.mjs, evaluate.mjs, reference.py). */
export function sharedBench(): string {
  const dir = [join(repo, '..', 'shared', 'bench'), '/work/shared/bench'].find((d) => existsSync(join(d, 'evaluate.mjs')));
  if (!dir) throw new Error('../shared/bench/evaluate.mjs not found beside the repository');
  return dir;
}

/** The public evaluator's figures for an assignment file against a world's truth.csv. */
export function evaluateWorld(world: string, assignments: string): { macro_f1: number; precision: number; coverage: number } {
  return JSON.parse(
    execFileSync(process.execPath, [join(sharedBench(), 'evaluate.mjs'), '--truth', join(world, 'truth.csv'), '--assign', assignments, '--json'], { encoding: 'utf8', maxBuffer: 1 << 28 }),
  ) as { macro_f1: number; precision: number; coverage: number };
}

/** Share of the base of each true persona of a world (truth.csv: customer_id, persona). */
export function trueShares(world: string): Map<string, number> {
  const lines = readFileSync(join(world, 'truth.csv'), 'utf8').trim().split('\n').slice(1);
  const counts = new Map<string, number>();
  for (const line of lines) {
    const persona = line.slice(line.indexOf(',') + 1);
    if (persona) counts.set(persona, (counts.get(persona) ?? 0) + 1);
  }
  return new Map([...counts].map(([p, c]) => [p, c / lines.length]));
}

/** Sum over personas of |estimated prevalence - true share|, from a run's quantification.json. */
export function prevalenceError(world: string, out: string): number {
  const shares = trueShares(world);
  const q = JSON.parse(readFileSync(join(out, 'quantification.json'), 'utf8')) as { personas: { persona: string | null; estimatedPrevalence: number | null }[] };
  return q.personas.filter((p) => p.persona !== null).reduce((s, p) => s + Math.abs((p.estimatedPrevalence ?? 0) - (shares.get(p.persona!) ?? 0)), 0);
}

/**
 * Why the Python references cannot run here (null when they can): /usr/bin/python3 with these
 * modules imported, as ../shared/bench/reference.py and bench/reference_gbdt.py need them.
 */
export function pythonReferencesMissing(modules: string[]): string | null {
  if (!existsSync('/usr/bin/python3')) return '/usr/bin/python3 not found';
  try {
    execFileSync('/usr/bin/python3', ['-c', `import ${modules.join(', ')}`], { stdio: 'pipe' });
    return null;
  } catch {
    return `a module of ${modules.join(', ')} is missing under /usr/bin/python3 (apt-get install -y python3-sklearn python3-xgboost python3-pandas python3-yaml)`;
  }
}

/** A benchmark world in `dir` (../shared/bench/world.mjs), generated when `dir` holds none yet. */
export function ensureWorld(dir: string, customers: number, seed: number, features = true): void {
  if (existsSync(join(dir, 'customers.csv')) && (!features || existsSync(join(dir, 'features.csv')))) return;
  console.log(`generating ${customers} customers (seed ${seed}) into ${dir} (not timed)`);
  execFileSync(process.execPath, [join(sharedBench(), 'world.mjs'), '--out', dir, '--customers', String(customers), '--seed', String(seed), ...(features ? ['--features'] : []), '--quiet'], { stdio: 'inherit' });
}

/**
 * ensureWorld for each directory of a --worlds list: `customers` customers, the seed the number
 * ending the directory's name (.tmp/w100k-2: seed 2); a missing directory whose name ends with no
 * number (.tmp/w100k-dirty) is an error, not a plain world under that name.
 */
export function ensureWorlds(dirs: string[], customers: number): void {
  for (const dir of dirs) {
    const seed = /(\d+)$/.exec(dir)?.[1];
    const missing = !existsSync(join(dir, 'customers.csv'));
    // A world of another shape (dirty rows, other parameters) cannot be told from its name: make it by hand.
    if (missing && !seed) throw new Error(`${dir}: no world there, and its name does not end with a seed number to generate one with; make it with node ../shared/bench/world.mjs --out ${dir} --features (and its --dirty / --params)`);
    ensureWorld(dir, customers, Number(seed ?? '1'));
  }
}
