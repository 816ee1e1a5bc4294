// A contract base as a client's CRM exports it: the customer id column named otherwise, channels
// and contact types in the client's words. With the column map that reads it (RENAMES and
// CLIENT_VALUES), its features are the contract base's to the last digit.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './world.ts';

/** The client's values of the coded columns, as a French CRM export writes them. */
export const CLIENT_VALUES = {
  channel: { Magasin: 'store', Internet: 'web', 'Application mobile': 'app', 'Téléphone': 'phone' },
  type: { 'Email envoyé': 'email_sent', 'Email ouvert': 'email_open' },
};
/** The client's name of the customer id, in every event file too. */
export const RENAMES = { customers: { id_client: 'customer_id' }, transactions: { id_client: 'customer_id' }, interactions: { id_client: 'customer_id' } };

/** A copy of the contract base in `data` (plain comma-separated files) as the client's export. */
export function clientExport(data: string): string {
  const dir = tempDir();
  cpSync(data, dir, { recursive: true });
  const words = (column: keyof typeof CLIENT_VALUES) => new Map(Object.entries(CLIENT_VALUES[column]).map(([client, contract]) => [contract, client]));
  for (const [file, column] of [['customers.csv', null], ['transactions.csv', 'channel'], ['interactions.csv', 'type']] as const) {
    const [header, ...lines] = readFileSync(join(dir, file), 'utf8').trimEnd().split('\n');
    const names = header.split(',');
    const at = column ? names.indexOf(column) : -1;
    const client = column ? words(column) : new Map<string, string>();
    const rewritten = lines.map((line) => {
      if (at < 0) return line;
      const cells = line.split(',');
      cells[at] = client.get(cells[at]) ?? cells[at];
      return cells.join(',');
    });
    writeFileSync(join(dir, file), [names.map((n) => (n === 'customer_id' ? 'id_client' : n)).join(','), ...rewritten].join('\n') + '\n');
  }
  return dir;
}
