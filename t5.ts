import { syntheticData } from './bench/synthetic.ts';
import { GbdtLearner } from './src/models/gbdt/index.ts';
const tr = syntheticData(20000, 1), te = syntheticData(200000, 2);
const m = new GbdtLearner({ numTrees: 100, earlyStoppingRounds: 0 }).fit({ x: tr, y: tr.y });
for (let k = 0; k < 3; k++) { const t0 = performance.now(); m.predictProba(te); console.log(Math.round(200000 / ((performance.now() - t0) / 1000)), 'rows/s'); }
