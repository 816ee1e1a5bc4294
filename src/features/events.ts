// An event input (transactions, interactions) read from one file or from a folder of files, as
// systems export them (a month a file): each file loaded with its own encoding, delimiter, header
// and date layout, checked on its own (its rejects in rejects/<input>/<file>.csv, numbered by its
// own lines), its rows repeating an earlier file's over the dates both cover dropped (clean.ts
// rejectOverlaps); one clean view over them all.
import { relative } from 'node:path';
import type { ColumnSuggestion } from './columns.ts';
import { checkedSpan, eventRows, type AlikeKept, type CheckedSpan, type EventFile, type RejectCount } from './clean.ts';
import { ident, rows, run, type Duck } from './duck.ts';
import { describeFormat, type FolderFile, type InputFormat } from './formats.ts';
import { UNKNOWN_VALUES_NAMED } from './values.ts';
import { inputFiles, loadInput, recordLines, type ColumnMap, type LoadedInput } from './sources.ts';

export type EventName = 'transactions' | 'interactions';

/** One file read: the loaded input (its table freed, its checked table kept), and its name in the folder. */
export interface ReadFile {
  input: LoadedInput;
  /** The file's path inside the input's folder; absent for an input given as one file. */
  name?: string;
  /** A folder's file holding usable rows: their first and last days. */
  span?: CheckedSpan;
  /** Rows alike to an earlier file's, kept (clean.ts ALIKE_SHARE). */
  alike?: AlikeKept[];
}

export interface EventRead {
  files: ReadFile[];
  /** Reject counts of the input, summed over its files. */
  rejects: RejectCount[];
  /** How the input is written: its file's format, or for a folder the first file's with every file listed; absent for Parquet. */
  format?: InputFormat;
  suggestions: ColumnSuggestion[];
  /** Makes `<name>_clean` (clean.ts eventRows), after which the files' checked tables may be gone: call once done with them. */
  settle: () => Promise<void>;
}

/** The name of a folder's file without its data extension: its rejects file's, under rejects/<input>/. */
const DATA_EXTENSION = /\.(csv\.gz|csv|parquet|txt|xlsx)$/i;

/**
 * The files input `name` is read from at `path` (sources.ts inputFiles), whether it is a folder,
 * each file's path in it, and each file's rejects file's name under rejects/ (`transactions/2024-01`).
 */
export function inputFolder(
  path: string,
  name: EventName | 'customers',
  columnMap: ColumnMap | undefined,
): { files: string[]; ignored: string[]; notes: string[]; folder: boolean; names: string[]; rejectsNames: string[] } {
  const { files, ignored, notes } = inputFiles(path, { name, columnMap });
  const names = files.map((f) => relative(path, f));
  const stems = names.map((n) => n.replace(DATA_EXTENSION, ''));
  // Two files differing by their extension alone keep it in their rejects file's name.
  const rejectsNames = (new Set(stems).size === stems.length ? stems : names).map((n) => `${name}/${n}`);
  return { files, ignored, notes, folder: files[0] !== path, names, rejectsNames };
}

/**
 * Reads event input `name` at `path` (a file, or a folder of files: sources.ts inputFiles): each
 * file loaded into its own table, checked by `check` (which makes `<table>_checked`), its raw text
 * freed; `settle` then makes `<name>_clean` of the checked tables. A file whose day-and-month dates
 * do not tell their order (no part past 12) is read as another file of the folder tells: when a
 * later file reads month first, the files are read again that way.
 */
export async function readEventInput(
  conn: Duck,
  name: EventName,
  path: string,
  columnMap: ColumnMap | undefined,
  check: (input: LoadedInput, file: EventFile) => Promise<RejectCount[]>,
  /** Steps done of this input: two a file (loaded, checked); back to 0 when the files are read again. */
  tick: (done: number) => void = () => {},
): Promise<EventRead> {
  const { files, ignored, notes, folder, names, rejectsNames } = inputFolder(path, name, columnMap);
  const order = new FolderDateOrder();
  for (;;) {
    const read: ReadFile[] = [];
    const counts: RejectCount[][] = [];
    /** The files read that hold usable rows, with their days. */
    const spans: CheckedSpan[] = [];
    let again = false;
    let done = 0;
    for (const [k, file] of files.entries()) {
      const input = await loadInput(conn, name, file, folder ? `raw_${name}_${k + 1}` : `raw_${name}`, columnMap);
      tick(++done);
      if (order.settle(input, read.map((r) => r.input))) {
        again = true;
        await dropTables(conn, [input.table, ...read.map((r) => `${r.input.table}_checked`)]);
        break;
      }
      const alike: AlikeKept[] = [];
      counts.push(await check(input, { rejects: folder ? rejectsNames[k] : name, earlier: [...spans], alike }));
      await dropTables(conn, [input.table]);
      tick(++done);
      const span = folder ? await checkedSpan(conn, input) : undefined;
      if (span) spans.push({ ...span, rejects: rejectsNames[k], lines: recordLines(input) });
      read.push({ input, ...(folder ? { name: names[k] } : {}), ...(span ? { span } : {}), ...(alike.length ? { alike } : {}) });
    }
    if (again) continue;
    const format = folder ? await folderFormat(conn, read, { ignored: ignored.map((f) => relative(path, f)), notes: notes.map((f) => relative(path, f)) }) : read[0].input.format;
    const suggestions = new Map(read.flatMap((r) => r.input.suggestions).map((s) => [`${s.column}\u0000${s.contract}`, s]));
    const settle = () => eventRows(conn, name, read.map((r) => `${r.input.table}_checked`));
    return { files: read, rejects: counts.length === 1 ? counts[0] : sumCounts(counts), ...(format ? { format } : {}), suggestions: [...suggestions.values()], settle };
  }
}

/**
 * The day-and-month order of a folder's files: a file whose dates do not tell it (no part past 12)
 * is read as a file of the folder whose dates do (month first, written with the same separator).
 */
export class FolderDateOrder {
  /** Set once a file's dates read month first by their own sign: the separator they are written with. */
  private monthFirst: { separator?: string } | undefined;

  /**
   * Reads `input` month first when an earlier file settled it so; true when `input` is the first to
   * settle it and a file read before it (`before`), day first for want of a sign, must be read again.
   */
  settle(input: LoadedInput, before: LoadedInput[]): boolean {
    const separator = input.format?.dateSeparator;
    if (input.dateOrderOpen && this.monthFirst && this.monthFirst.separator === separator) input.format!.dateOrder = 'month-first';
    if (this.monthFirst || input.format?.dateOrder !== 'month-first' || input.dateOrderOpen) return false;
    this.monthFirst = { separator };
    return before.some((r) => r.dateOrderOpen && r.format?.dateSeparator === separator);
  }
}

export async function dropTables(conn: Duck, tables: string[]): Promise<void> {
  for (const t of tables) await run(conn, `DROP TABLE IF EXISTS ${ident(t)}`);
}

/**
 * A folder's format: its first text file's (the contract's when every file is Parquet), with
 * every file listed (its rows, the dates of the rows kept) and, for a file written otherwise, its
 * own; and the folder's files passed over.
 */
async function folderFormat(conn: Duck, read: ReadFile[], passed: PassedOver): Promise<InputFormat> {
  const files: FolderEntry[] = [];
  for (const r of read) {
    const [seen] = (await rows(
      conn,
      `SELECT count(*) AS n, count(*) FILTER (WHERE _reason = 'repeated_in_other_file') AS repeated, count(*) FILTER (WHERE _reason = 'replaced_in_later_file') AS replaced
       FROM ${ident(`${r.input.table}_checked`)}`,
    )) as { n: bigint; repeated: bigint; replaced: bigint }[];
    files.push({
      file: r.name!,
      rows: Number(seen.n),
      ...(r.span ? { from: r.span.from, to: r.span.to } : {}),
      ...(Number(seen.repeated) ? { repeated: Number(seen.repeated) } : {}),
      ...(Number(seen.replaced) ? { replaced: Number(seen.replaced) } : {}),
      ...(r.alike ? { alike: r.alike.map((a) => ({ file: read.find((x) => `${x.input.table}_checked` === a.table)!.name!, from: a.from, to: a.to, rows: a.rows })) } : {}),
      own: r.input.format,
    });
  }
  return assembleFolderFormat(files, passed);
}

/** A folder's file as read, with its own format (none for Parquet). */
export type FolderEntry = Omit<FolderFile, 'format'> & { own?: InputFormat };

/** A folder's files passed over, named from the folder: not data files (`ignored`), text files that are notes. */
export interface PassedOver {
  ignored: string[];
  notes: string[];
}

/** A folder's format from its files: the first text file's, each file listed with its own where written otherwise; the files passed over. */
export function assembleFolderFormat(entries: FolderEntry[], { ignored, notes }: PassedOver): InputFormat {
  const first = entries.find((e) => e.own)?.own;
  const base: InputFormat = first ? { ...first } : { encoding: 'utf-8', delimiter: ',', decimalComma: false };
  const words = (f: InputFormat | undefined) => (f ? describeFormat(f) : []).join('\n');
  const files = entries.map(({ own, ...file }): FolderFile => {
    const format = own ?? { encoding: 'utf-8', delimiter: ',', decimalComma: false };
    return { ...file, ...(words(format) !== words(base) ? { format } : {}) };
  });
  return { ...base, files, ...(ignored.length ? { ignoredFiles: ignored } : {}), ...(notes.length ? { noteFiles: notes } : {}) };
}

/** Reject counts of several files of one input, summed by reason and action (the values named of each, summed by value). */
export function sumCounts(counts: RejectCount[][]): RejectCount[] {
  const out = new Map<string, RejectCount>();
  for (const c of counts.flat()) {
    const key = `${c.reason}\u0000${c.action}`;
    const had = out.get(key);
    if (!had) {
      out.set(key, { ...c, ...(c.values ? { values: c.values.map((v) => ({ ...v })) } : {}) });
      continue;
    }
    // A file listing all its rows of a repair lists min(rows, KEPT_LISTED): summed, as the rows.
    if (had.listed !== undefined || c.listed !== undefined) had.listed = (had.listed ?? had.rows) + (c.listed ?? c.rows);
    had.rows += c.rows;
    if (c.values) {
      const values = new Map((had.values ?? []).map((v) => [v.value, v]));
      for (const v of c.values) {
        const same = values.get(v.value);
        if (same) same.rows += v.rows;
        else values.set(v.value, { ...v });
      }
      had.values = [...values.values()].sort((a, b) => b.rows - a.rows || a.value.localeCompare(b.value)).slice(0, UNKNOWN_VALUES_NAMED);
    }
  }
  return [...out.values()].sort((a, b) => a.reason.localeCompare(b.reason));
}
