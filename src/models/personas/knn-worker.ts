// Worker-thread entry of the look-alike search (twins.ts): for a slice of candidate customers,
// the distance to the nearest seed in a shared standardised matrix. Started by twins.ts.
import { parentPort } from 'node:worker_threads';
import { nearestSeedDistances, type NearestSeedTask } from './knn.ts';

parentPort?.on('message', (task: NearestSeedTask & { id: number }) => {
  try {
    const out = nearestSeedDistances(task);
    parentPort!.postMessage({ id: task.id, ok: true, distances: out }, [out.buffer as ArrayBuffer]);
  } catch (err) {
    parentPort!.postMessage({ id: task.id, ok: false, error: (err as Error).message });
  }
});
