// The column file: how a client's export names the contract's columns and writes its coded
// values. Given to `personas features | run | seed | train | score --columns FILE`, to a batch run
// (`personas jobs start --columns FILE`, POST /v1/jobs `columns`), and kept with what it built:
// a published version keeps its value map, so a later month's base scored with its models reads
// "Magasin" as the base it learnt from did.
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { InputError } from '../errors.ts';
import type { ColumnMap } from './sources.ts';
import { CODED_COLUMNS, valueKey, type CodedColumn, type ValueMap } from './values.ts';

const columns = z.record(z.string(), z.string()).optional();
/** The client's values of a coded column, each to one of the contract's. */
const values = (known: readonly string[]) =>
  z.record(z.string(), z.string().refine((v) => known.includes(v), { message: `expected one of ${known.join(', ')}` })).optional();

export const ColumnMapSchema = z
  .object({
    customers: columns,
    transactions: columns,
    interactions: columns,
    tiles: columns,
    first_names: columns,
    known: columns,
    values: z.object({ channel: values(CODED_COLUMNS.channel.values), type: values(CODED_COLUMNS.type.values) }).strict().optional(),
  })
  .strict();

const EXPECTED =
  '(expected { customers: { client_column: contract_column }, ..., values: { channel: { client_value: store|web|app|phone }, type: { client_value: contact type } } })';

/** `raw` (a parsed column file) as a column map; an input error naming `source` and the field otherwise. */
export function parseColumnMap(raw: unknown, source: string): ColumnMap {
  const parsed = ColumnMapSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError('INPUT_INVALID', `${source}: column map invalid at ${issue.path.join('.') || '(root)'}: ${issue.message} ${EXPECTED}`, {
      file: source,
      field: issue.path.join('.'),
    });
  }
  return parsed.data;
}

/**
 * Reads a column file (JSON or YAML): `{ customers: { client_name: contract_name } }`, and the
 * client's values of the coded columns: `{ values: { channel: { Magasin: store } } }`.
 */
export function readColumnMap(path: string): ColumnMap {
  if (!existsSync(path)) throw new InputError('INPUT_MISSING_FILE', `${path}: column map not found`, { file: path });
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InputError('INPUT_INVALID', `${path}: cannot read the column map (${(err as Error).message})`, { file: path });
  }
  return parseColumnMap(raw, path);
}

/**
 * A column map given as a file's path, as the file's JSON or YAML text (anything with a line break
 * or a brace), or already parsed (a request's JSON object), and what names it in errors: the path,
 * else `field`.
 */
export function columnMapOf(given: string | Record<string, unknown>, field: string): { map: ColumnMap; source: string } {
  if (typeof given !== 'string') return { map: parseColumnMap(given, field), source: field };
  if (!/[\n{]/.test(given)) return { map: readColumnMap(given), source: given };
  let raw: unknown;
  try {
    raw = parseYaml(given);
  } catch (err) {
    throw new InputError('INPUT_INVALID', `${field}: cannot read the column map (${(err as Error).message})`, { field });
  }
  return { map: parseColumnMap(raw, field), source: field };
}

/**
 * The value map the models of `model` were trained with, with the client's further values of
 * `given` (a later export writing "Boutique" where the first wrote "Magasin"). A value `given`
 * reads otherwise than the models learnt it is an error naming both: the models would read it
 * as another channel than the one they learnt from.
 */
export function withTrainedValues(given: ColumnMap | undefined, trained: ValueMap, model: string, source: string): ColumnMap {
  const merged: ValueMap = {};
  for (const column of Object.keys(CODED_COLUMNS) as CodedColumn[]) {
    const own = trained[column] ?? {};
    const byKey = new Map(Object.entries(own).map(([from, to]) => [valueKey(from), { from, to }]));
    const extra: Record<string, string> = {};
    for (const [from, to] of Object.entries(given?.values?.[column] ?? {})) {
      const known = byKey.get(valueKey(from));
      if (known && known.to !== to) {
        throw new InputError(
          'INPUT_INVALID',
          `${source}: values.${column}.${from} reads '${from}' as ${to}, but the models of ${model} learnt '${known.from}' as ${known.to}: ` +
            `leave it out (the version's map applies) or train a new version`,
          { file: source, field: `values.${column}.${from}` },
        );
      }
      if (!known) extra[from] = to;
    }
    if (Object.keys(own).length + Object.keys(extra).length) merged[column] = { ...own, ...extra };
  }
  const { values: _given, ...renames } = given ?? {};
  return { ...renames, ...(Object.keys(merged).length ? { values: merged } : {}) };
}
