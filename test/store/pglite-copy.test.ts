// COPY into the embedded store: PGlite takes COPY input as blobs, each a COPY of its own, so a blob
// must hold whole rows whatever the input's chunks cut (a 49 MB tiles file failed at publish with
// "malformed array literal" when a blob ended mid-row).
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { csvRowsEnd } from '../../src/store/db.ts';
import { openPglite } from '../../src/store/pglite.ts';
import { loadReference } from '../../src/store/references.ts';
import { migrate, readMigrations, type Db } from '../../src/store/index.ts';

const runs = inject('runs');

describe('CSV row ends', () => {
  it('finds the last newline outside quotes, carrying the quoting from one piece to the next', () => {
    expect(csvRowsEnd('a,b\nc,d')).toEqual({ end: 4, endsQuoted: false });
    expect(csvRowsEnd('a,"b\nc",d\ne')).toEqual({ end: 10, endsQuoted: false });
    expect(csvRowsEnd('a,"b\nc')).toEqual({ end: 0, endsQuoted: true });
    expect(csvRowsEnd('x",y\nz', true)).toEqual({ end: 5, endsQuoted: false });
    expect(csvRowsEnd('"ab""\n')).toEqual({ end: 0, endsQuoted: true });
    expect(csvRowsEnd('"a""b"\n')).toEqual({ end: 7, endsQuoted: false });
    expect(csvRowsEnd('no row end')).toEqual({ end: 0, endsQuoted: false });
  });
});

describe('COPY into the embedded store', () => {
  it('cuts its blobs between rows, whatever the chunks cut: arrays, quotes and newlines inside fields', async () => {
    const db = await openPglite(undefined, { blobChars: 500 });
    try {
      await db.exec('CREATE TABLE t (id int, counts text[], note text)');
      const csv = Array.from({ length: 300 }, (_, i) => `${i},"{""${i}"",""${i * 7}"",""""}","line one, of ${i}\nline ""two"""\n`).join('');
      const chunks: string[] = [];
      for (let i = 0; i < csv.length; i += 97) chunks.push(csv.slice(i, i + 97));
      expect(await db.copyCsv('t', ['id', 'counts', 'note'], chunks)).toBe(300);
      const got = await db.query<{ id: number; counts: string[]; note: string }>('SELECT id, counts, note FROM t ORDER BY id');
      expect(got.map((r) => r.id)).toEqual(Array.from({ length: 300 }, (_, i) => i));
      expect(got[123]).toEqual({ id: 123, counts: ['123', '861', ''], note: 'line one, of 123\nline "two"' });
      // Ending without a row end: the last row is copied too.
      await db.copyCsv('t', ['id', 'counts', 'note'], ['300,"{}","last', ' one"']);
      expect(await db.query('SELECT note FROM t WHERE id = 300')).toEqual([{ note: 'last one' }]);
    } finally {
      await db.close();
    }
  });

  it('loads a tiles reference read in file chunks into many blobs, as in one', async () => {
    const load = async (blobChars?: number) => {
      const db: Db = await openPglite(undefined, blobChars ? { blobChars } : {});
      try {
        await migrate(db, readMigrations());
        const sha = await loadReference(db, 'tiles', join(runs.data, 'tiles.csv'));
        const [file] = await db.query<{ rows: number }>('SELECT rows FROM reference_files WHERE sha = $1', [sha]);
        const tiles = await db.query<{ x: string; y: string; counts: string[] }>('SELECT x::text, y::text, counts FROM reference_tiles WHERE sha = $1 ORDER BY crs, x, y', [sha]);
        return { rows: file.rows, tiles };
      } finally {
        await db.close();
      }
    };
    const small = await load(4096);
    const whole = await load();
    expect(small.rows).toBeGreaterThan(50);
    expect(small.tiles.length).toBe(small.rows);
    expect(small).toEqual(whole);
  });
});
