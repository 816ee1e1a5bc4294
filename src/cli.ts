// The `personas` command. Each command group lives in src/cli/<group>.ts and registers itself
// here; the pipeline code it calls lives in the modules of DESIGN.md.
import { Command } from 'commander';
import { PersonasError } from './errors.ts';
import { version } from './version.ts';
import { registerDemo } from './cli/demo.ts';
import { registerDoctor } from './cli/doctor.ts';
import { registerFeatures } from './cli/features.ts';
import { registerReport } from './cli/report.ts';
import { registerRun } from './cli/run.ts';
import { registerJobs } from './cli/jobs.ts';
import { registerServe } from './cli/serve.ts';
import { registerStore } from './cli/store.ts';
import { registerScore } from './cli/score.ts';
import { registerSeed } from './cli/seed.ts';
import { registerTrain } from './cli/train.ts';

const program = new Command('personas')
  .description('Projects qualitative marketing personas onto a customer base')
  .version(version);

const groups: Array<(p: Command) => void> = [registerDemo, registerFeatures, registerRun, registerSeed, registerTrain, registerScore, registerReport, registerStore, registerServe, registerJobs, registerDoctor];
for (const register of groups) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof PersonasError) {
    process.stderr.write(`personas: ${err.message}\n`);
    process.exitCode = 2;
  } else if (err instanceof Error && !process.env.PERSONAS_DEBUG) {
    // A system fault (disk full, database gone...): its message, without a stack trace
    // (PERSONAS_DEBUG=1 shows it). Outputs are switched only once complete, so nothing is lost.
    const code = (err as NodeJS.ErrnoException).code;
    process.stderr.write(`personas: ${err.message}${code && !err.message.includes(code) ? ` (${code})` : ''}\n`);
    process.exitCode = 1;
  } else {
    throw err;
  }
}
