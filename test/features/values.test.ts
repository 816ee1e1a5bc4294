// A purchase's channel and a contact's type as clients write them ("Magasin", "Email envoyé"): an
// unknown value is kept as `other`, counted, and named with the contract value it looks like; the
// column file's `values` reads them as the contract's. A purchase's promotion flag in words (Oui,
// VRAI, X) is read as it says; one neither yes nor no is counted and named.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { columnMapOf, readColumnMap, withTrainedValues } from '../../src/features/column-map.ts';
import { buildFeatures, numericColumn } from '../../src/features/index.ts';
import { readDataSummary } from '../../src/features/summary.ts';
import { describeUnknownFlags, describeUnknownValues } from '../../src/features/values.ts';
import { writeBase } from '../helpers/hand-base.ts';
import { tempDir } from '../helpers/world.ts';

/** The hand-written base with its channels and contact types written the client's way. */
function frenchBase(dir: string): void {
  writeBase(dir);
  const edit = (file: string, pairs: [RegExp, string][]) => {
    const path = join(dir, file);
    writeFileSync(path, pairs.reduce((text, [from, to]) => text.replace(from, to), readFileSync(path, 'utf8')));
  };
  edit('transactions.csv', [[/,store,/g, ',Magasin,'], [/,web,/g, ',  internet ,'], [/,app,/g, ',Drive,']]);
  edit('interactions.csv', [[/,email_sent$/gm, ',Email envoyé'], [/,email_open$/gm, ',Ouverture']]);
}

describe('channels and contact types the client names its own way', () => {
  it('are kept as other and counted, the values named with the contract value each looks like', async () => {
    const data = tempDir();
    frenchBase(data);
    const out = tempDir();
    const build = await buildFeatures({ dataDir: data, outDir: out, asOf: '2026-06-30' });
    const channel = build.rejects.find((r) => r.reason === 'unknown_channel')!;
    expect(channel).toMatchObject({ file: 'transactions', rows: 6 });
    expect(channel.values).toEqual([
      { value: 'Magasin', rows: 4, suggestion: 'store' },
      { value: 'Drive', rows: 1 },
      { value: 'internet', rows: 1, suggestion: 'web' },
    ]);
    expect(build.rejects.find((r) => r.reason === 'unknown_type')!.values).toEqual([
      { value: 'Email envoyé', rows: 4, suggestion: 'email_sent' },
      { value: 'Ouverture', rows: 2, suggestion: 'email_open' },
    ]);
    // Until mapped, no purchase is a store one.
    expect(numericColumn(build.table, 'share_store')![0]).toBe(0);
    expect(readDataSummary(join(out, 'features.json'))!.rejects.find((r) => r.reason === 'unknown_channel')!.values).toEqual(channel.values);
    expect(describeUnknownValues('channel', channel.values!)).toBe(
      'channel values the contract does not know (store, web, app, phone): "Magasin" (4, like store), "Drive" (1), "internet" (1, like web); ' +
        'map them in the --columns file, e.g. values: { channel: { "Magasin": store, "internet": web } }',
    );
  });

  it('are counted among the rows kept as other only (a row rejected for another reason is not), an empty type named as such', async () => {
    const data = tempDir();
    frenchBase(data);
    const path = join(data, 'interactions.csv');
    const text = readFileSync(path, 'utf8').replace('A,2026-01-02T10:00:00,Ouverture', 'A,2026-13-02T10:00:00,Ouverture').replace('A,2026-05-07T12:00:00,complaint', 'A,2026-05-07T12:00:00,');
    writeFileSync(path, text);
    const build = await buildFeatures({ dataDir: data, asOf: '2026-06-30' });
    const unknown = build.rejects.find((r) => r.reason === 'unknown_type')!;
    expect(unknown.rows).toBe(6);
    expect(unknown.values).toEqual([
      { value: 'Email envoyé', rows: 4, suggestion: 'email_sent' },
      { value: '', rows: 1 },
      { value: 'Ouverture', rows: 1, suggestion: 'email_open' },
    ]);
    expect(describeUnknownValues('type', unknown.values!)).toContain('"Email envoyé" (4, like email_sent), (empty) (1), "Ouverture" (1, like email_open)');
  });

  it("are read as the contract's values through the column file's values, whatever their case, accents and spaces", async () => {
    const plain = tempDir();
    writeBase(plain);
    const data = tempDir();
    frenchBase(data);
    const map = join(tempDir(), 'columns.yaml');
    writeFileSync(map, 'values:\n  channel: { MAGASIN: store, Internet: web, drive: app }\n  type: { "email envoye": email_sent, ouverture: email_open }\n');
    const out = tempDir();
    const build = await buildFeatures({ dataDir: data, outDir: out, asOf: '2026-06-30', columnMap: readColumnMap(map) });
    const reference = await buildFeatures({ dataDir: plain, asOf: '2026-06-30' });
    expect(build.rejects).toEqual(reference.rejects);
    expect(build.table.numeric).toEqual(reference.table.numeric);
    expect(readDataSummary(join(out, 'features.json'))!.values).toEqual({ channel: { MAGASIN: 'store', Internet: 'web', drive: 'app' }, type: { 'email envoye': 'email_sent', ouverture: 'email_open' } });
  });
});

describe('the promotion flag as clients write it', () => {
  /** The hand-written base with each purchase's promo flag (six purchases, the second on promotion) written as `flags` says. */
  function flagged(flags: string[]): string {
    const dir = tempDir();
    writeBase(dir);
    const path = join(dir, 'transactions.csv');
    const [header, ...lines] = readFileSync(path, 'utf8').trimEnd().split('\n');
    writeFileSync(path, [header, ...lines.map((line, i) => line.replace(/,[01]$/, `,${flags[i]}`))].join('\n') + '\n');
    return dir;
  }

  it('reads yes and no in words, initials, a spreadsheet\'s TRUE and FALSE or SAP\'s X as 1 and 0, whatever the case', async () => {
    const reference = await buildFeatures({ dataDir: flagged(['0', '1', '0', '0', '0', '0']), asOf: '2026-06-30' });
    const share = numericColumn(reference.table, 'promo_share')!;
    expect(share[0]).toBeGreaterThan(0);
    for (const flags of [
      ['Non', ' OUI ', 'FAUX', ' n ', 'false', 'no'],
      ['N', 'o', 'Faux', 'NON', '0.0', 'n'],
      ['False', 'True', 'false', 'no', 'N', 'non'],
      ['', 'X', '', '', '', ''],
      ['0', 'Vrai', 'faux', '0', '0', '0'],
      ['no', 'Yes', 'No', 'n', 'N', '0'],
      ['0', 'y', '', '0', '0', '0'],
      ['0.0', '1.0', '0', '0', '0', '0'],
    ]) {
      const build = await buildFeatures({ dataDir: flagged(flags), asOf: '2026-06-30' });
      expect(build.rejects, flags.join('|')).toEqual(reference.rejects);
      expect(numericColumn(build.table, 'promo_share'), flags.join('|')).toEqual(share);
    }
  });

  it('counts a flag neither yes nor no as no promotion, naming its values', async () => {
    const out = tempDir();
    const build = await buildFeatures({ dataDir: flagged(['0', 'PROMO', 'soldes', 'PROMO', '0', '2']), outDir: out, asOf: '2026-06-30' });
    const bad = build.rejects.find((r) => r.reason === 'bad_promo')!;
    expect(bad).toMatchObject({ file: 'transactions', rows: 4, action: 'kept: promo 0' });
    expect(bad.values).toEqual([{ value: 'PROMO', rows: 2 }, { value: '2', rows: 1 }, { value: 'soldes', rows: 1 }]);
    const none = await buildFeatures({ dataDir: flagged(['0', '0', '0', '0', '0', '0']), asOf: '2026-06-30' });
    expect(numericColumn(build.table, 'promo_share')).toEqual(numericColumn(none.table, 'promo_share'));
    expect(readDataSummary(join(out, 'features.json'))!.rejects.find((r) => r.reason === 'bad_promo')!.values).toEqual(bad.values);
    expect(describeUnknownFlags(bad.values!)).toBe('promo values neither yes nor no (1, 1.0, oui, o, yes, y, true, vrai, x / 0, 0.0, non, n, no, false, faux): "PROMO" (2), "2" (1), "soldes" (1); read as no promotion');
  });
});

describe('the column file', () => {
  it('names the value whose contract value is not one, and the values expected', () => {
    const path = join(tempDir(), 'columns.yaml');
    writeFileSync(path, 'transactions: { canal: channel }\nvalues:\n  channel: { Magasin: shop }\n');
    expect(() => readColumnMap(path)).toThrow(/columns\.yaml: column map invalid at values\.channel\.Magasin: expected one of store, web, app, phone/);
    writeFileSync(path, 'values:\n  canal: { Magasin: store }\n');
    expect(() => readColumnMap(path)).toThrow(/column map invalid at values: .*canal/);
    writeFileSync(path, 'transactions: { canal: channel }\nvalues:\n  type: { Appel: call }\n');
    expect(readColumnMap(path)).toEqual({ transactions: { canal: 'channel' }, values: { type: { Appel: 'call' } } });
    expect(() => readColumnMap(join(tempDir(), 'absent.yaml'))).toThrow(/absent\.yaml: column map not found/);
  });

  it('is given as a path, as its text or as the map itself (a batch run), each named in errors', () => {
    const path = join(tempDir(), 'columns.json');
    writeFileSync(path, '{"customers": {"id_client": "customer_id"}}');
    expect(columnMapOf(path, 'request')).toEqual({ map: { customers: { id_client: 'customer_id' } }, source: path });
    expect(columnMapOf('values:\n  channel: { Magasin: store }\n', 'request')).toEqual({ map: { values: { channel: { Magasin: 'store' } } }, source: 'request' });
    expect(columnMapOf('{"tiles": {"code": "idcar_200m"}}', 'request').map).toEqual({ tiles: { code: 'idcar_200m' } });
    expect(columnMapOf({ interactions: { canal: 'type' } }, 'request').map).toEqual({ interactions: { canal: 'type' } });
    expect(() => columnMapOf({ customer: { id: 'customer_id' } }, "field 'columns'")).toThrow(/field 'columns': column map invalid at \(root\): .*customer/);
    expect(() => columnMapOf('values: [\n', "field 'columns'")).toThrow(/field 'columns': cannot read the column map/);
  });

  it("takes, scoring with trained models, the values they learnt, with the file's further ones; a value read otherwise is refused", () => {
    const trained = { channel: { Magasin: 'store', Internet: 'web' } };
    // The renames kept, the trained values first, a new spelling added, the same reading repeated in other case allowed.
    expect(withTrainedValues({ customers: { id_client: 'customer_id' }, values: { channel: { Boutique: 'store', ' MAGASIN ': 'store' }, type: { Appel: 'call' } } }, trained, 'version v1', 'columns.yaml')).toEqual({
      customers: { id_client: 'customer_id' },
      values: { channel: { Magasin: 'store', Internet: 'web', Boutique: 'store' }, type: { Appel: 'call' } },
    });
    expect(withTrainedValues(undefined, trained, 'version v1', 'columns.yaml')).toEqual({ values: trained });
    expect(withTrainedValues(undefined, {}, 'version v1', 'columns.yaml')).toEqual({});
    expect(() => withTrainedValues({ values: { channel: { 'intérnet': 'app' } } }, trained, 'version v1', 'columns.yaml')).toThrow(
      "columns.yaml: values.channel.intérnet reads 'intérnet' as app, but the models of version v1 learnt 'Internet' as web: leave it out (the version's map applies) or train a new version",
    );
  });
});
