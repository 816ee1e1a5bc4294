// Geographic keys of the INSEE Filosofi 200 m grid: WGS84 -> the grid's projected CRS
// (EPSG:3035 LAEA Europe for metropolitan France, EPSG:5490 for the Antilles, EPSG:2975 for
// Réunion), the 200 m cell of a point, and the parsing of cell ids such as
// `CRS3035RES200mN2029800E4252400` (south-west corner, northing then easting, metres).
import proj4 from 'proj4';

proj4.defs(
  'EPSG:3035',
  '+proj=laea +lat_0=52 +lon_0=10 +x_0=4321000 +y_0=3210000 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs',
);
proj4.defs('EPSG:5490', '+proj=utm +zone=20 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs');
proj4.defs('EPSG:2975', '+proj=utm +zone=40 +south +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs');

export type GridCrs = 3035 | 5490 | 2975;

export const CELL_SIZE = 200;

const converters = new Map<GridCrs, proj4.Converter>();
function converter(crs: GridCrs): proj4.Converter {
  let c = converters.get(crs);
  if (!c) {
    c = proj4('EPSG:4326', `EPSG:${crs}`);
    converters.set(crs, c);
  }
  return c;
}

/**
 * Where the INSEE grid has cells, as WGS84 boxes (open bounds, degrees): metropolitan France with
 * Corsica, the Antilles, Réunion. A customer's point outside them finds no cell; one whose latitude
 * and longitude swapped lie in one was written the other way round (customerPoint).
 */
export const GRID_TERRITORIES: readonly { crs: GridCrs; lat: readonly [number, number]; lon: readonly [number, number] }[] = [
  { crs: 3035, lat: [41, 51.5], lon: [-5.5, 10] },
  { crs: 5490, lat: [14, 18.5], lon: [-63.5, -60.5] },
  { crs: 2975, lat: [-21.6, -20.7], lon: [55, 56] },
];

const within = (t: (typeof GRID_TERRITORIES)[number], lat: number, lon: number) => lat > t.lat[0] && lat < t.lat[1] && lon > t.lon[0] && lon < t.lon[1];

/** Whether a WGS84 point lies in a territory of the grid (GRID_TERRITORIES). */
export function inGridTerritory(lat: number, lon: number): boolean {
  return GRID_TERRITORIES.some((t) => within(t, lat, lon));
}

/** The grid CRS covering a WGS84 point: Antilles and Réunion use their own UTM grids, everything else metropolitan France's. */
export function gridCrsFor(lat: number, lon: number): GridCrs {
  return GRID_TERRITORIES.find((t) => t.crs !== 3035 && within(t, lat, lon))?.crs ?? 3035;
}

/**
 * A customer's coordinates as the feature pipeline reads them (clean.ts cleanCustomers, the same
 * rule in SQL): none past ±90 / ±180 degrees or at 0, 0 (a geocoder's placeholder: the postcode
 * then places the customer); latitude and longitude swapped back where the point lies in none of
 * the grid's territories and the swapped one does (an export writing longitude first, columns
 * mapped the wrong way round). A point outside every territory otherwise stays as written (a
 * customer abroad: no cell).
 */
export function customerPoint(lat: number, lon: number): { lat: number; lon: number; swapped: boolean } | null {
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180 || (lat === 0 && lon === 0)) return null;
  if (!inGridTerritory(lat, lon) && inGridTerritory(lon, lat)) return { lat: lon, lon: lat, swapped: true };
  return { lat, lon, swapped: false };
}

/** Projects WGS84 (lat, lon) degrees to (easting, northing) metres in `crs`. */
export function project(lat: number, lon: number, crs: GridCrs = gridCrsFor(lat, lon)): { x: number; y: number } {
  const [x, y] = converter(crs).forward([lon, lat]);
  return { x, y };
}

export interface Cell {
  crs: GridCrs;
  /** South-west corner, metres. */
  x: number;
  y: number;
}

/** The 200 m cell containing a WGS84 point: project, then floor both coordinates to 200 m. */
export function cellOf(lat: number, lon: number): Cell {
  const crs = gridCrsFor(lat, lon);
  const { x, y } = project(lat, lon, crs);
  return { crs, x: Math.floor(x / CELL_SIZE) * CELL_SIZE, y: Math.floor(y / CELL_SIZE) * CELL_SIZE };
}

/** The INSEE id of a cell: `CRS<crs>RES200mN<northing>E<easting>`. */
export function cellId(cell: Cell): string {
  return `CRS${cell.crs}RES${CELL_SIZE}mN${cell.y}E${cell.x}`;
}

const CELL_ID = /^CRS(\d+)RES(\d+)mN(-?\d+)E(-?\d+)$/i;

/** Parses an INSEE cell id; returns undefined when it is not of the `CRS…RES…mN…E…` form. */
export function parseCellId(id: string): (Cell & { size: number }) | undefined {
  const m = CELL_ID.exec(id.trim());
  if (!m) return undefined;
  const crs = Number(m[1]);
  if (crs !== 3035 && crs !== 5490 && crs !== 2975) return undefined;
  return { crs, size: Number(m[2]), y: Number(m[3]), x: Number(m[4]) };
}
