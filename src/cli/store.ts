// Store and registry commands: migrate, publish, activate, rollback, models, keys. They work on
// PostgreSQL (--database or DATABASE_URL) or on the embedded store (--store DIR, default
// .personas/store).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { LANGS, type Lang } from '../report/labels.ts';
import type { PortraitStats } from '../report/index.ts';
import { InputError } from '../errors.ts';
import {
  activateVersion, createKey, deleteVersion, defaultStoreDir, exportLabels, labelChanges, listKeys, listVersions, migrate, openStore, publishRun, recordedInputs, revokeKey,
  rollback, runSource, versionDetail, modelChanges, pruneVersions, type Db, type LabelChanges, type KnownFigures, type ModelChanges, type PersonaFigures, type PersonaModelChange, type PublishSource,
} from '../store/index.ts';
import { terminalProgress } from './progress-bar.ts';
import { whole } from './training-flags.ts';

export interface StoreFlags {
  database?: string;
  store?: string;
}

/** Adds --database and --store to a command. */
export function withStoreFlags(cmd: Command): Command {
  return cmd
    .option('--database <url>', 'PostgreSQL URL (default: DATABASE_URL; without either, the embedded store)')
    .option('--store <dir>', `embedded store folder when no database is given (default: ${defaultStoreDir()})`);
}

export async function withStore<T>(flags: StoreFlags, fn: (db: Db) => Promise<T>, opts: { migrate?: 'apply' | 'none' } = {}): Promise<T> {
  const db = await openStore({ databaseUrl: flags.database, dataDir: flags.store, migrate: opts.migrate });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

const out = (line: string) => process.stdout.write(line + '\n');

/** Portrait statistics of a run directory for the stored report, when its feature table is there. */
export async function runPortraits(runDir: string): Promise<PortraitStats | undefined> {
  const features = join(runDir, 'features', 'features.parquet');
  const manifestPath = join(runDir, 'model', 'manifest.json');
  if (!existsSync(features) || !existsSync(manifestPath)) return undefined;
  const ids = (JSON.parse(readFileSync(manifestPath, 'utf8')) as { personas: { id: string }[] }).personas.map((p) => p.id);
  const { readPortraitStats } = await import('../report/index.ts');
  return readPortraitStats(features, join(runDir, 'assignments.csv'), ids);
}

const thousands = (n: number) => n.toLocaleString('en-US');

/** The lines `personas models changes` prints: counts, a table per persona, the largest moves. */
export function describeChanges(c: LabelChanges): string[] {
  const name = (p: string | null) => p ?? '(unassigned)';
  const lines = [
    `from ${c.from} to ${c.to}: ${thousands(c.customers.both)} customers labelled by both (${thousands(c.customers.onlyFrom)} only by ${c.from}, ${thousands(c.customers.onlyTo)} only by ${c.to})`,
    `same label: ${thousands(c.unchanged)} (${(100 * c.unchangedShare).toFixed(1)} %)`,
    '',
  ];
  const rows = [['persona', 'from', 'to', 'kept', 'joined', 'left'], ...c.personas.map((p) => [p.persona, ...[p.from, p.to, p.kept, p.joined, p.left].map(thousands)])];
  const unassigned = c.transitions.reduce((s, t) => [s[0] + (t.from === null ? t.customers : 0), s[1] + (t.to === null ? t.customers : 0), s[2] + (t.from === null && t.to === null ? t.customers : 0)], [0, 0, 0]);
  rows.push(['(unassigned)', ...[unassigned[0], unassigned[1], unassigned[2], unassigned[1] - unassigned[2], unassigned[0] - unassigned[2]].map(thousands)]);
  const widths = rows[0].map((_, k) => Math.max(...rows.map((r) => r[k].length)));
  for (const r of rows) lines.push(r.map((v, k) => (k ? v.padStart(widths[k]) : v.padEnd(widths[k]))).join('  '));
  const moves = c.transitions.filter((t) => t.from !== t.to).slice(0, 10);
  if (moves.length) {
    lines.push('', 'largest moves:');
    for (const t of moves) lines.push(`  ${name(t.from)} -> ${name(t.to)}: ${thousands(t.customers)}`);
  }
  return lines;
}

const figure = (v: number | null | undefined, digits = 3) => (v === null || v === undefined ? '-' : v.toFixed(digits));
const percent = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${(100 * v).toFixed(1)} %`);

/** The model changes in lines: the settings that differ, each persona's figures from one version to the other, the personas redefined. */
export function describeModelChanges(c: ModelChanges): string[] {
  const lines = [`models of ${c.to} against those of ${c.from}:`];
  if (c.settings.length) for (const s of c.settings) lines.push(`  ${s.setting}: ${s.from} -> ${s.to}`);
  else lines.push('  made with the same settings (persona file, as_of, seed, learner, known customers learnt from, target precision, min margin, customers, code version, features)');
  const side = (f: PersonaFigures | null, pick: (f: PersonaFigures) => string) => (!f ? 'absent' : f.status === 'skipped' ? 'skipped' : pick(f));
  const pair = (p: PersonaModelChange, pick: (f: PersonaFigures) => string) => {
    const [a, b] = [side(p.from, pick), side(p.to, pick)];
    return a === b ? a : `${a} -> ${b}`;
  };
  // The share corrected by a random sample of known customers, where either version has one.
  const corrected = c.personas.some((p) => p.from?.correctedShare != null || p.to?.correctedShare != null);
  const rows = [
    ['persona', 'seeds', 'validation AUC', 'c', 'threshold', 'expected precision', 'assigned', 'estimated share', ...(corrected ? ['corrected share'] : [])],
    ...c.personas.map((p) => [
      p.persona,
      pair(p, (f) => thousands(f.seeds)),
      pair(p, (f) => figure(f.validationAuc)),
      pair(p, (f) => figure(f.estimatedC)),
      pair(p, (f) => figure(f.threshold)),
      pair(p, (f) => figure(f.expectedPrecision)),
      pair(p, (f) => percent(f.coverage)),
      pair(p, (f) => percent(f.estimatedPrevalence)),
      ...(corrected ? [pair(p, (f) => percent(f.correctedShare))] : []),
    ]),
  ];
  const widths = rows[0].map((_, k) => Math.max(...rows.map((r) => r[k].length)));
  lines.push('');
  for (const r of rows) lines.push(`  ${r.map((v, k) => (k ? v.padStart(widths[k]) : v.padEnd(widths[k]))).join('  ')}`.trimEnd());
  if (c.known.from || c.known.to) {
    const said = (k: KnownFigures | null) => (k ? `precision ${percent(k.precision)}, assigned ${percent(k.coverage)}, macro-F1 ${figure(k.macroF1)} on ${thousands(k.matched)} (${k.file})` : 'not checked');
    lines.push('', `against known customers: ${said(c.known.from)} -> ${said(c.known.to)}${c.known.from && c.known.to && c.known.from.file !== c.known.to.file ? ' (other files: compare with care)' : ''}`);
  }
  const redefined = c.personas.filter((p) => p.definition.length);
  if (redefined.length) lines.push('', `persona file entries changed: ${redefined.map((p) => `${p.persona} (${p.definition.join(', ')})`).join('; ')}`);
  return lines;
}

export function registerStore(program: Command): void {
  withStoreFlags(program.command('migrate').description('create or update the store tables (versioned SQL migrations)')).action(async (f: StoreFlags) => {
    await withStore(
      f,
      async (store) => {
        const r = await migrate(store);
        out(r.applied.length ? `applied ${r.applied.map((m) => `${m.version} ${m.name}`).join(', ')}; ${store.description} is at migration ${r.current}` : `${store.description} is up to date (migration ${r.current})`);
      },
      { migrate: 'none' },
    );
  });

  withStoreFlags(
    program
      .command('publish')
      .description('load a run (model and every label) as a new model version; the active version is untouched unless --activate')
      .option('--run <dir>', 'a run directory (model/, assignments.csv, quantification.json, metrics.json)')
      .option('--model <dir>', 'the model directory, when not given with --run')
      .option('--assignments <file>', 'the assignment file, when not given with --run')
      .option('--activate', 'activate the new version once it is loaded')
      .option('--tiles <file>', 'the INSEE tiles file the features used (default: the one the run\'s features/features.json names)')
      .option('--first-names <file>', 'the births-by-first-name file the features used (default: as --tiles)')
      .option('--postcodes <file>', 'La Poste\'s postcode file the features used (default: as --tiles)'),
  ).action(async (f: StoreFlags & { run?: string; model?: string; assignments?: string; activate?: boolean; tiles?: string; firstNames?: string; postcodes?: string }) => {
    let src: PublishSource;
    if (f.run) src = runSource(f.run);
    else if (f.model && f.assignments) src = { modelDir: f.model, assignments: f.assignments };
    else throw new InputError('INPUT_INVALID', 'give --run DIR, or both --model DIR and --assignments FILE');
    if (f.tiles || f.firstNames || f.postcodes) {
      const recorded = recordedInputs(dirname(src.modelDir)).references;
      src.references = { ...recorded, ...(f.tiles ? { tiles: f.tiles } : {}), ...(f.firstNames ? { first_names: f.firstNames } : {}), ...(f.postcodes ? { postcodes: f.postcodes } : {}) };
    }
    await withStore(f, async (db) => {
      const portraits = f.run ? await runPortraits(f.run) : undefined;
      const r = await publishRun(db, src, { activate: f.activate, progress: terminalProgress(), portraits });
      out(`published ${r.version}: ${r.customers} customers, personas ${r.personas.join(', ')}${r.activated ? '; now active' : `; activate with: personas activate ${r.version}`}`);
      const missing = (['tiles', 'first_names', 'postcodes'] as const).filter((k) => !r.references[k]);
      out(missing.length
        ? `raw-row scoring (POST /v1/score with base) unavailable for this version: no ${missing.join(', ')} reference file (give --tiles / --first-names / --postcodes)`
        : 'raw-row scoring (POST /v1/score with base): available, with the run\'s tiles, first names and postcodes');
    });
  });

  withStoreFlags(program.command('activate').argument('<version>').description('make a published version the one the API serves')).action(async (version: string, f: StoreFlags) => {
    await withStore(f, async (db) => {
      const r = await activateVersion(db, version);
      out(`active: ${r.version}${r.previous && r.previous !== r.version ? ` (was ${r.previous}; \`personas rollback\` goes back)` : ''}`);
    });
  });

  withStoreFlags(program.command('rollback').description('re-activate the version that was active before the current one')).action(async (f: StoreFlags) => {
    await withStore(f, async (db) => {
      const r = await rollback(db);
      out(`active: ${r.version} (was ${r.previous})`);
    });
  });

  const models = program.command('models').description('published model versions');
  withStoreFlags(models.command('list').description('list versions, newest first')).action(async (f: StoreFlags) => {
    await withStore(f, async (db) => {
      const rows = await listVersions(db);
      if (!rows.length) return out('no version published yet: personas publish --run DIR');
      for (const v of rows) out(`${v.status === 'active' ? '*' : ' '} ${v.version}  ${v.status.padEnd(7)}  ${String(v.customers).padStart(9)} customers  ${v.personas.join(', ')}  published ${v.publishedAt}`);
    });
  });
  withStoreFlags(models.command('show').argument('<version>').description("a version's manifest, metrics and check against known customers (personas evaluate) as JSON")).action(async (version: string, f: StoreFlags) => {
    await withStore(f, async (db) => {
      const d = await versionDetail(db, version);
      out(JSON.stringify({ version: d.version, manifest: d.manifest, metrics: d.metrics, evaluation: d.evaluation }, null, 2));
    });
  });
  withStoreFlags(
    models
      .command('changes')
      .argument('<version>')
      .description('how the labels move from another version (default: the active one) to this one, and what differs in its models (settings, each persona\'s figures), before activating it')
      .option('--from <version>', 'the version the labels change from (default: the active one)')
      .option('--json', 'the changes as JSON'),
  ).action(async (version: string, f: StoreFlags & { from?: string; json?: boolean }) => {
    await withStore(f, async (db) => {
      const changes = await labelChanges(db, f.from ?? null, version);
      const models = await modelChanges(db, changes.from, changes.to);
      if (f.json) return out(JSON.stringify({ ...changes, models }, null, 2));
      for (const line of [...describeChanges(changes), '', ...describeModelChanges(models)]) out(line);
    });
  });
  withStoreFlags(
    models
      .command('export')
      .argument('[version]', 'a published version (default: the active one)')
      .description("a version's labels as the contract's assignment file, for the CRM; with --since, only the customers whose label changed")
      .requiredOption('--out <file>', 'the CSV file to write (replaced only once complete); a file ending in .xlsx gets an Excel workbook: the version\'s report tables, then its labels')
      .option('--since <version>', 'only the customers whose persona differs from their label in this version, or who have none there')
      .option('--lang <lang>', 'language of an .xlsx workbook: fr or en', 'en'),
  ).action(async (version: string | undefined, f: StoreFlags & { out: string; since?: string; lang: string }) => {
    if (!(LANGS as readonly string[]).includes(f.lang)) throw new InputError('INPUT_INVALID', `--lang must be fr or en (got "${f.lang}")`, { field: 'lang' });
    await withStore(f, async (db) => {
      const r = await exportLabels(db, version ?? null, f.out, { since: f.since ?? null, progress: terminalProgress(), lang: f.lang as Lang });
      out(`wrote ${r.rows.toLocaleString('en-US')} labels of ${r.version} to ${f.out}${r.since ? ` (those that changed since ${r.since})` : ''}`);
    });
  });
  withStoreFlags(
    models
      .command('prune')
      .description('delete the versions past the N newest (never the active one, the one a rollback goes back to, or one a batch run is scoring), with their labels, then the reference files no version uses')
      .requiredOption('--keep <n>', 'how many of the newest versions to keep')
      .option('--dry-run', 'say what would be deleted, delete nothing'),
  ).action(async (f: StoreFlags & { keep: string; dryRun?: boolean }) => {
    await withStore(f, async (db) => {
      const r = await pruneVersions(db, { keep: whole('--keep', f.keep), dryRun: f.dryRun, progress: terminalProgress() });
      const verb = f.dryRun ? 'would delete' : 'deleted';
      for (const v of r.deleted) out(`${verb} ${v.version} (${thousands(v.customers)} customers, published ${v.publishedAt})`);
      out(`${r.deleted.length ? `${verb} ${r.deleted.length} version(s), ${thousands(r.deleted.reduce((s, v) => s + v.customers, 0))} labels` : 'nothing to delete'}; kept ${r.kept.length}: ${r.kept.join(', ') || '-'}`);
      if (r.references.files) out(`${f.dryRun ? 'would drop' : 'dropped'} ${r.references.files} reference file(s) no version uses (${thousands(r.references.rows)} rows)`);
    });
  });
  withStoreFlags(models.command('delete').argument('<version>').description('delete a version that is not active, with its labels')).action(async (version: string, f: StoreFlags) => {
    await withStore(f, async (db) => {
      await deleteVersion(db, version);
      out(`deleted ${version}`);
    });
  });

  const keys = program.command('keys').description('API keys (stored hashed; the key is shown once)');
  withStoreFlags(
    keys
      .command('create')
      .description('create a key and print it once')
      .requiredOption('--name <name>', 'who uses the key (e.g. crm-prod)')
      .option('--scopes <list>', 'comma-separated: read, score, admin', 'read')
      .option('--rate <n>', 'requests per second allowed', '100'),
  ).action(async (f: StoreFlags & { name: string; scopes: string; rate: string }) => {
    if (!/^\d+$/.test(f.rate) || Number(f.rate) < 1) throw new InputError('INPUT_INVALID', `--rate must be a positive whole number of requests per second (got "${f.rate}")`, { field: 'rate' });
    await withStore(f, async (db) => {
      const { key, token } = await createKey(db, { name: f.name, scopes: f.scopes.split(',').map((s) => s.trim()).filter(Boolean), rateLimit: Number(f.rate) });
      process.stderr.write(`key ${key.id} (${key.name}, scopes ${key.scopes.join(', ')}, ${key.rateLimit}/s): store it now, it is not shown again\n`);
      out(token);
    });
  });
  withStoreFlags(keys.command('list').description('list keys (never their secrets)')).action(async (f: StoreFlags) => {
    await withStore(f, async (db) => {
      for (const k of await listKeys(db)) out(`${k.id}  ${k.name.padEnd(16)}  ${k.scopes.join(',').padEnd(16)}  ${String(k.rateLimit).padStart(6)}/s  created ${k.createdAt}${k.revokedAt ? `  revoked ${k.revokedAt}` : ''}`);
    });
  });
  withStoreFlags(keys.command('revoke').argument('<id>').description('revoke a key (takes effect within 5 s on running servers)')).action(async (id: string, f: StoreFlags) => {
    await withStore(f, async (db) => {
      await revokeKey(db, id);
      out(`revoked ${id}`);
    });
  });
}
