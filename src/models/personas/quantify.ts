// Quantification (CONTRACT.md section 3): per persona, customers, share of the base, revenue
// (monetary_12m) and its share, mean confidence and estimated prevalence; unassigned as its own
// row; and the cross-table persona x the client's existing `segment`.
import { categoricalColumn, numericColumn, type FeatureTable } from '../../features/table.ts';
import type { Quantification } from '../artefacts.ts';
import type { Assignment } from './assign.ts';

export function quantify(
  table: FeatureTable,
  personas: { id: string; label: string; prevalence: number | null }[],
  a: Assignment,
  modelVersion: string,
): Quantification {
  const n = table.rows;
  const money = numericColumn(table, 'monetary_12m');
  const segment = categoricalColumn(table, 'segment');
  const k = personas.length;
  const customers = new Float64Array(k + 1);
  const revenue = new Float64Array(k + 1);
  const confidence = new Float64Array(k + 1);
  const cross = new Map<string, number>();
  let totalRevenue = 0;
  for (let i = 0; i < n; i++) {
    const slot = a.persona[i] < 0 ? k : a.persona[i];
    const r = money && !Number.isNaN(money[i]) ? money[i] : 0;
    customers[slot]++;
    revenue[slot] += r;
    confidence[slot] += a.confidence[i];
    totalRevenue += r;
    const key = JSON.stringify([a.persona[i] < 0 ? null : personas[a.persona[i]].id, segment ? segment[i] : null]);
    cross.set(key, (cross.get(key) ?? 0) + 1);
  }
  const row = (slot: number) => ({
    persona: slot < k ? personas[slot].id : null,
    label: slot < k ? personas[slot].label : 'Unassigned',
    customers: customers[slot],
    share: n ? customers[slot] / n : 0,
    revenue: Math.round(revenue[slot] * 100) / 100,
    revenueShare: totalRevenue ? revenue[slot] / totalRevenue : 0,
    meanConfidence: slot < k && customers[slot] ? confidence[slot] / customers[slot] : null,
    estimatedPrevalence: slot < k ? personas[slot].prevalence : null,
  });
  return {
    modelVersion,
    customers: n,
    personas: Array.from({ length: k + 1 }, (_, slot) => row(slot)),
    bySegment: [...cross]
      .map(([key, count]) => {
        const [persona, seg] = JSON.parse(key) as [string | null, string | null];
        return { persona, segment: seg, customers: count };
      })
      .sort((x, y) => String(x.persona).localeCompare(String(y.persona)) || String(x.segment).localeCompare(String(y.segment))),
  };
}
