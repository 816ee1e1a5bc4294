// How the labels move from one published version to another: what a data scientist checks, and a
// CRM owner asks, before activating a retrained version (customers whose persona flips from one
// month to the next get other campaigns), counted in the store over the two versions' labels. And
// a version's labels (or those that changed since another) written as the contract's assignment file.
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError } from '../errors.ts';
import type { Progress } from '../progress.ts';
import type { Sql } from './db.ts';
import type { ReportModel } from '../report/model.ts';
import type { Lang } from '../report/labels.ts';
import { assignmentHeader, assignmentLine, labelPage, resolveVersion, versionDetail } from './registry.ts';

export interface PersonaChange {
  persona: string;
  /** Customers of both versions labelled with this persona by the first, by the second, by both. */
  from: number;
  to: number;
  kept: number;
  /** Labelled with it by the second version only (from another persona or from unassigned). */
  joined: number;
  /** Labelled with it by the first version only. */
  left: number;
}

export interface LabelChanges {
  from: string;
  to: string;
  customers: {
    /** Customers labelled by both versions: the changes below are counted over them. */
    both: number;
    onlyFrom: number;
    onlyTo: number;
  };
  /** Customers of both versions with the same label (both unassigned included), and their share. */
  unchanged: number;
  unchangedShare: number;
  /** Customers of both versions per (first label, second label), null for unassigned; most first. */
  transitions: { from: string | null; to: string | null; customers: number }[];
  /** Per persona of either version (the second's order, then the first's others). */
  personas: PersonaChange[];
}

/**
 * The label changes from version `from` to version `to` (either null: the active version).
 * Throws NOT_FOUND for a version that is not published, NO_ACTIVE_VERSION when null is given
 * and none is active.
 */
export async function labelChanges(db: Sql, from: string | null, to: string | null): Promise<LabelChanges> {
  const a = await resolveVersion(db, from);
  const b = await resolveVersion(db, to);
  const rows = await db.query<{ f: string | null; t: string | null; n: number }>(
    `SELECT a.persona AS f, b.persona AS t, count(*)::int AS n
     FROM assignments a JOIN assignments b ON b.version = $2 AND b.customer_id = a.customer_id
     WHERE a.version = $1
     GROUP BY a.persona, b.persona`,
    [a.version, b.version],
  );
  const transitions = rows.map((r) => ({ from: r.f, to: r.t, customers: r.n }));
  transitions.sort((x, y) => y.customers - x.customers || String(x.from).localeCompare(String(y.from)) || String(x.to).localeCompare(String(y.to)));
  const both = transitions.reduce((s, t) => s + t.customers, 0);
  const unchanged = transitions.filter((t) => t.from === t.to).reduce((s, t) => s + t.customers, 0);
  const ids = [...new Set([...b.personas, ...a.personas, ...transitions.flatMap((t) => [t.from, t.to]).filter((p): p is string => p !== null)])];
  const count = (pick: (t: LabelChanges['transitions'][number]) => boolean) => transitions.filter(pick).reduce((s, t) => s + t.customers, 0);
  const personas = ids.map((persona) => {
    const kept = count((t) => t.from === persona && t.to === persona);
    const was = count((t) => t.from === persona);
    const is = count((t) => t.to === persona);
    return { persona, from: was, to: is, kept, joined: is - kept, left: was - kept };
  });
  return {
    from: a.version,
    to: b.version,
    customers: { both, onlyFrom: a.customers - both, onlyTo: b.customers - both },
    unchanged,
    unchangedShare: both ? unchanged / both : 0,
    transitions,
    personas,
  };
}

/**
 * Writes the labels of `version` (null: the active one) to `file` as the contract's assignment
 * file, in customer_id order, a page at a time; with `since`, only the labels that differ from
 * that version's (CHANGED_SINCE). The file is written beside its place and renamed over it once
 * complete, so a failed export leaves what was there.
 */
export async function exportLabels(
  db: Sql,
  version: string | null,
  file: string,
  opts: { since?: string | null; pageRows?: number; progress?: Progress; lang?: Lang } = {},
): Promise<{ version: string; since: string | null; rows: number }> {
  if (existsSync(file) && statSync(file).isDirectory()) throw new InputError('INPUT_INVALID', `${file}: is a directory; give the CSV file to write (--out)`, { field: 'out' });
  const v = await resolveVersion(db, version);
  const since = opts.since ? (await resolveVersion(db, opts.since)).version : null;
  opts.progress?.stage(since ? `labels changed since ${since}` : 'labels', since ? undefined : v.customers);
  const pages = labelPages(db, v.version, since, opts.pageRows ?? 10_000, opts.progress);
  if (file.toLowerCase().endsWith('.xlsx')) return exportWorkbook(db, v.version, since, file, pages, opts.lang);
  mkdirSync(dirname(file), { recursive: true });
  const partial = `${file}.partial-${process.pid}`;
  const fd = openSync(partial, 'w');
  let rows = -1; // the header's line is not a label
  try {
    for await (const lines of pages) {
      if (lines.length) writeSync(fd, lines.join('\n') + '\n');
      rows += lines.length;
    }
    closeSync(fd);
    renameSync(partial, file);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(partial, { force: true });
    throw e;
  }
  return { version: v.version, since, rows };
}

/** The lines of the assignment file of `version`'s labels, a page at a time: the header first, alone. */
async function* labelPages(db: Sql, version: string, since: string | null, pageRows: number, progress?: Progress): AsyncGenerator<string[]> {
  let cursor: string | null = null;
  let rows = 0;
  let personas: readonly string[] | null = null;
  do {
    const page = await labelPage(db, version, cursor, pageRows, null, since);
    if (personas === null) {
      personas = page.personas;
      yield [assignmentHeader(personas)];
    }
    yield page.rows.map((r) => assignmentLine(r, version, personas!));
    rows += page.rows.length;
    progress?.tick(rows);
    cursor = page.next;
  } while (cursor !== null);
}

/** The report of a published version (the active one when `version` is null), from its stored artefacts. */
export async function versionReport(db: Sql, version: string | null, lang: Lang = 'en'): Promise<ReportModel> {
  const d = await versionDetail(db, version);
  // The report's modules are loaded by the commands that write one.
  const [{ buildReportModel }, { PortraitStatsSchema }] = await Promise.all([import('../report/model.ts'), import('../report/portraits.ts')]);
  const portraits = d.portraits ? PortraitStatsSchema.safeParse(d.portraits) : null;
  return buildReportModel(
    { manifest: d.manifest, metrics: d.metrics, quantification: d.quantification, portraits: portraits?.success ? portraits.data : null, data: d.dataSummary, evaluation: d.evaluation },
    { lang },
  );
}

/** exportLabels to an Excel workbook: the version's report tables, then its labels (report/workbook.ts). */
async function exportWorkbook(
  db: Sql,
  version: string,
  since: string | null,
  file: string,
  pages: AsyncIterable<string[]>,
  lang: Lang = 'en',
): Promise<{ version: string; since: string | null; rows: number }> {
  const model = await versionReport(db, version, lang);
  async function* lines(): AsyncGenerator<string> {
    for await (const page of pages) yield* page;
  }
  const source = since ? `the labels of ${version} changed since ${since}` : `the labels of ${version}`;
  const { writeReportWorkbook } = await import('../report/workbook.ts');
  const r = await writeReportWorkbook(model, file, { lines: lines(), source });
  return { version, since, rows: r.assignmentRows };
}
