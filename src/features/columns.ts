// The names clients give the contract's columns, mostly French ("montant_ttc", "code_postal"):
// used to say which of a file's columns looks like a missing one, never to map it silently.
// A user maps it with --columns once the suggestion is checked.

/** Per contract column, names of the same thing, as `normalise` writes them. */
const SYNONYMS: Record<string, string[]> = {
  customer_id: ['id_client', 'client_id', 'code_client', 'num_client', 'numero_client', 'no_client', 'n_client', 'idclient', 'ref_client', 'customer', 'customerid', 'client', 'id'],
  ts: ['date', 'date_achat', 'date_commande', 'date_transaction', 'date_vente', 'date_contact', 'date_interaction', 'date_evenement', 'datetime', 'timestamp', 'horodatage'],
  amount: ['montant', 'montant_ttc', 'montant_ht', 'ca', 'ca_ttc', 'chiffre_affaires', 'prix', 'total', 'valeur', 'montant_eur'],
  type: ['type_contact', 'type_interaction', 'type_evenement', 'evenement', 'event', 'event_type'],
  first_name: ['prenom', 'firstname', 'first', 'given_name'],
  sex: ['sexe', 'genre', 'civilite', 'civ', 'gender', 'title'],
  birth_year: ['annee_naissance', 'date_naissance', 'naissance', 'birth_date', 'birthdate', 'date_of_birth', 'dob', 'yob'],
  postcode: ['code_postal', 'cp', 'codepostal', 'zip', 'zipcode', 'zip_code', 'postal_code'],
  lat: ['latitude'],
  lon: ['longitude', 'lng'],
  signup_date: ['date_inscription', 'date_creation', 'date_entree', 'date_adhesion', 'date_premier_achat', 'created_at', 'signup', 'inscription'],
  segment: ['segmentation', 'seg', 'segment_client'],
  channel: ['canal', 'canal_vente', 'canal_achat', 'channel_type'],
  category: ['categorie', 'famille', 'rayon', 'univers', 'category_name'],
  promo: ['promotion', 'en_promo', 'remise', 'is_promo'],
  order_id: [
    'id_commande', 'num_commande', 'numero_commande', 'no_commande', 'n_commande', 'commande', 'ref_commande', 'id_ticket', 'num_ticket', 'numero_ticket',
    'no_ticket', 'n_ticket', 'ticket', 'ticket_id', 'num_facture', 'numero_facture', 'no_facture', 'facture', 'id_facture', 'order', 'order_number',
    'order_no', 'invoice', 'invoice_id', 'invoice_number', 'receipt', 'receipt_id', 'basket_id', 'id_panier', 'panier', 'transaction_id', 'id_transaction',
  ],
};

/** Lower case, accents off, every run of other characters as one underscore: "Date d'achat" -> date_d_achat. */
export function normalise(name: string): string {
  return name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');
}

/** The column of `found` that looks like contract column `wanted` (first by the synonyms' order), if any. */
export function lookalike(wanted: string, found: string[]): string | undefined {
  const names = SYNONYMS[wanted] ?? [];
  const byName = new Map(found.map((f) => [normalise(f), f]));
  for (const n of names) {
    const hit = byName.get(n);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/** The contract's optional columns of each validated input. */
export const OPTIONAL_COLUMNS: Record<string, string[]> = {
  customers: ['first_name', 'sex', 'birth_year', 'postcode', 'lat', 'lon', 'signup_date', 'segment'],
  transactions: ['channel', 'category', 'promo', 'order_id'],
  interactions: [],
};

/** A client column that looks like optional contract column `contract` of input `file`, left unmapped. */
export interface ColumnSuggestion {
  file: string;
  column: string;
  contract: string;
}

/** The suggestion as a sentence, with the mapping to give, about `where` (default: the input's name). */
export function describeSuggestion(s: ColumnSuggestion, lang: 'en' | 'fr' = 'en', where = s.file): string {
  const mapping = JSON.stringify({ [s.file]: { [s.column]: s.contract } });
  return lang === 'fr'
    ? `${where} : pas de colonne « ${s.contract} », et « ${s.column} » y ressemble ; elle est lue comme une colonne du client à part tant qu’elle n’est pas associée par --columns, par exemple ${mapping}`
    : `${where}: no "${s.contract}" column, and "${s.column}" looks like one: it is read as a client column of its own unless mapped with --columns, e.g. ${mapping}`;
}

/** A client column carried under another name, its own being a catalogue feature's (`age`). */
export interface RenamedColumn {
  file: string;
  column: string;
  as: string;
}

/** A renamed column in words. */
export function describeRenamed(r: RenamedColumn, lang: 'en' | 'fr' = 'en'): string {
  return lang === 'fr'
    ? `la colonne « ${r.column} » porte le nom d’une variable du catalogue, calculée par le produit : elle est gardée sous le nom « ${r.as} » (à utiliser ainsi dans les règles)`
    : `column "${r.column}" has the name of a catalogue feature, which the product computes: it is carried as "${r.as}" (the name to use in rules)`;
}
