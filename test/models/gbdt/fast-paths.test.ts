// The fast paths of training checked against plain reference code: the radix sort and branchless
// binning, the quantised packed gradients, histograms read four codes per word, and the leaf
// partitions the booster uses instead of walking each tree over the training rows.
import { describe, expect, it } from 'vitest';
import { binColumn, binOf, fitBins, MAX_BINS, sortFloats } from '../../../src/models/gbdt/bins.ts';
import { binMatrix } from '../../../src/models/gbdt/dataset.ts';
import { buildHistogram, codeOffset, newHistogram, pairIndex, setPairs } from '../../../src/models/gbdt/histogram.ts';
import { packedGrad, packedHess, quantiseGradients } from '../../../src/models/gbdt/quantize.ts';
import { growTree } from '../../../src/models/gbdt/tree.ts';
import { Random } from '../../../src/random.ts';
import { syntheticData } from '../../../bench/synthetic.ts';

const rng = new Random(7);

describe('sortFloats', () => {
  it('sorts like TypedArray sort: negatives, -0 before +0, infinities, duplicates, tiny values', () => {
    const special = [0, -0, Infinity, -Infinity, 1e-45, -1e-45, 3.4e38, -3.4e38, 1, 1, -1, 2.5, -2.5];
    const values = Float32Array.from([...special, ...Array.from({ length: 5000 }, () => (rng.next() - 0.5) * 10 ** rng.int(8))]);
    const expected = Float32Array.from(values).sort();
    const sorted = sortFloats(values);
    expect(sorted).toHaveLength(expected.length);
    for (let i = 0; i < expected.length; i++) expect(Object.is(sorted[i], expected[i])).toBe(true);
  });
});

describe('binColumn', () => {
  it('gives the codes of binOf for NaN, values on the edges, between them and beyond them', () => {
    const train = Float32Array.from({ length: 3000 }, () => (rng.next() < 0.1 ? NaN : rng.normal()));
    for (const maxBins of [MAX_BINS - 1, 16, 2]) {
      const bins = fitBins(train, maxBins);
      const probes = [NaN, Infinity, -Infinity, 0, -0, 1e30, -1e30, ...Array.from(bins.edges, (e) => Math.fround(e)), ...Array.from(train)];
      // Float32 neighbours of each edge: one just below, one just above.
      for (const e of bins.edges) probes.push(Math.fround(e) - Math.abs(e) * 1e-6, Math.fround(e) + Math.abs(e) * 1e-6);
      const column = Float32Array.from(probes);
      const codes = binColumn(bins, column);
      for (let i = 0; i < column.length; i++) expect(codes[i]).toBe(binOf(bins, column[i]));
    }
  });
});

describe('quantised gradients', () => {
  const n = 20000;
  const grad = Float64Array.from({ length: n }, () => rng.next() * 2 - 1);
  const hess = Float64Array.from({ length: n }, () => rng.next() * 0.25);
  const rows = Uint32Array.from({ length: n }, (_, i) => i);

  it('unpack to integers within one unit of each value, whose sums track the exact sums, deterministically per seed', () => {
    const q = quantiseGradients(grad, hess, rows, new Float64Array(n), 5);
    let total = 0;
    let g = 0;
    let h = 0;
    for (let i = 0; i < n; i++) {
      const gq = packedGrad(q.packed[i], q.shift);
      const hq = packedHess(q.packed[i], q.shift);
      expect(Number.isInteger(gq) && Number.isInteger(hq) && hq >= 0 && hq < q.shift).toBe(true);
      // Each value is within one unit of the exact one.
      expect(Math.abs(gq * q.gradUnit - grad[i])).toBeLessThanOrEqual(q.gradUnit);
      expect(Math.abs(hq * q.hessUnit - hess[i])).toBeLessThanOrEqual(q.hessUnit);
      total += q.packed[i];
      g += grad[i];
      h += hess[i];
    }
    // The packed total unpacks exactly to the sums of the parts (no carry lost below 2^53).
    expect(Math.abs(total)).toBeLessThan(2 ** 53);
    expect(packedGrad(total, q.shift) * q.gradUnit).toBeCloseTo(g, 2);
    expect(packedHess(total, q.shift) * q.hessUnit).toBeCloseTo(h, 2);
    expect(quantiseGradients(grad, hess, rows, new Float64Array(n), 5).packed).toEqual(q.packed);
    expect(quantiseGradients(grad, hess, rows, new Float64Array(n), 6).packed).not.toEqual(q.packed);
  });

  it('keep values on the grid exact (the stump test relies on it)', () => {
    const q = quantiseGradients(Float64Array.from([0.5, 0.5, -0.5, -0.5]), Float64Array.from([0.25, 0.25, 0.25, 0.25]), Uint32Array.from([0, 1, 2, 3]), new Float64Array(4), 0);
    expect(Array.from(q.packed, (v) => packedGrad(v, q.shift) * q.gradUnit)).toEqual([0.5, 0.5, -0.5, -0.5]);
    expect(Array.from(q.packed, (v) => packedHess(v, q.shift) * q.hessUnit)).toEqual([0.25, 0.25, 0.25, 0.25]);
  });
});

describe('histograms over row-major words', () => {
  it('equal per-feature byte sums of the packed pairs, with a feature count that is not a multiple of 4, all features or a few', () => {
    const data = syntheticData(3001, 51, 11);
    const binned = binMatrix(data, 255);
    // 11 codes padded to 12, then to 16 for the 8-byte packed pair.
    expect(binned.bins.stride).toBe(24);
    const packed = Float64Array.from({ length: data.rows }, () => rng.int(2001) - 1000);
    const rows = Uint32Array.from({ length: data.rows }, (_, i) => i).filter((i) => i % 3 !== 0);
    setPairs(binned.bins, rows, packed);
    expect(binned.bins.pairs[pairIndex(binned.bins, rows[7])]).toBe(packed[rows[7]]);
    for (const ids of [Int32Array.from({ length: 11 }, (_, j) => j), Int32Array.from([2, 5])]) {
      const out = newHistogram(binned.bins);
      buildHistogram(binned.bins, ids, rows, 10, rows.length - 5, out);
      for (const f of ids) {
        const expected = new Float64Array(MAX_BINS);
        for (let i = 10; i < rows.length - 5; i++) expected[binned.columns[f][rows[i]]] += packed[rows[i]];
        expect(out.subarray(f * MAX_BINS, (f + 1) * MAX_BINS)).toEqual(expected);
        // The row-major layout holds the same code as the column.
        expect(binned.bins.codes[17 * binned.bins.stride + codeOffset(f)]).toBe(binned.columns[f][17]);
      }
    }
  });
});

describe('leaf partitions', () => {
  it('put every row in the leaf its raw values walk to, NaN and infinities included', () => {
    const data = syntheticData(4000, 52);
    // Training values never sit on a threshold (edges are midpoints between sampled values; the
    // binColumn test covers values on edges); NaN (features 0 and 4) and extremes do occur.
    data.columns[2][3] = Infinity;
    data.columns[2][4] = -Infinity;
    const binned = binMatrix(data, 255);
    const n = data.rows;
    const grad = Float64Array.from(data.y, (y) => 0.4 - y);
    const hess = new Float64Array(n).fill(0.24);
    const rows = Uint32Array.from({ length: n }, (_, i) => i);
    const featureIds = Int32Array.from({ length: 30 }, (_, j) => j);
    const p = { numLeaves: 31, maxDepth: 8, lambda: 1, minChildWeight: 1e-3, minDataInLeaf: 5, minGain: 0 };
    const { tree, leafBegin, leafEnd } = growTree(
      { ...binned, featureIds, grad, hess, rows, packed: new Float64Array(n), seed: 1, leafOutput: (g, h) => -g / (h + 1) },
      p,
      [],
    );
    expect(tree.leafValue.length).toBeGreaterThan(10);
    expect(Array.from(tree.feature).some((f) => f === 0 || f === 4)).toBe(true);
    const seen = new Uint8Array(n);
    for (let k = 0; k < tree.leafValue.length; k++) {
      for (let i = leafBegin[k]; i < leafEnd[k]; i++) {
        const r = rows[i];
        seen[r]++;
        let node = 0;
        while (node >= 0) {
          const v = data.columns[tree.feature[node]][r];
          node = (v !== v ? tree.defaultLeft[node] === 1 : v <= tree.threshold[node]) ? tree.left[node] : tree.right[node];
        }
        expect(~node).toBe(k);
      }
    }
    expect(seen.every((c) => c === 1)).toBe(true);
  });
});
