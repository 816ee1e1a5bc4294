// `personas demo`: writes the demo base (customers, transactions, interactions, tiles,
// first_names, personas.yaml, truth.csv, survey.csv) into a directory, atomically: everything is written to
// a sibling temporary directory that replaces the target only when complete. A directory that is
// not a previous demo output is never overwritten.
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { csvField } from '../features/formats.ts';
import { InputError } from '../errors.ts';
import { cellId, cellOf } from '../features/geo.ts';
import { silentProgress, type Progress } from '../progress.ts';
import { Random } from '../random.ts';
import { DEMO_AS_OF, generateCustomers, PERSONA_IDS } from './generate.ts';
import { DEMO_NAMES, FIRST_YEAR, LAST_YEAR, births } from './names.ts';
import { DEMO_PERSONAS_YAML } from './personas-file.ts';
import { PLACES, SPREAD_KM } from './places.ts';
import { TILE_HEADER, tileRow } from './tiles.ts';

export { DEMO_AS_OF, PERSONA_IDS, DEMO_PERSONAS_YAML };

export const DEMO_MARKER = '.personas-demo';

/** The share of the demo's customers drawn at random for its survey (survey.csv): about 500 of the default 5,000. */
export const SURVEY_SHARE = 0.1;

export interface DemoOptions {
  customers?: number;
  seed?: number;
  /** Replace `outDir` even when it is not a previous demo output. */
  force?: boolean;
  progress?: Progress;
}

export interface DemoResult {
  dir: string;
  customers: number;
  files: Record<string, string>;
}

/** A buffered line writer: lines are gathered and written in blocks of about 1 MB. */
class LineFile {
  private fd: number;
  private buffer: string[] = [];
  private size = 0;
  constructor(path: string, private readonly eol = '\n') {
    this.fd = openSync(path, 'w');
  }
  line(text: string): void {
    this.buffer.push(text);
    this.size += text.length;
    if (this.size > 1 << 20) this.flush();
  }
  flush(): void {
    if (this.buffer.length) writeSync(this.fd, this.buffer.join(this.eol) + this.eol);
    this.buffer = [];
    this.size = 0;
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

export async function writeDemoBase(outDir: string, opts: DemoOptions = {}): Promise<DemoResult> {
  const customers = opts.customers ?? 5000;
  const seed = opts.seed ?? 1;
  const progress = opts.progress ?? silentProgress;
  if (!Number.isInteger(customers) || customers < 100) {
    throw new InputError('INPUT_INVALID', `--customers must be a whole number of at least 100 (got ${customers})`, { field: 'customers' });
  }
  if (!Number.isInteger(seed)) {
    throw new InputError('INPUT_INVALID', `--seed must be a whole number (got ${seed})`, { field: 'seed' });
  }
  if (existsSync(outDir) && !existsSync(join(outDir, DEMO_MARKER)) && !opts.force) {
    throw new InputError(
      'INPUT_INVALID',
      `${outDir} exists and is not a demo output: choose another --out, or pass --force to replace it`,
      { file: outDir },
    );
  }
  mkdirSync(dirname(outDir), { recursive: true });
  const tmp = join(dirname(outDir), `.${basename(outDir)}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    progress.stage('demo base', 3);
    const files = {
      customers: join(tmp, 'customers.csv'),
      transactions: join(tmp, 'transactions.csv'),
      interactions: join(tmp, 'interactions.csv'),
      truth: join(tmp, 'truth.csv'),
      survey: join(tmp, 'survey.csv'),
    };
    const out = {
      customers: new LineFile(files.customers),
      transactions: new LineFile(files.transactions),
      interactions: new LineFile(files.interactions),
      truth: new LineFile(files.truth),
      survey: new LineFile(files.survey),
    };
    // The survey: customers drawn at random (each with SURVEY_SHARE's chance, by a draw of its own,
    // so the base is the same with it or without), who picked the portrait most like them (its
    // label) or none, as a consultant's survey export gives them (personas evaluate --random-sample).
    const surveyDraw = new Random(seed * 104729 + 7);
    const labels = new Map((parseYaml(DEMO_PERSONAS_YAML) as { personas: { id: string; label: string }[] }).personas.map((p) => [p.id, p.label]));
    const cells = generateCustomers(customers, seed, {
      customers: (l) => out.customers.line(l),
      transactions: (l) => out.transactions.line(l),
      interactions: (l) => out.interactions.line(l),
      truth: (l) => {
        out.truth.line(l);
        const [id, persona] = l.split(',');
        if (id === 'customer_id') out.survey.line('customer_id,persona');
        else if (surveyDraw.next() < SURVEY_SHARE) out.survey.line(`${id},${csvField(persona ? labels.get(persona)! : 'none')}`);
      },
    });
    for (const f of Object.values(out)) f.close();
    progress.tick(1);

    // Tiles: every inhabited cell a customer lives in (bar the few drawn off-grid), plus other
    // inhabited cells around each place, as the real file holds many cells without customers.
    const rng = new Random(seed * 7919 + 17);
    const tiles = new LineFile(join(tmp, 'tiles.csv'));
    tiles.line(TILE_HEADER);
    for (const c of cells.values()) if (!c.offGrid) tiles.line(tileRow(c.id, c.kind, c.affluence, rng));
    for (const p of PLACES) {
      for (let k = 0; k < 60; k++) {
        const spread = SPREAD_KM[p.kind] * 1.5;
        const lat = p.lat + rng.normal(0, spread) / 111;
        const lon = p.lon + rng.normal(0, spread) / (111 * Math.cos((p.lat * Math.PI) / 180));
        const id = cellId(cellOf(lat, lon));
        if (cells.has(id)) continue;
        cells.set(id, { id, kind: p.kind, affluence: p.affluence, offGrid: false });
        tiles.line(tileRow(id, p.kind, p.affluence + rng.normal(0, 0.2), rng));
      }
    }
    tiles.close();
    progress.tick(2);

    // First names: INSEE national file format, CRLF, with the special rows the real file has.
    const names = new LineFile(join(tmp, 'first_names.csv'), '\r\n');
    names.line('sexe;preusuel;annais;nombre');
    for (const n of DEMO_NAMES) {
      for (let y = FIRST_YEAR; y <= LAST_YEAR; y++) {
        const b = births(n, y);
        if (b >= 3) names.line(`${n.sex};${n.name};${y};${b}`);
      }
      names.line(`${n.sex};${n.name};XXXX;${20 + (n.peak % 50)}`);
    }
    for (let y = FIRST_YEAR; y <= LAST_YEAR; y++) {
      names.line(`1;_PRENOMS_RARES;${y};${1500 + y - FIRST_YEAR}`);
      names.line(`2;_PRENOMS_RARES;${y};${1700 + y - FIRST_YEAR}`);
    }
    names.close();
    const yaml = new LineFile(join(tmp, 'personas.yaml'));
    yaml.line(DEMO_PERSONAS_YAML.trimEnd());
    yaml.close();
    const marker = new LineFile(join(tmp, DEMO_MARKER));
    marker.line(JSON.stringify({ generator: 'personas demo', customers, seed, asOf: DEMO_AS_OF }));
    marker.close();
    progress.tick(3);

    if (existsSync(outDir)) {
      const old = `${tmp}.old`;
      renameSync(outDir, old);
      renameSync(tmp, outDir);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, outDir);
    }
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  const names = ['customers', 'transactions', 'interactions', 'tiles', 'first_names', 'personas', 'truth', 'survey'];
  const files = Object.fromEntries(names.map((n) => [n, join(outDir, n === 'personas' ? 'personas.yaml' : `${n}.csv`)]));
  return { dir: outDir, customers, files };
}
