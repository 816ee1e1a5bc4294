// The PostgreSQL store: a `pg` pool; COPY through pg-copy-streams.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { PersonasError } from '../errors.ts';
import { copyStatement, redactUrl, type Db, type Sql } from './db.ts';

// int8 (counts, sums) as JavaScript numbers: every count the product keeps fits in 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

function clientSql(client: pg.PoolClient): Sql {
  return {
    async query<T>(text: string, params: unknown[] = [], name?: string) {
      return (await client.query(name ? { name, text, values: params } : { text, values: params })).rows as T[];
    },
    async copyCsv(table, columns, chunks) {
      const stream = client.query(copyFrom(copyStatement(table, columns, 'STDIN')));
      await pipeline(Readable.from(chunks), stream);
      return stream.rowCount;
    },
    async exec(script) {
      await client.query(script);
    },
  };
}

export async function openPostgres(url: string, opts: { schema?: string; poolSize?: number } = {}): Promise<Db> {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 10,
    ...(opts.schema ? { options: `-c search_path=${opts.schema}` } : {}),
  });
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  const description = `postgres ${redactUrl(url)}${opts.schema ? ` (schema ${opts.schema})` : ''}`;
  try {
    const client = await pool.connect();
    client.release();
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw new PersonasError('STORE', `cannot connect to ${description}: ${(e as Error).message}`);
  }
  const withClient = async <T>(fn: (sql: Sql) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      return await fn(clientSql(client));
    } finally {
      client.release();
    }
  };
  return {
    kind: 'postgres',
    description,
    async query<T>(text: string, params: unknown[] = [], name?: string) {
      return (await pool.query(name ? { name, text, values: params } : { text, values: params })).rows as T[];
    },
    copyCsv: (table, columns, chunks) => withClient((sql) => sql.copyCsv(table, columns, chunks)),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(clientSql(client));
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
    },
    async exec(script) {
      await pool.query(script);
    },
    async close() {
      await pool.end();
    },
  };
}
