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

/** The grid CRS covering a WGS84 point: Antilles and Réunion use their own UTM grids. */
export function gridCrsFor(lat: number, lon: number): GridCrs {
  if (lat > 14 && lat < 18.5 && lon > -63.5 && lon < -60.5) return 5490;
  if (lat > -21.6 && lat < -20.7 && lon > 55 && lon < 56) return 2975;
  return 3035;
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
