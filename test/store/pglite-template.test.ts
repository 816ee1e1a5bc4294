// A new embedded store starts from the cluster cached by the first (PGlite's initdb in WASM takes
// seconds and near a gigabyte): the cache is written once, read by every later new store, never
// holds a store's own rows, and a damaged or unwritable cache falls back to initdb.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listVersions, openStore } from '../../src/store/index.ts';
import { clusterTemplatePath } from '../../src/store/pglite.ts';
import { tempDir } from '../helpers/world.ts';

describe('the cached cluster a new embedded store starts from', () => {
  const before = process.env.XDG_CACHE_HOME;
  let cache = '';
  beforeEach(() => {
    cache = tempDir('personas-cache-');
    process.env.XDG_CACHE_HOME = cache;
  });
  afterEach(() => {
    if (before === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = before;
  });

  const tables = async (db: { query: <T>(sql: string) => Promise<T[]> }) =>
    (await db.query<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).map((r) => r.name);

  it('is written by the first new store, in the cache, and a later store starts from it with none of the first one’s rows', async () => {
    const template = clusterTemplatePath();
    expect(template.startsWith(join(cache, 'personas', 'pglite-'))).toBe(true);
    expect(existsSync(template)).toBe(false);
    // An earlier PGlite version's cluster, of no use to this one, and another file of the user's.
    mkdirSync(join(cache, 'personas'));
    writeFileSync(join(cache, 'personas', 'pglite-0.0.1-cluster.tar.gz'), 'an old cluster');
    writeFileSync(join(cache, 'personas', 'notes.txt'), 'kept');
    const first = await openStore({ databaseUrl: null, dataDir: join(tempDir(), 'store') });
    try {
      expect(readFileSync(template).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
      expect(readdirSync(join(cache, 'personas')).sort()).toEqual(['notes.txt', basename(template)]);
      await first.exec(`CREATE TABLE own_rows (x int); INSERT INTO own_rows VALUES (1)`);
    } finally {
      await first.close();
    }
    // A cluster of our making in the cache, marked: a new store holds the mark, so it was loaded from there.
    const marked = await PGlite.create();
    await marked.exec('CREATE TABLE from_the_cache (x int)');
    writeFileSync(template, Buffer.from(await (await marked.dumpDataDir('gzip')).arrayBuffer()));
    await marked.close();
    for (const dataDir of [join(tempDir(), 'store'), 'memory']) {
      const later = await openStore({ databaseUrl: null, dataDir });
      try {
        const names = await tables(later);
        expect(names).toContain('from_the_cache');
        expect(names).not.toContain('own_rows');
        // Migrated as any new store is.
        expect(names).toContain('model_versions');
        expect(await listVersions(later)).toEqual([]);
      } finally {
        await later.close();
      }
    }
  }, 120_000);

  it('falls back to initdb when the cache is damaged, and writes it anew', async () => {
    const template = clusterTemplatePath();
    mkdirSync(join(cache, 'personas'), { recursive: true });
    writeFileSync(template, 'not a cluster');
    const store = join(tempDir(), 'store');
    const db = await openStore({ databaseUrl: null, dataDir: store });
    try {
      expect(await listVersions(db)).toEqual([]);
      expect(await tables(db)).toContain('model_versions');
    } finally {
      await db.close();
    }
    expect(readFileSync(template).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    // The store reopens as any other.
    const again = await openStore({ databaseUrl: null, dataDir: store });
    await again.close();
  }, 120_000);

  it('makes the store by initdb when the cache cannot be written', async () => {
    // The cache folder's place is a file: nothing can be written under it.
    writeFileSync(join(cache, 'personas'), 'a file');
    const db = await openStore({ databaseUrl: null, dataDir: 'memory' });
    try {
      expect(await listVersions(db)).toEqual([]);
    } finally {
      await db.close();
    }
    expect(existsSync(clusterTemplatePath())).toBe(false);
  }, 120_000);
});
