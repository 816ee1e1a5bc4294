// One SQL interface over the two stores the product runs on: PostgreSQL through `pg` when a
// database URL is given, else embedded PGlite (PostgreSQL compiled to WASM) in a local folder.
// Same SQL, same migrations; the only difference is how COPY receives its data.
import { PersonasError } from '../errors.ts';

export interface Sql {
  /**
   * A parameterised statement ($1, $2...); values are never spliced into the text. A `name`
   * makes PostgreSQL keep it prepared per connection (the API's hot paths).
   */
  query<T = Record<string, unknown>>(text: string, params?: unknown[], name?: string): Promise<T[]>;
  /** Bulk load with COPY ... FROM STDIN (FORMAT csv); `chunks` are CSV text, whole lines each. */
  copyCsv(table: string, columns: readonly string[], chunks: AsyncIterable<string> | Iterable<string>): Promise<number>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
}

export interface Db extends Sql {
  readonly kind: 'postgres' | 'pglite';
  /** Where the data lives, without credentials (for logs and `personas doctor`). */
  readonly description: string;
  /** Runs `fn` in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** The COPY statement for a table and its columns (names are the code's own constants, checked). */
export function copyStatement(table: string, columns: readonly string[], source: string): string {
  for (const name of [table, ...columns]) {
    if (!IDENTIFIER.test(name)) throw new PersonasError('STORE', `not a plain SQL identifier: '${name}'`);
  }
  return `COPY ${table} (${columns.join(', ')}) FROM ${source} WITH (FORMAT csv)`;
}

/**
 * Where CSV text can be cut between rows: the length of `text` up to and including its last row
 * end (a newline outside quotes), given whether the text starts inside a quoted field; 0 when it
 * holds no row end. Also says whether the text ends inside a quoted field. A doubled quote inside
 * a quoted field toggles twice, so counting quotes is enough.
 */
export function csvRowsEnd(text: string, startsQuoted = false): { end: number; endsQuoted: boolean } {
  let quoted = startsQuoted;
  let end = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) quoted = !quoted;
    else if (c === 10 && !quoted) end = i + 1;
  }
  return { end, endsQuoted: quoted };
}

/** A URL with its password hidden. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable database URL)';
  }
}

export { csvField } from '../features/formats.ts';
