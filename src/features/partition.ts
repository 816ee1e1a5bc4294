// Splits a feature table (Parquet) into row ranges, one file per partition, in row order: the
// batch scoring jobs each read one partition instead of the whole base.
import { join } from 'node:path';
import { InputError } from '../errors.ts';
import { literal, openDuck, rows, run, toNumber } from './duck.ts';

export async function splitFeatureTable(parquetPath: string, parts: number, outDir: string): Promise<{ path: string; rows: number; first: number }[]> {
  if (!Number.isInteger(parts) || parts < 1) throw new InputError('INPUT_INVALID', `partitions must be a whole number of at least 1 (got ${parts})`, { field: 'partitions' });
  const { db, conn } = await openDuck();
  try {
    const [{ n }] = await rows(conn, `SELECT count(*) AS n FROM read_parquet(${literal(parquetPath)})`);
    const total = toNumber(n);
    const out: { path: string; rows: number; first: number }[] = [];
    for (let k = 0; k < parts; k++) {
      const first = Math.floor((k * total) / parts);
      const end = Math.floor(((k + 1) * total) / parts);
      const path = join(outDir, `features-${k}.parquet`);
      await run(
        conn,
        `COPY (SELECT * EXCLUDE (file_row_number) FROM read_parquet(${literal(parquetPath)}, file_row_number = true)
               WHERE file_row_number >= ${first} AND file_row_number < ${end} ORDER BY file_row_number)
         TO ${literal(path)} (FORMAT parquet)`,
      );
      out.push({ path, rows: end - first, first });
    }
    return out;
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}
