// Entry of a worker thread when the product runs from its TypeScript sources: registers tsx's
// loader inside the thread (Node 20 does not apply --import loaders to a worker's entry file),
// then loads the worker module. Being a file of the package, it resolves tsx from here, whatever
// the process's working directory.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.personasWorkerUrl);
