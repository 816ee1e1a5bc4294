// The public reference files shipped in data/reference/ and used when a data directory brings
// none: INSEE's national first-names file (2023 edition, zipped as published) and La Poste's
// postcode file (laposte_hexasmal.csv).
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';
import { InputError } from '../errors.ts';

export const REFERENCE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'data', 'reference');
export const DEFAULT_FIRST_NAMES_ZIP = join(REFERENCE_DIR, 'prenoms-2023-nat_csv.zip');
export const DEFAULT_POSTCODES = join(REFERENCE_DIR, 'laposte_hexasmal.csv');

/**
 * Extracts the single CSV of a zipped reference file into a cache folder (once per file
 * version) and returns its path.
 */
export function extractZippedCsv(zipPath: string): string {
  const st = statSync(zipPath);
  const cacheDir = join(tmpdir(), 'personas-reference');
  const target = join(cacheDir, `${st.size}-${Math.floor(st.mtimeMs)}-${zipPath.split('/').pop()}.csv`);
  if (existsSync(target)) return target;
  const entries = unzipSync(readFileSync(zipPath));
  const csv = Object.keys(entries).find((name) => /\.(csv|txt)$/i.test(name));
  if (!csv) throw new InputError('INPUT_INVALID', `${zipPath}: the archive holds no .csv file`, { file: zipPath });
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, entries[csv]);
  renameSync(tmp, target);
  return target;
}
