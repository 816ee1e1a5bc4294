// The report's words in French and English: section titles, table headings, warning sentences,
// and a dictionary of the contract's features (label, theme, unit, and the noun a consultant's
// sentence uses: "62% more web purchases than the average customer").
import { KEPT_LISTED } from '../features/summary.ts';

export type Lang = 'fr' | 'en';
export const LANGS: readonly Lang[] = ['fr', 'en'];

export type Unit = 'pct' | 'eur' | 'years' | 'days' | 'count' | 'people' | 'ratio';
export type Theme = 'identity' | 'geography' | 'basket' | 'channels' | 'categories' | 'contacts' | 'other';

export interface FeatureWords {
  theme: Theme;
  unit: Unit;
  label: Record<Lang, string>;
  /** Noun for "62% more <noun>" (en) and "62 % <noun> de plus" (fr, with its "de"); absent: the label is used. */
  noun?: { en: string; fr: string; countable: boolean };
}

const KEPT_LISTED_EN = KEPT_LISTED.toLocaleString('en-GB');
const KEPT_LISTED_FR = KEPT_LISTED.toLocaleString('fr-FR');

const f = (theme: Theme, unit: Unit, en: string, fr: string, noun?: FeatureWords['noun']): FeatureWords => ({ theme, unit, label: { en, fr }, noun });
const purchases = (en: string, fr: string) => ({ en: `${en} purchases`, fr: `d'achats ${fr}`, countable: true });

const FEATURES: Record<string, FeatureWords> = {
  age: f('identity', 'years', 'Age', 'Âge'),
  women: f('identity', 'pct', 'Share of women', 'Part de femmes'),
  tenure_days: f('identity', 'days', 'Customer tenure', 'Ancienneté client'),
  optin_email: f('contacts', 'pct', 'Email opt-in', 'Consentement e-mail'),
  frequency_12m: f('basket', 'count', 'Purchases (12 months)', 'Achats (12 mois)', { en: 'purchases', fr: "d'achats", countable: true }),
  monetary_12m: f('basket', 'eur', 'Spending (12 months)', 'Dépenses (12 mois)', { en: 'spending', fr: 'de dépenses', countable: false }),
  avg_basket_12m: f('basket', 'eur', 'Average basket', 'Panier moyen'),
  recency_days: f('basket', 'days', 'Days since last purchase', 'Jours depuis le dernier achat'),
  promo_share: f('basket', 'pct', 'Purchases on promotion', 'Achats en promotion', { en: 'purchases on promotion', fr: "d'achats en promotion", countable: true }),
  weekend_share: f('basket', 'pct', 'Weekend purchases', 'Achats le week-end', purchases('weekend', 'le week-end')),
  december_share: f('basket', 'pct', 'December purchases', 'Achats en décembre', purchases('December', 'en décembre')),
  share_store: f('channels', 'pct', 'Store purchases', 'Achats en magasin', purchases('store', 'en magasin')),
  share_web: f('channels', 'pct', 'Web purchases', 'Achats sur le web', purchases('web', 'sur le web')),
  share_app: f('channels', 'pct', 'App purchases', "Achats sur l'application", purchases('app', "sur l'application")),
  share_phone: f('channels', 'pct', 'Phone purchases', 'Achats par téléphone', purchases('phone', 'par téléphone')),
  email_open_rate: f('contacts', 'pct', 'Email open rate', "Taux d'ouverture des e-mails", { en: 'email opens', fr: "d'ouvertures d'e-mails", countable: true }),
  email_click_rate: f('contacts', 'pct', 'Email click rate', 'Taux de clic des e-mails', { en: 'email clicks', fr: 'de clics dans les e-mails', countable: true }),
  web_visits_12m: f('contacts', 'count', 'Web visits (12 months)', 'Visites web (12 mois)', { en: 'web visits', fr: 'de visites web', countable: true }),
  app_sessions_12m: f('contacts', 'count', 'App sessions (12 months)', 'Sessions app (12 mois)', { en: 'app sessions', fr: 'de sessions sur l’application', countable: true }),
  calls_12m: f('contacts', 'count', 'Calls (12 months)', 'Appels (12 mois)', { en: 'calls', fr: "d'appels", countable: true }),
  complaints_12m: f('contacts', 'count', 'Complaints (12 months)', 'Réclamations (12 mois)', { en: 'complaints', fr: 'de réclamations', countable: true }),
  tile_ind: f('geography', 'people', 'Inhabitants of the 200 m cell', 'Habitants du carreau de 200 m'),
  tile_income: f('geography', 'eur', 'Neighbourhood income per person', 'Revenu par habitant du quartier'),
  tile_share_poor: f('geography', 'pct', 'Poor households nearby', 'Ménages pauvres du quartier'),
  tile_share_single: f('geography', 'pct', 'Single-person households nearby', 'Ménages d’une personne du quartier'),
  tile_share_large: f('geography', 'pct', 'Large households nearby', 'Ménages de 5 personnes ou plus du quartier'),
  tile_share_owner: f('geography', 'pct', 'Home owners nearby', 'Propriétaires du quartier'),
  tile_share_single_parent: f('geography', 'pct', 'Single-parent families nearby', 'Familles monoparentales du quartier'),
  tile_share_flat: f('geography', 'pct', 'Flats nearby', 'Logements collectifs du quartier'),
  tile_share_social: f('geography', 'pct', 'Social housing nearby', 'Logements sociaux du quartier'),
  tile_share_age_0_17: f('geography', 'pct', 'Under-18s nearby', 'Moins de 18 ans du quartier'),
  tile_share_age_18_39: f('geography', 'pct', '18-39 year-olds nearby', '18-39 ans du quartier'),
  tile_share_age_40_64: f('geography', 'pct', '40-64 year-olds nearby', '40-64 ans du quartier'),
  tile_share_age_65p: f('geography', 'pct', 'Over-65s nearby', 'Plus de 65 ans du quartier'),
};

const CATEGORIES_FR: Record<string, string> = {
  food: 'alimentaires',
  home: 'pour la maison',
  fashion: 'de mode',
  electronics: "d'électronique",
  kids: 'pour enfants',
  garden: 'de jardin',
  beauty: 'de beauté',
  gifts: 'de cadeaux',
  sport: 'de sport',
};

/** Features never shown in portraits: technical flags, not traits of people. */
export const PORTRAIT_EXCLUDED = new Set(['age_from_name', 'tile_found', 'lat', 'lon', 'birth_year']);

/** Words for a feature; unknown client columns get their own name as label. */
export function featureWords(name: string): FeatureWords {
  const known = FEATURES[name];
  if (known) return known;
  const cat = /^share_cat_(.+)$/.exec(name)?.[1];
  if (cat) {
    const fr = CATEGORIES_FR[cat] ?? `« ${cat} »`;
    const frLabel = `Achats ${fr.replace(/^d'/, 'd’')}`;
    return f('categories', 'pct', `${cat[0].toUpperCase()}${cat.slice(1)} purchases`, frLabel, purchases(cat, fr));
  }
  return f(name.startsWith('tile_') ? 'geography' : 'other', 'ratio', name, name);
}

/** Label of a model input column (design names: `sex_f`, `department`, `segment=gold`...). */
export function designColumnLabel(name: string, lang: Lang): string {
  if (name === 'sex_f') return lang === 'fr' ? 'Femme' : 'Woman';
  if (name === 'department') return lang === 'fr' ? 'Département' : 'Department';
  const eq = name.indexOf('=');
  if (eq > 0) return `${designColumnLabel(name.slice(0, eq), lang)} = ${name.slice(eq + 1)}`;
  if (name === 'segment') return 'Segment';
  const words = featureWords(name);
  return words.label[lang];
}

const EN = {
  title: 'Persona report',
  subtitle: (version: string, asOf: string, customers: string) => `Model ${version} · features as of ${asOf} · ${customers} customers`,
  contents: 'Contents',
  unassigned: 'Unassigned',
  quantification: 'Who weighs what',
  quantificationIntro: 'Customers assigned to each persona, their share of the base, their revenue over the last 12 months and its share, and the mean confidence of the assignment. Customers whose best persona is not clear enough stay unassigned.',
  persona: 'Persona',
  customers: 'Customers',
  share: 'Share of base',
  revenue: 'Revenue (12 months)',
  revenueShare: 'Share of revenue',
  meanConfidence: 'Mean confidence',
  estimatedPrevalence: 'Estimated prevalence',
  total: 'Total',
  shareKind: 'Measure',
  portraits: 'Portraits',
  portraitsIntro: 'How each persona’s customers differ from the whole base, on the features that set them most apart. Index: the persona’s average as a share of the base average (base = 100).',
  portraitsUnavailable: 'Portraits are unavailable: this report was built without the run’s feature table.',
  portraitNothing: 'No feature sets these customers clearly apart from the base.',
  portraitNoMembers: 'No customer is assigned to this persona: no portrait.',
  feature: 'Feature',
  personaMean: 'Persona average',
  baseMean: 'Base average',
  index: 'Index (base = 100)',
  allFeatures: 'Every feature',
  reach: 'Reach vs precision',
  reachIntro: 'For each persona, how many customers would reach each confidence threshold and the expected precision among them (the mean probability of those customers). The dot marks the threshold in use; the number actually assigned is lower where a customer is claimed by two personas.',
  threshold: 'Threshold',
  expectedPrecision: 'Expected precision',
  customersAbove: 'Customers at or above',
  assigned: 'Assigned',
  chosen: 'In use',
  segments: 'Persona × existing segment',
  segmentsIntro: 'How the personas cross the client’s own segmentation: customers in each cell and, in brackets, the share of the persona’s row.',
  segment: 'Segment',
  noSegment: '(no segment)',
  otherSegments: (n: number) => `${n} other segments`,
  trainingSample: (used: string, customers: string) => `The models learned from a random sample of ${used} of the ${customers} customers (seeds, twins and the other customers alike); every customer was scored by them.`,
  knownSeeds: (customers: string, file: string, personas: string) =>
    `The seeds also hold the customers whose persona is known (${file}, ${customers} of them found in the base): ${personas}. A known member is never left out as mislabelled and grows no twins; like every customer the models learned from, it is labelled by the models of the fold that did not learn from it.`,
  knownSeedsPersona: (label: string, members: string, added: string, removed: string) => `${label}: ${members} known members, ${added} of them not picked by the rule${removed === '0' ? '' : ` (${removed} of its seeds known to be others, taken out)`}`,
  knownLearnt: (customers: string, file: string) =>
    `The models also learned from ${customers} known customers of ${file}, as seeds: each of them is labelled here by the models of the fold that did not learn from it, so the check holds as one on other customers would.`,
  rowShare: 'Share of row',
  quality: 'Model quality',
  qualityIntro: 'Seeds are the customers the key-driver rule picks; twins are look-alikes added as extra examples. Condition views are extra models, one per key-driver condition, each reading only that condition’s data and learning from the customers who meet the other conditions; what they say is added to the persona’s probability, counting less where the persona’s own model or the other conditions already say it. Validation AUC says how well the model tells seeds from other customers on data it did not see (0.5 = chance, 1 = perfect).',
  seeds: 'Seeds',
  twins: 'Twins',
  views: 'Condition views',
  auc: 'Validation AUC',
  labelFrequency: 'Label frequency c',
  coverage: 'Coverage',
  status: 'Status',
  trained: 'trained',
  skipped: 'skipped',
  calibration: 'Calibration (held-out data)',
  predicted: 'Mean predicted score',
  observed: 'Observed share of seeds',
  importance: 'Feature importance (top 10)',
  gain: 'Gain',
  warnings: 'Warnings',
  noWarnings: 'No warning: every persona has enough distinctive seeds and a good model.',
  description: 'Description',
  data: 'The data',
  dataIntro: (customers: string, asOf: string) =>
    `The base held ${customers} customers, described at ${asOf}. Rows that could not be read were left out of the projection (rejected); rows with a value that could be set right were kept (repaired). Each file's rows are listed with their line numbers in rejects/<file>.csv beside the run's feature table (rejects/<folder>/<file>.csv for a file of a folder; of a repair concerning more than ${KEPT_LISTED_EN} rows, the first ${KEPT_LISTED_EN}).`,
  dataUnavailable: 'The data summary is unavailable: this report was built without the run’s features.json.',
  file: 'File',
  rejected: 'Rows rejected',
  repaired: 'Rows repaired',
  reasons: 'Why',
  readAs: 'How it was read',
  asWritten: 'as the contract writes it (UTF-8, commas, ISO dates)',
  none: 'none',
  unmappedColumns: 'Columns that look like the contract’s, read as the client’s own',
  outliers: 'Amounts to check',
  spellings: 'Values written several ways',
  names: 'First names the births file does not hold',
  birthYears: 'Two-digit birth years that look like ages',
  renamed: 'Client columns carried under another name',
  asOfCheck: 'The date the features are computed at',
  known: 'Checked against known customers',
  knownIntro: (file: string, matched: string, none: string, assigned: string, precision: string, coverage: string) =>
    `The run's labels of ${matched} customers whose persona is known (${file}${none}): ${assigned} of them assigned (${coverage}), ${precision} of those rightly. Per persona, the share of the known customers it assigned that are its own, with its 95 % interval, against the precision the run expected; its known members it found (recall). The known shares compare with the mean probabilities only if the known customers are a random sample of the base.`,
  knownNone: (n: string) => `, ${n} of them known to be none of the personas`,
  knownSizes: 'Sizes in the base, corrected by the known customers',
  knownSizesIntro: (n: string) =>
    `The ${n} known customers were drawn at random from the base: each persona's size as the models estimate it (the mean probability over the base) is corrected by the mean gap between membership and probability among them, which holds whatever the models' errors; the interval is at 95 %. Beside it, the sample's own share, which does not use the models (a wider interval).`,
  estimatedByModels: 'Estimated by the models',
  correctedSize: 'Corrected (95 % interval)',
  sampleAlone: 'The sample alone (95 % interval)',
  sampleNotRandom: (statistic: string, df: string, p: string) =>
    `These known customers' labels are spread unlike the base's (chi-square ${statistic} on ${df} degrees of freedom, p ${p}): they do not look drawn at random from it, and the corrected sizes hold only if they were.`,
  quantificationCorrected: (n: string) => `The last column corrects each persona's size by ${n} customers drawn at random from the base whose persona is known (section “Checked against known customers”).`,
  sizeFromSample: 'Size corrected by the sample (95 %)',
  unsampledNote: (share: string) => `${share} of the base carry a label none of the known customers has: no correction for them.`,
  knownCustomers: 'Known',
  right: 'Right',
  observedPrecision: 'Precision (95 % interval)',
  recall: 'Recall',
  knownShare: 'Known share',
  meanProbability: 'Mean probability',
  verdict: 'Verdict',
  verdicts: { consistent: 'as expected', optimistic: 'expected precision optimistic', pessimistic: 'better than expected', 'too few': 'too few assigned to tell' } as Record<string, string>,
  mislabels: 'Most frequent mislabels (known → assigned)',
  knownCalibration: 'The assigned by confidence: the share right should be about the mean confidence',
  confidenceBin: 'Confidence',
  meanConfidenceShort: 'Mean confidence',
  shareRight: 'Share right',
  footer: (code: string) => `Generated by personas ${code}. Offline document: charts drawn with Vega-Lite, data embedded.`,
};

const FR: typeof EN = {
  title: 'Rapport des personas',
  subtitle: (version: string, asOf: string, customers: string) => `Modèle ${version} · données au ${asOf} · ${customers} clients`,
  contents: 'Sommaire',
  unassigned: 'Non affectés',
  quantification: 'Qui pèse quoi',
  quantificationIntro: 'Clients affectés à chaque persona, leur part de la base, leur chiffre d’affaires des 12 derniers mois et sa part, et la confiance moyenne de l’affectation. Les clients dont le persona le plus probable n’est pas assez net restent non affectés.',
  persona: 'Persona',
  customers: 'Clients',
  share: 'Part de la base',
  revenue: 'Chiffre d’affaires (12 mois)',
  revenueShare: 'Part du chiffre d’affaires',
  meanConfidence: 'Confiance moyenne',
  estimatedPrevalence: 'Prévalence estimée',
  total: 'Total',
  shareKind: 'Mesure',
  portraits: 'Portraits',
  portraitsIntro: 'En quoi les clients de chaque persona diffèrent de l’ensemble de la base, sur les variables qui les distinguent le plus. Indice : la moyenne du persona rapportée à celle de la base (base = 100).',
  portraitsUnavailable: 'Portraits indisponibles : ce rapport a été produit sans la table des variables du calcul.',
  portraitNothing: 'Aucune variable ne distingue nettement ces clients de la base.',
  portraitNoMembers: 'Aucun client n’est affecté à ce persona : pas de portrait.',
  feature: 'Variable',
  personaMean: 'Moyenne du persona',
  baseMean: 'Moyenne de la base',
  index: 'Indice (base = 100)',
  allFeatures: 'Toutes les variables',
  reach: 'Portée et précision',
  reachIntro: 'Pour chaque persona, combien de clients atteindraient chaque seuil de confiance, et la précision attendue parmi eux (la probabilité moyenne de ces clients). Le point marque le seuil retenu ; le nombre réellement affecté est plus faible quand deux personas se disputent un client.',
  threshold: 'Seuil',
  expectedPrecision: 'Précision attendue',
  customersAbove: 'Clients au-dessus du seuil',
  assigned: 'Affectés',
  chosen: 'Retenu',
  segments: 'Persona × segment existant',
  segmentsIntro: 'Comment les personas croisent la segmentation du client : nombre de clients par case et, entre parenthèses, la part de la ligne du persona.',
  segment: 'Segment',
  noSegment: '(sans segment)',
  otherSegments: (n: number) => `${n} autres segments`,
  trainingSample: (used: string, customers: string) => `Les modèles ont appris sur un échantillon aléatoire de ${used} des ${customers} clients (graines, jumeaux et autres clients) ; tous les clients ont été scorés.`,
  knownSeeds: (customers: string, file: string, personas: string) =>
    `Les graines comprennent aussi les clients dont le persona est connu (${file}, dont ${customers} trouvés dans la base) : ${personas}. Un membre connu n’est jamais écarté comme mal étiqueté et n’a pas de jumeaux ; comme tout client sur lequel les modèles ont appris, il est étiqueté par les modèles du pli qui n’ont pas appris de lui.`,
  knownSeedsPersona: (label: string, members: string, added: string, removed: string) => `${label} : ${members} membres connus, dont ${added} non retenus par la règle${removed === '0' ? '' : ` (${removed} de ses graines connues pour être autres, retirées)`}`,
  knownLearnt: (customers: string, file: string) =>
    `Les modèles ont aussi appris de ${customers} clients connus de ${file}, comme graines : chacun est étiqueté ici par les modèles du pli qui n’ont pas appris de lui, si bien que le contrôle vaut celui fait sur d’autres clients.`,
  rowShare: 'Part de la ligne',
  quality: 'Qualité des modèles',
  qualityIntro: 'Les graines sont les clients retenus par la règle des critères clés ; les jumeaux sont des clients ressemblants ajoutés comme exemples. Les vues par critère sont des modèles supplémentaires, un par critère clé, chacune ne lisant que les données de son critère et apprise sur les clients qui remplissent les autres critères ; ce qu’elles indiquent s’ajoute à la probabilité du persona, avec moins de poids là où le modèle du persona ou les autres critères le disent déjà. L’AUC de validation mesure la capacité du modèle à distinguer les graines des autres clients sur des données qu’il n’a pas vues (0,5 = hasard, 1 = parfait).',
  seeds: 'Graines',
  twins: 'Jumeaux',
  views: 'Vues par critère',
  auc: 'AUC de validation',
  labelFrequency: 'Fréquence d’étiquetage c',
  coverage: 'Couverture',
  status: 'Statut',
  trained: 'entraîné',
  skipped: 'écarté',
  calibration: 'Calibration (données de validation)',
  predicted: 'Score prédit moyen',
  observed: 'Part de graines observée',
  importance: 'Importance des variables (10 premières)',
  gain: 'Gain',
  warnings: 'Alertes',
  noWarnings: 'Aucune alerte : chaque persona a assez de graines distinctives et un bon modèle.',
  description: 'Description',
  data: 'Les données reçues',
  dataIntro: (customers: string, asOf: string) =>
    `La base comptait ${customers} clients, décrits au ${asOf}. Les lignes illisibles ont été écartées de la projection (rejetées) ; celles dont une valeur a pu être corrigée ont été gardées (corrigées). Le détail de chaque fichier, avec les numéros de ligne, est dans rejects/<fichier>.csv à côté de la table des variables du calcul (rejects/<dossier>/<fichier>.csv pour un fichier d’un dossier ; d’une correction portant sur plus de ${KEPT_LISTED_FR} lignes, les ${KEPT_LISTED_FR} premières).`,
  dataUnavailable: 'Résumé des données indisponible : ce rapport a été produit sans le features.json du calcul.',
  file: 'Fichier',
  rejected: 'Lignes rejetées',
  repaired: 'Lignes corrigées',
  reasons: 'Motifs',
  readAs: 'Lecture',
  asWritten: 'comme le contrat l’écrit (UTF-8, virgules, dates ISO)',
  none: 'aucun',
  unmappedColumns: 'Colonnes qui ressemblent à celles du contrat, lues comme des colonnes du client',
  outliers: 'Montants à vérifier',
  spellings: 'Valeurs écrites de plusieurs façons',
  names: 'Prénoms absents du fichier des naissances',
  birthYears: 'Années de naissance sur deux chiffres qui ressemblent à des âges',
  renamed: 'Colonnes du client gardées sous un autre nom',
  asOfCheck: 'La date à laquelle les variables sont calculées',
  known: 'Contrôle sur des clients connus',
  knownIntro: (file: string, matched: string, none: string, assigned: string, precision: string, coverage: string) =>
    `Les étiquettes de ${matched} clients dont le persona est connu (${file}${none}) : ${assigned} d’entre eux affectés (${coverage}), dont ${precision} à juste titre. Par persona, la part des clients connus qu’il a reçus qui sont bien les siens, avec son intervalle à 95 %, face à la précision attendue ; la part de ses membres connus qu’il a retrouvés (rappel). Les parts connues ne se comparent aux probabilités moyennes que si les clients connus sont un échantillon aléatoire de la base.`,
  knownNone: (n: string) => `, dont ${n} connus pour n’être aucun des personas`,
  knownSizes: 'Tailles dans la base, corrigées par les clients connus',
  knownSizesIntro: (n: string) =>
    `Les ${n} clients connus ont été tirés au hasard dans la base : la taille de chaque persona estimée par les modèles (la probabilité moyenne sur la base) est corrigée de l’écart moyen entre appartenance et probabilité parmi eux, ce qui vaut quelles que soient les erreurs des modèles ; l’intervalle est à 95 %. À côté, la part propre à l’échantillon, qui n’utilise pas les modèles (un intervalle plus large).`,
  estimatedByModels: 'Estimée par les modèles',
  correctedSize: 'Corrigée (intervalle à 95 %)',
  sampleAlone: 'L’échantillon seul (intervalle à 95 %)',
  sampleNotRandom: (statistic: string, df: string, p: string) =>
    `Les étiquettes de ces clients connus se répartissent autrement que celles de la base (khi-deux ${statistic} à ${df} degrés de liberté, p ${p}) : ils ne semblent pas tirés au hasard, et les tailles corrigées ne valent que s’ils l’ont été.`,
  quantificationCorrected: (n: string) => `La dernière colonne corrige la taille de chaque persona par ${n} clients tirés au hasard dans la base dont le persona est connu (section « Contrôle sur des clients connus »).`,
  sizeFromSample: 'Taille corrigée par l’échantillon (95 %)',
  unsampledNote: (share: string) => `${share} de la base portent une étiquette qu’aucun client connu n’a : pas de correction pour eux.`,
  knownCustomers: 'Connus',
  right: 'Justes',
  observedPrecision: 'Précision (intervalle à 95 %)',
  recall: 'Rappel',
  knownShare: 'Part connue',
  meanProbability: 'Probabilité moyenne',
  verdict: 'Verdict',
  verdicts: { consistent: 'conforme', optimistic: 'précision attendue optimiste', pessimistic: 'meilleure qu’attendu', 'too few': 'trop peu d’affectés pour juger' } as Record<string, string>,
  mislabels: 'Erreurs les plus fréquentes (connu → affecté)',
  knownCalibration: 'Les affectés par confiance : la part de justes devrait être proche de la confiance moyenne',
  confidenceBin: 'Confiance',
  meanConfidenceShort: 'Confiance moyenne',
  shareRight: 'Part de justes',
  footer: (code: string) => `Produit par personas ${code}. Document autonome : graphiques Vega-Lite, données incluses.`,
};

export type Texts = typeof EN;
export const TEXT: Record<Lang, Texts> = { en: EN, fr: FR };

/** The input files, as the report names them. */
export const INPUT_FILES: Record<string, Record<Lang, string>> = {
  customers: { en: 'Customers', fr: 'Clients' },
  transactions: { en: 'Purchases', fr: 'Achats' },
  interactions: { en: 'Contacts', fr: 'Contacts' },
};

/** The reference files, named in the report's data section when some of their rows were rejected. */
export const REFERENCE_FILES: Record<string, Record<Lang, string>> = {
  tiles: { en: 'INSEE 200 m grid (tiles)', fr: 'Carreaux INSEE de 200 m' },
  first_names: { en: 'INSEE births by first name', fr: 'Naissances par prénom (INSEE)' },
  postcodes: { en: 'La Poste postcodes', fr: 'Codes postaux de La Poste' },
};

/** The unknown values of a coded column, most frequent first, with the contract value each looks like: `"Magasin" 4 (like store)`. */
export function unknownValuesDetail(values: { value: string; rows: number; suggestion?: string }[], lang: Lang, kind: 'coded' | 'flag' = 'coded'): string {
  const locale = lang === 'fr' ? 'fr-FR' : 'en-GB';
  const like = lang === 'fr' ? 'comme' : 'like';
  const words = values.map((v) => `${v.value ? `"${v.value}"` : lang === 'fr' ? '(vide)' : '(empty)'} ${v.rows.toLocaleString(locale)}${v.suggestion ? ` (${like} ${v.suggestion})` : ''}`).join(', ');
  // A yes/no flag in words no reading can tell (oui, yes, true, vrai, x and their opposites are read).
  if (kind === 'flag') return lang === 'fr' ? `valeurs : ${words} ; lues comme sans promotion` : `values: ${words}; read as no promotion`;
  return lang === 'fr' ? `valeurs : ${words} ; à associer par le fichier --columns (values)` : `values: ${words}; map them in the --columns file (values)`;
}

/** Why a row was rejected or repaired (the reasons of the rejects files), in words. */
const REASONS: Record<string, Record<Lang, string>> = {
  missing_customer_id: { en: 'no customer id', fr: 'identifiant client absent' },
  stray_quote: { en: 'a quote out of place (a quoted field left open, a quote inside an unquoted one)', fr: 'guillemet mal placé (champ entre guillemets non refermé, guillemet dans un champ sans guillemets)' },
  extra_fields: { en: 'more fields than the header', fr: 'plus de champs que l’en-tête' },
  unquoted_line_break: { en: 'a value on two lines without quotes (its lines joined)', fr: 'une valeur sur deux lignes sans guillemets (ses lignes réunies)' },
  repeated_header: { en: 'the header line again (files joined end to end)', fr: 'la ligne d’en-tête répétée (fichiers mis bout à bout)' },
  repeated_in_other_file: {
    en: 'repeats a row of an earlier file of the folder over the dates both cover (overlapping exports)',
    fr: 'répète une ligne d’un fichier précédent du dossier, aux dates que les deux couvrent (exports qui se chevauchent)',
  },
  replaced_in_later_file: {
    en: 'amended in a later file of the folder (the same customer and day, in an overlap of exports): its row read instead',
    fr: 'corrigée dans un fichier suivant du dossier (même client, même jour, dans des exports qui se chevauchent) : sa ligne lue à la place',
  },
  repeated_in_earlier_part: {
    en: 'repeats a row of an earlier export of the same file (its header line repeated) over the dates both cover (overlapping exports joined end to end)',
    fr: 'répète une ligne d’un export précédent du même fichier (sa ligne d’en-tête répétée), aux dates que les deux couvrent (exports qui se chevauchent mis bout à bout)',
  },
  replaced_in_later_part: {
    en: 'amended in a later export of the same file (the same customer and day, in an overlap of exports joined end to end): its row read instead',
    fr: 'corrigée dans un export suivant du même fichier (même client, même jour, dans des exports qui se chevauchent mis bout à bout) : sa ligne lue à la place',
  },
  customer_in_later_file: {
    en: 'the customer is in a later file of the folder too: read from there',
    fr: 'le client est aussi dans un fichier suivant du dossier : lu dans celui-ci',
  },
  bad_date: { en: 'date not readable', fr: 'date illisible' },
  bad_signup_date: {
    en: 'signup date shaped as a date but none (0000-00-00, 2025-02-30, another layout than the file’s) or a placeholder (NA, -): set missing, the customer kept',
    fr: 'date d’inscription en forme de date mais qui n’en est pas une (0000-00-00, 2025-02-30, autre forme que celle du fichier) ou valeur de remplissage (NA, -) : laissée vide, le client gardé',
  },
  implausible_date: { en: 'date after today or a placeholder (1900-01-01 or before)', fr: 'date postérieure à aujourd’hui ou de remplissage (1900-01-01 ou avant)' },
  duplicate_id: { en: 'customer id seen before', fr: 'identifiant client en double' },
  empty_line: { en: 'empty line', fr: 'ligne vide' },
  bad_amount: { en: 'amount not a number', fr: 'montant non numérique' },
  orphan_id: { en: 'customer not in the customer file', fr: 'client absent du fichier clients' },
  reformatted_id: {
    en: 'customer id written without its leading zeros, as 123.0, or in another case (matched to its customer)',
    fr: 'identifiant client écrit sans ses zéros initiaux, en 123.0 ou dans une autre casse (rapproché de son client)',
  },
  bad_birth_year: { en: 'birth year not readable or not plausible (set missing)', fr: 'année de naissance illisible ou invraisemblable (laissée vide)' },
  two_digit_birth_year: {
    en: 'birth year written with two digits (read as a year: 72 as 1972, 05 as 2005, of this century where the customer is 16 or older)',
    fr: 'année de naissance écrite sur deux chiffres (lue comme une année : 72 pour 1972, 05 pour 2005, de ce siècle quand le client a 16 ans ou plus)',
  },
  bad_sex: { en: 'sex not readable (set missing)', fr: 'sexe illisible (laissé vide)' },
  bad_coordinates: {
    en: 'coordinates not readable, past ±90 / ±180 degrees, or 0, 0 (a geocoder’s placeholder) (set missing: the postcode places the customer)',
    fr: 'coordonnées illisibles, au-delà de ±90 / ±180 degrés, ou 0, 0 (valeur de remplissage d’un géocodeur) (laissées vides : le code postal situe le client)',
  },
  swapped_coordinates: {
    en: 'latitude and longitude written the other way round: outside France, in France once swapped (swapped back)',
    fr: 'latitude et longitude écrites l’une pour l’autre : hors de France, en France une fois interverties (remises dans l’ordre)',
  },
  short_postcode: { en: 'postcode missing its leading 0 (restored)', fr: 'code postal sans son 0 initial (rétabli)' },
  decimal_postcode: { en: 'postcode written as a decimal number, 75011.0 (read without its decimals)', fr: 'code postal écrit en nombre décimal, 75011.0 (lu sans ses décimales)' },
  unknown_channel: { en: 'unknown channel (counted as other)', fr: 'canal inconnu (compté en « autre »)' },
  bad_promo: { en: 'promotion flag neither yes nor no (1 or 0, oui or non, true or false..., set to 0)', fr: 'indicateur de promotion ni oui ni non (1 ou 0, oui ou non, vrai ou faux..., mis à 0)' },
  unknown_type: { en: 'unknown contact type (counted as other)', fr: 'type de contact inconnu (compté en « autre »)' },
  bad_cell_id: {
    en: 'not a 200 m cell id of the grid (CRS3035RES200mN…E…, CRS 3035, 5490 or 2975)',
    fr: 'pas un identifiant de carreau de 200 m de la grille (CRS3035RES200mN…E…, CRS 3035, 5490 ou 2975)',
  },
  duplicate_cell: { en: 'cell listed before (its first usable row is kept)', fr: 'carreau déjà listé (sa première ligne utilisable est gardée)' },
  bad_number: { en: 'a count or amount that is not a number from 0', fr: 'un effectif ou un montant qui n’est pas un nombre positif ou nul' },
  missing_first_name: { en: 'no first name', fr: 'prénom absent' },
  bad_sex_code: { en: 'sex code not 1 or 2', fr: 'code de sexe ni 1 ni 2' },
  bad_year: { en: 'birth year not a year (nor XXXX)', fr: 'année de naissance illisible (ni XXXX)' },
  bad_count: { en: 'number of births not a number from 0', fr: 'nombre de naissances non numérique ou négatif' },
  duplicate_name_year: { en: 'first name, sex and year listed before (the first usable row is kept)', fr: 'prénom, sexe et année déjà listés (la première ligne utilisable est gardée)' },
  missing_fields: { en: 'line too short to hold the postcode and the coordinates', fr: 'ligne trop courte pour contenir le code postal et les coordonnées' },
  missing_postcode: { en: 'coordinates without a postcode', fr: 'coordonnées sans code postal' },
  bad_gps: { en: 'coordinates not "lat,lon" in degrees', fr: 'coordonnées qui ne sont pas « lat,lon » en degrés' },
};

export function reasonLabel(reason: string, lang: Lang): string {
  return REASONS[reason]?.[lang] ?? reason;
}
