// Real French places of the demo base: postcode and commune point as listed in La Poste's
// laposte_hexasmal.csv, the kind of neighbourhood, and an affluence level in [-1, 1] that shapes
// the INSEE cells generated around them.

export type PlaceKind = 'city' | 'suburb' | 'town' | 'rural';

export interface Place {
  postcode: string;
  name: string;
  lat: number;
  lon: number;
  kind: PlaceKind;
  affluence: number;
}

export const PLACES: Place[] = [
  { postcode: '75011', name: 'Paris 11', lat: 48.8594154976, lon: 2.37874106024, kind: 'city', affluence: 0.3 },
  { postcode: '75016', name: 'Paris 16', lat: 48.8603987604, lon: 2.2620995594, kind: 'city', affluence: 0.9 },
  { postcode: '75019', name: 'Paris 19', lat: 48.886868623, lon: 2.38469432787, kind: 'city', affluence: -0.5 },
  { postcode: '69006', name: 'Lyon 6', lat: 45.7728507239, lon: 4.85207911437, kind: 'city', affluence: 0.7 },
  { postcode: '69008', name: 'Lyon 8', lat: 45.7342034691, lon: 4.86935722305, kind: 'city', affluence: -0.3 },
  { postcode: '13008', name: 'Marseille 8', lat: 43.2417271832, lon: 5.37464436293, kind: 'city', affluence: 0.5 },
  { postcode: '13015', name: 'Marseille 15', lat: 43.358794754, lon: 5.363407897, kind: 'city', affluence: -0.8 },
  { postcode: '59000', name: 'Lille', lat: 50.6317183168, lon: 3.04783272312, kind: 'city', affluence: 0 },
  { postcode: '33000', name: 'Bordeaux', lat: 44.8572445351, lon: -0.57369678116, kind: 'city', affluence: 0.2 },
  { postcode: '92200', name: 'Neuilly-sur-Seine', lat: 48.8853719688, lon: 2.26642584746, kind: 'suburb', affluence: 1 },
  { postcode: '93200', name: 'Saint-Denis', lat: 48.9295650455, lon: 2.3592429975, kind: 'suburb', affluence: -0.9 },
  { postcode: '78000', name: 'Versailles', lat: 48.8025669671, lon: 2.11789297191, kind: 'suburb', affluence: 0.6 },
  { postcode: '91300', name: 'Massy', lat: 48.7277896426, lon: 2.27513131903, kind: 'suburb', affluence: 0 },
  { postcode: '35000', name: 'Rennes', lat: 48.1119791219, lon: -1.68186449144, kind: 'town', affluence: 0.1 },
  { postcode: '87000', name: 'Limoges', lat: 45.8542549589, lon: 1.2487579024, kind: 'town', affluence: -0.2 },
  { postcode: '15000', name: 'Aurillac', lat: 44.9245233686, lon: 2.44162453828, kind: 'town', affluence: -0.3 },
  { postcode: '24200', name: 'Proissans', lat: 44.9314130626, lon: 1.24431944303, kind: 'rural', affluence: -0.2 },
  { postcode: '46100', name: 'Camburat', lat: 44.6443373032, lon: 1.99856962596, kind: 'rural', affluence: -0.4 },
  { postcode: '04200', name: 'Valernes', lat: 44.2515589736, lon: 5.969547642, kind: 'rural', affluence: 0 },
];

/** Spread of customers around a place, in kilometres. */
export const SPREAD_KM: Record<PlaceKind, number> = { city: 1.2, suburb: 1.8, town: 2.5, rural: 4 };
