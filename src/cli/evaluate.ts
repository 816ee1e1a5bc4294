// `personas evaluate`: a run's labels (from its assignment file) or a published version's (from
// the store) checked against customers whose persona is known (src/models/personas/evaluate.ts),
// written as evaluation.json, which the report then shows, or kept with the version.
import { createReadStream, existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { InputError } from '../errors.ts';
import { readColumnMap } from '../features/column-map.ts';
import { csvField } from '../features/formats.ts';
import { readKnownFile } from '../features/known.ts';
import { ASSIGNMENT_COLUMNS, type Evaluation } from '../models/artefacts.ts';
import { evaluateRows, idKey, type LabelSource, type RunLabel } from '../models/personas/evaluate.ts';
import { sampleWarning, SurveyPlanner } from '../models/personas/survey.ts';
import { readRunArtefacts } from '../report/load.ts';
import { Random } from '../random.ts';
import { labelPage, recordEvaluation, splitCsvLine, storedLabels, versionDetail } from '../store/registry.ts';
import type { Sql } from '../store/db.ts';
import { withStore, withStoreFlags, type StoreFlags } from './store.ts';

const out = (line: string) => process.stdout.write(line + '\n');

/**
 * The labels of a run's assignment file (read a line at a time: a million rows) of the rows
 * `keep` gives a slot (their id, or their idKey), each with its id, by slot.
 */
async function scanRunLabels(path: string, personaIds: readonly string[], keep: (id: string) => string | undefined): Promise<Map<string, { id: string; label: RunLabel }[]>> {
  if (!existsSync(path)) throw new InputError('INPUT_MISSING_FILE', `${path}: assignment file not found (is this a run directory written by \`personas run\`?)`, { file: path });
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  const found = new Map<string, { id: string; label: RunLabel }[]>();
  let scoreAt: number[] = [];
  let n = 0;
  for await (const line of lines) {
    n++;
    const fields = splitCsvLine(line);
    if (!fields) throw new InputError('INPUT_INVALID', `${path}: line ${n}: malformed CSV quoting`, { file: path, line: n });
    if (n === 1) {
      if (ASSIGNMENT_COLUMNS.some((c, k) => fields[k] !== c)) throw new InputError('INPUT_INVALID', `${path}: line 1: expected the columns ${ASSIGNMENT_COLUMNS.join(',')},score_<persona>...`, { file: path, line: 1 });
      scoreAt = personaIds.map((id) => fields.indexOf(`score_${id}`));
      continue;
    }
    const slot = keep(fields[0]);
    if (slot === undefined) continue;
    const label = { persona: fields[1] || null, scores: scoreAt.map((k) => (k >= 0 && fields[k] !== '' ? Number(fields[k]) : NaN)) };
    const list = found.get(slot);
    if (list) list.push({ id: fields[0], label });
    else found.set(slot, [{ id: fields[0], label }]);
  }
  return found;
}

/** A run's assignment file as a source of labels (evaluateRows). */
export function runLabels(path: string): LabelSource {
  return {
    async exact(ids, personaIds) {
      const wanted = new Set(ids);
      const found = await scanRunLabels(path, personaIds, (id) => (wanted.has(id) ? id : undefined));
      return new Map([...found].map(([id, [first]]) => [id, first.label]));
    },
    byKey(keys, personaIds) {
      const wanted = new Set(keys);
      return scanRunLabels(path, personaIds, (id) => {
        const key = idKey(id);
        return wanted.has(key) ? key : undefined;
      });
    },
  };
}

interface KnownOptions {
  columns?: string;
  empty?: 'skip' | 'none';
  /** The known customers were drawn at random from the base: the sizes are corrected by them. */
  randomSample?: boolean;
}

/** A customer of the base a survey is drawn from: its id, its label (null: unassigned) and its probability of each persona. */
interface BaseCustomer {
  id: string;
  label: string | null;
  scores: (number | null)[];
}

/** The base of a survey: its personas and its customers, which may be read more than once. */
interface SurveyBase {
  personas: string[];
  customers: () => AsyncIterable<BaseCustomer>;
  source: string;
}

/** The base of an assignment file (`personas survey --run | --assignments`): its personas from its score columns. */
async function fileBase(assignments: string): Promise<SurveyBase> {
  if (!existsSync(assignments)) throw new InputError('INPUT_MISSING_FILE', `${assignments}: assignment file not found (is this a run directory written by \`personas run\`, or a file of \`personas models export\`?)`, { file: assignments });
  const expected = () => new InputError('INPUT_INVALID', `${assignments}: line 1: expected the columns ${ASSIGNMENT_COLUMNS.join(',')},score_<persona>...`, { file: assignments, line: 1 });
  let header: string[] | null = null;
  for await (const text of createInterface({ input: createReadStream(assignments, 'utf8'), crlfDelay: Infinity })) {
    header = splitCsvLine(text);
    break;
  }
  if (!header || header[0] !== 'customer_id' || header[1] !== 'persona') throw expected();
  const at = header.flatMap((c, k) => (c.startsWith('score_') ? [k] : []));
  const personas = at.map((k) => header![k].slice('score_'.length));
  async function* customers(): AsyncGenerator<BaseCustomer> {
    let line = 0;
    for await (const text of createInterface({ input: createReadStream(assignments, 'utf8'), crlfDelay: Infinity })) {
      if (++line === 1) continue;
      const fields = splitCsvLine(text);
      if (!fields) throw new InputError('INPUT_INVALID', `${assignments}: line ${line}: malformed CSV quoting`, { file: assignments, line });
      if (!fields[0]) continue;
      const score = (v: string | undefined) => (v === undefined || v.trim() === '' || !Number.isFinite(Number(v)) ? null : Number(v));
      yield { id: fields[0], label: fields[1] || null, scores: at.map((k) => score(fields[k])) };
    }
  }
  return { personas, customers, source: assignments };
}

/** The base a published version labels, a page at a time (`personas survey --model`). */
async function versionBase(db: Sql, version: string): Promise<SurveyBase> {
  const { personas } = await labelPage(db, version, null, 1);
  async function* customers(): AsyncGenerator<BaseCustomer> {
    let cursor: string | null = null;
    do {
      const page = await labelPage(db, version, cursor, 10_000);
      for (const r of page.rows) yield { id: r.customerId, label: r.persona, scores: personas.map((p) => r.scores[p] ?? null) };
      cursor = page.next;
    } while (cursor !== null);
  }
  return { personas, customers, source: `version ${version}` };
}

/** The ids of `customers`, each first added to `planner`. */
async function* plannedIds(customers: AsyncIterable<BaseCustomer>, planner: SurveyPlanner): AsyncGenerator<string> {
  for await (const c of customers) {
    planner.add(c.label, c.scores);
    yield c.id;
  }
}

/** A survey's expected precision, in lines (`personas survey`). */
export function describeSurveyPlan(planner: SurveyPlanner, answers: number): string[] {
  const widths = planner.halfWidths(answers);
  const points = (h: number) => `±${(100 * h).toFixed(1)} points`;
  // The expected |error| of a normal estimate is its standard deviation times sqrt(2 / pi).
  const sum = widths.reduce((t, w) => t + (w.halfWidth / 1.96) * Math.sqrt(2 / Math.PI), 0);
  return [
    `with ${answers} answer(s), each persona's size corrected by them should come within (95 %, where the probabilities are calibrated; wider where they are overconfident):`,
    ...columns(widths.map((w) => [w.persona, points(w.halfWidth), ''])),
    `their errors summing to about ${sum.toFixed(3)} over the personas; these are answers: invite more customers for those who do not answer (at a response rate of 30 %, ${Math.ceil(answers / 0.3)})`,
  ];
}

/**
 * Customers drawn at random (`personas survey`): a simple random sample of `size` of `ids`
 * without replacement (reservoir sampling, one pass, seeded), in their order: whom to send the
 * survey to, whose answers `evaluate --random-sample` then reads. `source` names them in errors.
 */
export async function drawSurvey(ids: AsyncIterable<string>, size: number, seed: number, source: string): Promise<{ ids: string[]; customers: number }> {
  const rng = new Random(seed);
  const kept: { id: string; at: number }[] = [];
  let n = 0;
  for await (const id of ids) {
    // Algorithm R: the n-th id replaces a kept one with probability size / n.
    if (kept.length < size) kept.push({ id, at: n });
    else {
      const k = rng.int(n + 1);
      if (k < size) kept[k] = { id, at: n };
    }
    n++;
  }
  if (size > n) throw new InputError('INPUT_INVALID', `--size ${size} is more than the ${n} customers of ${source}`, { field: 'size' });
  return { ids: kept.sort((a, b) => a.at - b.at).map((k) => k.id), customers: n };
}

/** Evaluates the run in `runDir` against the known-personas file `knownPath`. */
export async function evaluateRun(runDir: string, knownPath: string, opts: KnownOptions = {}): Promise<Evaluation> {
  const { manifest, metrics, quantification } = readRunArtefacts(runDir);
  const rows = await readKnownFile(knownPath, opts.columns ? readColumnMap(opts.columns) : {});
  return evaluateRows(rows, manifest, metrics, { file: knownPath, empty: opts.empty, randomSample: opts.randomSample }, runLabels(join(runDir, 'assignments.csv')), quantification);
}

/** Evaluates published version `version` (null: the active one) against `knownPath`, from the store's labels. */
export async function evaluateVersion(db: Sql, version: string | null, knownPath: string, opts: KnownOptions = {}): Promise<Evaluation> {
  const d = await versionDetail(db, version);
  const rows = await readKnownFile(knownPath, opts.columns ? readColumnMap(opts.columns) : {});
  return evaluateRows(rows, d.manifest, d.metrics, { file: knownPath, empty: opts.empty, randomSample: opts.randomSample }, storedLabels(db, d.version), d.quantification);
}

/** Writes an evaluation to `file`, beside it first and renamed over it once complete. */
export function writeEvaluation(file: string, evaluation: Evaluation): void {
  const partial = `${file}.partial-${process.pid}`;
  writeFileSync(partial, JSON.stringify(evaluation, null, 2) + '\n');
  renameSync(partial, file);
}

const pct = (v: number | null) => (v === null ? '-' : `${(100 * v).toFixed(1)} %`);

/** Rows of cells as aligned columns: the first and the last to the left, the others to the right. */
function columns(rows: string[][]): string[] {
  const widths = rows[0].map((_, k) => Math.max(...rows.map((r) => r[k].length)));
  return rows.map((r) => r.map((v, k) => (k === 0 || k === r.length - 1 ? v.padEnd(widths[k]) : v.padStart(widths[k]))).join('  ').trimEnd());
}

/** The evaluation in lines, for the terminal. */
export function describeEvaluation(e: Evaluation): string[] {
  const lines = [
    `model ${e.modelVersion} against ${e.file}: ${e.matched} known customer(s) in the run${e.notInRun ? `, ${e.notInRun} not in it (${e.notInRunIds.map((id) => `'${id}'`).join(', ')}${e.notInRun > e.notInRunIds.length ? ', ...' : ''})` : ''}${e.knownNone ? `, ${e.knownNone} of them known to be none of the personas` : ''}${e.emptyRows ? `; ${e.emptyRows} row(s) without a persona left out` : ''}${e.repeatedRows ? `; ${e.repeatedRows} row(s) repeating a customer` : ''}${e.reformattedIds ? `; ${e.reformattedIds} id(s) matched to the customer written otherwise (leading zeros lost, another case)` : ''}`,
    `assigned ${e.assigned} (${pct(e.coverage)}), ${e.correct} of them right (precision ${pct(e.precision)}); macro-F1 ${e.macroF1 === null ? '-' : e.macroF1.toFixed(3)}`,
    '',
  ];
  const table = [
    ['persona', 'known', 'assigned', 'right', 'precision (95 % interval)', 'expected', 'recall', 'known share', 'mean probability', ''],
    ...e.personas.map((p) => [
      p.persona,
      String(p.known),
      String(p.assigned),
      String(p.correct),
      p.precision === null ? '-' : `${pct(p.precision)} (${pct(p.precisionInterval![0])} to ${pct(p.precisionInterval![1])})`,
      pct(p.expectedPrecision),
      pct(p.recall),
      pct(p.knownShare),
      pct(p.meanProbability),
      p.verdict === 'optimistic' ? 'expected precision above the interval: optimistic' : p.verdict === 'pessimistic' ? 'expected precision below the interval' : p.verdict === 'too few' ? 'too few assigned to judge' : '',
    ]),
  ];
  lines.push(...columns(table));
  if (e.sizes.length) {
    lines.push('', `each persona's size in the base, corrected by the ${e.matched} known customers (drawn at random from it):`);
    lines.push(
      ...columns([
        ['persona', 'estimated by the models', 'corrected (95 % interval)', 'the sample alone (95 % interval)'],
        ...e.sizes.map((z) => [z.persona, pct(z.estimated), `${pct(z.corrected)} (${pct(z.interval[0])} to ${pct(z.interval[1])})`, `${pct(z.sampleShare)} (${pct(z.sampleInterval[0])} to ${pct(z.sampleInterval[1])})`]),
      ]),
    );
    const check = e.sampleCheck;
    if (check && check.unsampled > 0) lines.push(`note: ${pct(check.unsampled)} of the base carry a label none of the known customers has: no correction for them`);
    if (check && !check.random) lines.push(`warning: ${sampleWarning(check)}`);
  }
  if (e.calibration.length) {
    lines.push('', 'the assigned by confidence (the share right should be about the mean confidence):');
    for (const b of e.calibration) lines.push(`  ${b.from.toFixed(1)} to ${b.to.toFixed(1)}: ${b.customers} assigned, mean confidence ${pct(b.meanConfidence)}, ${pct(b.right)} right`);
  }
  const moves = e.confusion.filter((c) => c.known !== c.assigned).slice(0, 10);
  if (moves.length) {
    lines.push('', 'most frequent mislabels (known -> assigned):');
    for (const c of moves) lines.push(`  ${c.known ?? '(none)'} -> ${c.assigned ?? '(unassigned)'}: ${c.customers}`);
  }
  return lines;
}

/** --half-width: a share (0.01) or a percentage (1%), above 0 and under 0.5. */
function readHalfWidth(text: string): number {
  const percent = /^\s*(\d+(?:[.,]\d+)?)\s*%\s*$/.exec(text);
  const value = percent ? Number(percent[1].replace(',', '.')) / 100 : /^\s*\d*[.,]?\d+\s*$/.test(text) ? Number(text.replace(',', '.')) : NaN;
  if (!(value > 0 && value < 0.5)) throw new InputError('INPUT_INVALID', `--half-width must be a share above 0 and under 0.5, as 0.01 or 1% (got "${text}")`, { field: 'half-width' });
  return value;
}

export function registerEvaluate(program: Command): void {
  withStoreFlags(program
    .command('survey')
    .description("draw customers at random for a survey: a file of their ids with an empty persona column, for the survey's answers (the portrait each picked, or none); read back by personas evaluate --known FILE --random-sample, which corrects each persona's size by them")
    .option('--run <dir>', 'run directory (its assignments.csv holds the base)')
    .option('--assignments <file>', 'an assignment file instead (personas models export)')
    .option('--model <version>', "a published version's base instead ('active': the active one; a batch run's)")
    .option('--size <n>', 'customers to draw (about 1,000 bring the size error near 0.03; allow for those who do not answer)')
    .option('--half-width <h>', "instead of --size: draw the fewest customers whose answers should bring every persona's corrected size within ±h (0.01 or 1%: one point), 95 %")
    .option('--seed <n>', 'random seed (the same seed draws the same customers)', '1')
    .requiredOption('--out <file>', 'the file to write (customer_id,persona)')
    .option('--force', 'replace --out when it exists (it may hold the answers already filled in)'))
    .action(async (o: StoreFlags & { run?: string; assignments?: string; model?: string; size?: string; halfWidth?: string; seed: string; out: string; force?: boolean }) => {
      // A survey file already there may hold answers typed in: never replaced unless asked.
      if (existsSync(o.out) && statSync(o.out).isDirectory()) throw new InputError('INPUT_INVALID', `${o.out}: is a directory; give the CSV file to write (--out)`, { field: 'out' });
      if (existsSync(o.out) && !o.force) throw new InputError('INPUT_INVALID', `${o.out} exists (it may hold the survey's answers): choose another --out, or pass --force to replace it`, { field: 'out' });
      if ([o.run, o.assignments, o.model].filter(Boolean).length !== 1) throw new InputError('INPUT_INVALID', 'give one of --run DIR (a run directory), --assignments FILE (an assignment file) or --model VERSION (a published version)', { field: 'run' });
      if ((o.size === undefined) === (o.halfWidth === undefined)) throw new InputError('INPUT_INVALID', 'give one of --size N (customers to draw) or --half-width H (the precision their answers should give)', { field: 'size' });
      if (o.size !== undefined && !/^[1-9]\d*$/.test(o.size)) throw new InputError('INPUT_INVALID', `--size must be a whole number of at least 1 (got "${o.size}")`, { field: 'size' });
      const halfWidth = o.halfWidth === undefined ? null : readHalfWidth(o.halfWidth);
      if (!/^-?\d+$/.test(o.seed)) throw new InputError('INPUT_INVALID', `--seed must be a whole number (got "${o.seed}")`, { field: 'seed' });
      const seed = Number(o.seed);
      const draw = async (base: SurveyBase) => {
        const planner = new SurveyPlanner(base.personas);
        let size = Number(o.size);
        if (halfWidth !== null) {
          // A first pass plans the size, the second draws.
          for await (const c of base.customers()) planner.add(c.label, c.scores);
          size = planner.answersFor(halfWidth);
          return { ...(await drawSurvey((async function* () { for await (const c of base.customers()) yield c.id; })(), size, seed, base.source)), planner };
        }
        return { ...(await drawSurvey(plannedIds(base.customers(), planner), size, seed, base.source)), planner };
      };
      const { ids, customers, planner } = o.model
        ? await withStore(o, async (db) => draw(await versionBase(db, o.model === 'active' ? (await versionDetail(db, null)).version : o.model!)))
        : await draw(await fileBase(o.assignments ?? join(o.run!, 'assignments.csv')));
      mkdirSync(dirname(o.out), { recursive: true });
      const partial = `${o.out}.partial-${process.pid}`;
      writeFileSync(partial, ['customer_id,persona', ...ids.map((id) => `${csvField(id)},`)].join('\n') + '\n');
      renameSync(partial, o.out);
      if (halfWidth !== null) out(`${ids.length} answer(s) should bring every persona's corrected size within ±${(100 * halfWidth).toFixed(1)} points${ids.length === customers ? ' (the whole base: a census)' : ''}`);
      out(`drew ${ids.length} of ${customers} customers at random (seed ${o.seed}) into ${o.out}: fill its persona column with the portrait each picks (its label or id, or none; leave it empty for those who do not answer), then: personas evaluate ${o.run ? `--run ${o.run}` : `--model ${o.model ?? 'VERSION'}`} --known ${o.out} --random-sample (or, for the models to learn from the answers too, personas run ... --known ${o.out} --random-sample --learn-from-known)`);
      for (const line of describeSurveyPlan(planner, ids.length)) out(line);
    });

  withStoreFlags(program
    .command('evaluate')
    .description("check a run's labels (or a published version's) against customers whose persona is known (interviewees, survey respondents, a hand-labelled sample): per persona precision with its 95 % interval against the expected one, recall, mislabels; writes evaluation.json, which the report shows (a version's: kept with it in the store)")
    .option('--run <dir>', 'run directory (written by personas run)')
    .option('--model <version>', "a published version instead of a run ('active': the active one); the evaluation is kept with it, and the report the store serves shows it")
    .requiredOption('--known <file>', 'the known customers: columns customer_id and persona (a persona id or label, or none); CSV in any encoding or delimiter, or an Excel workbook')
    .option('--columns <file>', 'column file naming the known file\'s columns otherwise (known: { id_client: customer_id, portrait: persona })')
    .option('--empty <meaning>', 'an empty persona: skip (the row is left out) or none (the customer is none of the personas, as the demo\'s truth.csv writes it)', 'skip')
    .option('--random-sample', "the known customers were drawn at random from the base (a survey of a random sample): each persona's size is then corrected by them, with its 95 % interval")
    .option('--out <file>', 'where to write the evaluation (default <run>/evaluation.json; with --model, none unless given)')
    .option('--json', 'print the evaluation as JSON'))
    .action(async (o: StoreFlags & { run?: string; model?: string; known: string; columns?: string; empty: string; randomSample?: boolean; out?: string; json?: boolean }) => {
      if (o.empty !== 'skip' && o.empty !== 'none') throw new InputError('INPUT_INVALID', `--empty must be skip or none (got "${o.empty}")`, { field: 'empty' });
      if (!o.run === !o.model) throw new InputError('INPUT_INVALID', 'give --run DIR (a run directory) or --model VERSION (a published version)', { field: 'run' });
      const opts = { columns: o.columns, empty: o.empty, randomSample: o.randomSample === true } as const;
      let evaluation: Evaluation;
      if (o.model) {
        evaluation = await withStore(o, async (db) => {
          const e = await evaluateVersion(db, o.model === 'active' ? null : o.model!, o.known, opts);
          await recordEvaluation(db, e);
          return e;
        });
        process.stderr.write(`kept with version ${evaluation.modelVersion} in the store (its report shows it)\n`);
      } else {
        evaluation = await evaluateRun(o.run!, o.known, opts);
      }
      const file = o.out ?? (o.run ? join(o.run, 'evaluation.json') : undefined);
      if (file) writeEvaluation(file, evaluation);
      if (o.json) out(JSON.stringify(evaluation, null, 2));
      else for (const line of describeEvaluation(evaluation)) out(line);
      if (file) process.stderr.write(`wrote ${file}${o.run && !o.out ? ' (personas report shows it)' : ''}\n`);
    });
}
