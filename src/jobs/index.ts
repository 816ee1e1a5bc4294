// Public surface of the batch jobs.
export { startRun, runStatus, defaultConcurrency, InProcessQueue, BullQueue, startBullWorker, redisConnection, QUEUE_NAME, type JobQueue, type WorkerOptions } from './runner.ts';
export { summarise, type RunStatus } from './execute.ts';
export { RunRequestSchema, DEFAULT_RETRY, STAGES, type RunRequest, type RunParams, type RetryPolicy } from './types.ts';
