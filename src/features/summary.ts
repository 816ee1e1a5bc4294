// The part of a run's features.json that says what the base held and how it was read (customers,
// as-of date, rejected and repaired rows, file formats): shown in the report's data section and
// kept with a published version, so a report drawn from the store shows it too.
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { InputError } from '../errors.ts';

/**
 * How many rows of one repair (a kept row: an id matched without its leading zeros, a channel read
 * as `other`) a rejects file lists; the rest are counted. A repair may concern every row of a file
 * (the ids of 20 million purchases written without their zeros: a 2 GB rejects file that took 49 s
 * of a 163 s feature build, BENCHMARKS.md session 31); its first rows show what was done, the count
 * how often. Rejected rows are all listed, whatever their number.
 */
export const KEPT_LISTED = 10_000;

const FileFormatSchema = z.object({
  encoding: z.enum(['utf-8', 'utf-16le', 'utf-16be', 'windows-1252']),
  delimiter: z.enum([',', ';', '\t']),
  decimalComma: z.boolean(),
  euroAmounts: z.boolean().optional(),
  dateOrder: z.enum(['day-first', 'month-first', 'compact', 'serial', 'month-name', 'unix']).optional(),
  dateSeparator: z.enum(['-', '.']).optional(),
  shortYear: z.boolean().optional(),
  ignoredColumns: z.number().int().nonnegative().optional(),
  workbook: z.object({ sheet: z.string(), otherSheets: z.array(z.string()) }).optional(),
  headerLine: z.number().int().positive().optional(),
  multilineRecords: z.number().int().positive().optional(),
  orderLines: z.object({ lines: z.number().int().nonnegative(), orders: z.number().int().nonnegative() }).optional(),
  joinedParts: z.object({ parts: z.number().int().positive(), repeated: z.number().int().nonnegative(), leftOut: z.number().int().positive().optional(), replaced: z.number().int().positive().optional() }).optional(),
  formulaText: z.array(z.string()).optional(),
  nullText: z.array(z.string()).optional(),
  nullTokens: z.array(z.string()).optional(),
});

/** An input's format; for a folder, its files (each with its own format when written otherwise than the first). */
const FormatSchema = FileFormatSchema.extend({
  files: z
    .array(z.object({ file: z.string(), rows: z.number().int().nonnegative(), repeated: z.number().int().positive().optional(), replaced: z.number().int().positive().optional(), later: z.number().int().positive().optional(), laterChanged: z.number().int().positive().optional(), alike: z.array(z.object({ file: z.string(), from: z.string(), to: z.string(), rows: z.number().int().positive() })).optional(), from: z.string().optional(), to: z.string().optional(), format: FileFormatSchema.optional() }))
    .optional(),
  ignoredFiles: z.array(z.string()).optional(),
  noteFiles: z.array(z.string()).optional(),
});

export const DataSummarySchema = z.object({
  rows: z.number().int().nonnegative(),
  asOf: z.string(),
  rejects: z.array(
    z.object({
      file: z.string(),
      reason: z.string(),
      action: z.string(),
      rows: z.number().int().nonnegative(),
      listed: z.number().int().nonnegative().optional(),
      values: z.array(z.object({ value: z.string(), rows: z.number().int().nonnegative(), suggestion: z.string().optional() })).optional(),
    }),
  ),
  formats: z.record(z.string(), FormatSchema).optional(),
  suggestions: z.array(z.object({ file: z.string(), column: z.string(), contract: z.string() })).optional(),
  /** Amounts far above the median purchase (clean.ts amountOutliers): kept, named to be checked. */
  outliers: z
    .array(z.object({ file: z.string(), rows: z.number().int().positive(), median: z.number(), largest: z.array(z.object({ line: z.number().int(), amount: z.number(), in: z.string().optional() })) }))
    .optional(),
  /** Client values written several ways but for case, accents or spaces (clean.ts segmentSpellings): kept as written, named. */
  spellings: z
    .array(z.object({ file: z.string(), column: z.string(), groups: z.array(z.array(z.object({ value: z.string(), rows: z.number().int().positive() }))) }))
    .optional(),
  /** Customers whose first name the births file does not hold for their sex (names.ts unmatchedNames): their age from the name is missing. */
  names: z
    .array(z.object({ file: z.string(), rows: z.number().int().positive(), withoutAge: z.number().int().nonnegative(), values: z.array(z.object({ value: z.string(), rows: z.number().int().positive() })) }))
    .optional(),
  /** Birth years written with two digits, read as years, that look like ages (names.ts twoDigitBirthYearCheck). */
  birthYears: z
    .array(z.object({ file: z.string(), rows: z.number().int().positive(), named: z.number().int().positive(), correlation: z.number() }))
    .optional(),
  /** Client columns carried under another name, theirs being a catalogue feature's (pipeline.ts assembleFeatures). */
  renamed: z.array(z.object({ file: z.string(), column: z.string(), as: z.string() })).optional(),
  /** A given as_of long after the last purchase, or before many purchases (behaviour.ts asOfCheck). */
  asOfCheck: z
    .object({ asOf: z.string(), lastPurchase: z.string(), purchases: z.number().int().nonnegative(), inWindow: z.number().int().nonnegative(), after: z.number().int().nonnegative() })
    .optional(),
  /** The client's values of the coded columns read as the contract's (the column file's `values`). */
  values: z.object({ channel: z.record(z.string(), z.string()).optional(), type: z.record(z.string(), z.string()).optional() }).optional(),
});

export type DataSummary = z.infer<typeof DataSummarySchema>;

/** The data summary of a features.json, or null when the file is absent; an unreadable file is an input error naming the field. */
export function readDataSummary(path: string): DataSummary | null {
  if (!existsSync(path)) return null;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new InputError('INPUT_INVALID', `${path}: not valid JSON (${(e as Error).message})`, { file: path });
  }
  return parseDataSummary(value, path);
}

/** `value` (a parsed features.json) as a data summary; an input error naming `source` and the field when it is not one. */
export function parseDataSummary(value: unknown, source: string): DataSummary {
  const r = DataSummarySchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new InputError('INPUT_INVALID', `${source}: field '${issue.path.join('.') || '(root)'}': ${issue.message}`, { file: source, field: issue.path.join('.') });
  }
  // The schema keeps the summary's own fields only (features.json also holds every feature's statistics).
  return r.data;
}
