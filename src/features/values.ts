// The contract's coded columns (a purchase's channel, a contact's type) as clients write them:
// "Magasin", "Internet", "Email envoyé". A value the contract does not know is kept as `other`
// and counted; the values most rows hold are named, with the contract value each looks like, so
// the user can map them with the column file (`values: { channel: { Magasin: store } }`), never
// by guessing: until mapped, a base whose every purchase says "Magasin" has no store purchase.
import { ident, literal, rows, trimmed, type Duck } from './duck.ts';
import { normalise } from './columns.ts';

export const CHANNELS = ['store', 'web', 'app', 'phone'] as const;
export const INTERACTION_TYPES = [
  'email_sent',
  'email_open',
  'email_click',
  'web_visit',
  'app_session',
  'call',
  'complaint',
  'review',
] as const;

/** The coded columns, the file holding each, and the contract's values. */
export const CODED_COLUMNS = {
  channel: { file: 'transactions', values: CHANNELS as readonly string[] },
  type: { file: 'interactions', values: INTERACTION_TYPES as readonly string[] },
} as const;
export type CodedColumn = keyof typeof CODED_COLUMNS;

/** Per coded column, the client's values (as written) and the contract value each stands for. */
export type ValueMap = Partial<Record<CodedColumn, Record<string, string>>>;

/** A value as the map matches it: no surrounding spaces, lower case, accents off ("  Téléphone" -> "telephone"). */
export function valueKey(value: string): string {
  return value.trim().normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
}

/** SQL: the contract value `map` gives the text column `c`, else NULL (NULL too without a map). */
export function mappedSql(c: string, map: Record<string, string> | undefined): string {
  const entries = Object.entries(map ?? {});
  if (!entries.length) return 'NULL::VARCHAR';
  return `CASE lower(strip_accents(trim(${c}))) ${entries.map(([from, to]) => `WHEN ${literal(valueKey(from))} THEN ${literal(to)}`).join(' ')} END`;
}

/** Per coded column and contract value, what clients write for it, as `normalise` writes them. */
const VALUE_SYNONYMS: Record<CodedColumn, Record<string, string[]>> = {
  channel: {
    store: ['magasin', 'boutique', 'point_de_vente', 'pdv', 'retail', 'shop', 'en_magasin', 'physique', 'caisse', 'agence', 'offline', 'in_store'],
    web: ['internet', 'site', 'site_web', 'site_internet', 'e_commerce', 'ecommerce', 'online', 'en_ligne', 'website', 'e_shop', 'eshop', 'vente_en_ligne', 'digital'],
    app: ['application', 'appli', 'mobile', 'app_mobile', 'application_mobile', 'appli_mobile', 'smartphone'],
    phone: ['telephone', 'tel', 'call_center', 'centre_d_appel', 'centre_d_appels', 'telephonique', 'vente_telephone', 'vente_par_telephone', 'telephone_fixe', 'call_centre', 'centre_appel', 'hotline'],
  },
  type: {
    email_sent: ['email_envoye', 'envoi_email', 'mail_envoye', 'envoi_mail', 'emailing', 'envoi', 'e_mail_envoye', 'newsletter', 'sent', 'delivered', 'email_delivre'],
    email_open: ['ouverture', 'email_ouvert', 'ouverture_email', 'ouverture_mail', 'mail_ouvert', 'open', 'opened', 'email_opened'],
    email_click: ['clic', 'click', 'email_clic', 'clic_email', 'clic_mail', 'clicked', 'email_clicked'],
    web_visit: ['visite', 'visite_web', 'visite_site', 'session_web', 'visit', 'page_view', 'pageview'],
    app_session: ['session_app', 'session_appli', 'session_application', 'ouverture_app', 'ouverture_appli', 'app_open'],
    call: ['appel', 'appel_entrant', 'appel_sortant', 'appel_telephonique', 'telephone', 'phone_call'],
    complaint: ['reclamation', 'plainte', 'litige', 'reclamations'],
    review: ['avis', 'avis_client', 'commentaire', 'note_client', 'evaluation'],
  },
};

/**
 * How client files write a yes/no flag (a purchase's `promo`, contract `0` / `1`): the figures, the
 * French and English words and their initials, a spreadsheet's TRUE and FALSE (VRAI, FAUX in a
 * French one), SAP's X; matched whatever the case and surrounding spaces. None can be read two ways.
 */
export const FLAG_YES = ['1', '1.0', 'oui', 'o', 'yes', 'y', 'true', 'vrai', 'x'];
export const FLAG_NO = ['0', '0.0', 'non', 'n', 'no', 'false', 'faux'];

/** The contract value that `value` (a client's value of coded column `column`) looks like, if any. */
export function suggestValue(column: CodedColumn, value: string): string | undefined {
  const key = normalise(value);
  for (const [contract, names] of Object.entries(VALUE_SYNONYMS[column])) if (names.includes(key)) return contract;
  return undefined;
}

/** A value of a coded column the contract does not know: how many of the rows kept as `other` hold it, and what it looks like. */
export interface UnknownValue {
  value: string;
  rows: number;
  suggestion?: string;
}

/** How many unknown values a reject count names (the most frequent). */
export const UNKNOWN_VALUES_NAMED = 20;

/**
 * The values of coded column `column` (in the raw text table `table`) of the records `checked`
 * kept with reason `reason` (neither the contract's nor mapped), the most frequent first
 * (UNKNOWN_VALUES_NAMED of them), with their rows and the contract value each looks like.
 */
export async function unknownValues(conn: Duck, table: string, checked: string, reason: string, column: CodedColumn | 'promo'): Promise<UnknownValue[]> {
  const c = ident(column);
  const found = (await rows(
    conn,
    `SELECT coalesce(${trimmed(c)}, '') AS value, count(*) AS n FROM ${ident(table)}
     WHERE rowid + 1 IN (SELECT _record FROM ${ident(checked)} WHERE _reason = ${literal(reason)})
     GROUP BY 1 ORDER BY n DESC, value LIMIT ${UNKNOWN_VALUES_NAMED}`,
  )) as { value: string; n: bigint }[];
  return found.map((f) => {
    const suggestion = column === 'promo' ? undefined : suggestValue(column, f.value);
    return { value: f.value, rows: Number(f.n), ...(suggestion ? { suggestion } : {}) };
  });
}

/** The map to add to the column file for the unknown values that look like contract values, as YAML (empty when none). */
export function suggestedValueMap(column: CodedColumn, values: UnknownValue[]): string {
  const pairs = values.filter((v) => v.suggestion).map((v) => `${JSON.stringify(v.value)}: ${v.suggestion}`);
  return pairs.length ? `values: { ${column}: { ${pairs.join(', ')} } }` : '';
}

/** The promotion flags not read as yes or no, in words: read as no promotion. */
export function describeUnknownFlags(values: UnknownValue[], lang: 'en' | 'fr' = 'en'): string {
  const listed = values.map((v) => `"${v.value}" (${v.rows})`).join(', ');
  return lang === 'fr'
    ? `promo ni oui ni non (${FLAG_YES.join(', ')} / ${FLAG_NO.join(', ')}) : ${listed} ; lus comme sans promotion`
    : `promo values neither yes nor no (${FLAG_YES.join(', ')} / ${FLAG_NO.join(', ')}): ${listed}; read as no promotion`;
}

/** The unknown values of a coded column in words, with the map that would read those looking like contract values. */
export function describeUnknownValues(column: CodedColumn, values: UnknownValue[], lang: 'en' | 'fr' = 'en'): string {
  const listed = values.map((v) => `${v.value ? `"${v.value}"` : lang === 'fr' ? '(vide)' : '(empty)'} (${v.rows}${v.suggestion ? (lang === 'fr' ? `, comme ${v.suggestion}` : `, like ${v.suggestion}`) : ''})`).join(', ');
  const map = suggestedValueMap(column, values);
  const known = CODED_COLUMNS[column].values.join(', ');
  if (lang === 'fr')
    return `${column} inconnus du contrat (${known}) : ${listed}` + (map ? ` ; à associer dans le fichier --columns, par exemple ${map}` : ` ; à associer dans le fichier --columns (values: { ${column}: { valeur: ${CODED_COLUMNS[column].values[0]} } })`);
  return `${column} values the contract does not know (${known}): ${listed}` + (map ? `; map them in the --columns file, e.g. ${map}` : `; map them in the --columns file (values: { ${column}: { value: ${CODED_COLUMNS[column].values[0]} } })`);
}
