// The `personas` command. Each command group lives in src/cli/<group>.ts and registers itself
// here; the pipeline code it calls lives in the modules of DESIGN.md.
import { Command } from 'commander';
import { PersonasError } from './errors.ts';
import { version } from './version.ts';
import { registerDemo } from './cli/demo.ts';
import { registerFeatures } from './cli/features.ts';
import { registerRun } from './cli/run.ts';
import { registerScore } from './cli/score.ts';
import { registerSeed } from './cli/seed.ts';
import { registerTrain } from './cli/train.ts';

const program = new Command('personas')
  .description('Projects qualitative marketing personas onto a customer base')
  .version(version);

const groups: Array<(p: Command) => void> = [registerDemo, registerFeatures, registerRun, registerSeed, registerTrain, registerScore];
for (const register of groups) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof PersonasError) {
    process.stderr.write(`personas: ${err.message}\n`);
    process.exitCode = 2;
  } else {
    throw err;
  }
}
