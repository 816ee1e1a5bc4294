// The `personas` command. Each command group lives in src/cli/<group>.ts and registers itself
// here; the pipeline code it calls lives in the modules of DESIGN.md.
import { Command } from 'commander';
import { PersonasError } from './errors.ts';
import { version } from './version.ts';

type Register = (p: Command) => void;

/**
 * The command groups, in the order help lists them, each with the top-level commands it adds. A
 * command loads only its own group (a store command does not load the learners, the workbook
 * writer or the job queue: half a second less on every call); help, the version and an unknown
 * command load them all.
 */
const GROUPS: { commands: string[]; load: () => Promise<Register> }[] = [
  { commands: ['demo'], load: async () => (await import('./cli/demo.ts')).registerDemo },
  { commands: ['features'], load: async () => (await import('./cli/features.ts')).registerFeatures },
  { commands: ['run'], load: async () => (await import('./cli/run.ts')).registerRun },
  { commands: ['seed'], load: async () => (await import('./cli/seed.ts')).registerSeed },
  { commands: ['train'], load: async () => (await import('./cli/train.ts')).registerTrain },
  { commands: ['score'], load: async () => (await import('./cli/score.ts')).registerScore },
  { commands: ['report'], load: async () => (await import('./cli/report.ts')).registerReport },
  { commands: ['evaluate', 'survey'], load: async () => (await import('./cli/evaluate.ts')).registerEvaluate },
  { commands: ['migrate', 'publish', 'activate', 'rollback', 'models', 'keys'], load: async () => (await import('./cli/store.ts')).registerStore },
  { commands: ['serve'], load: async () => (await import('./cli/serve.ts')).registerServe },
  { commands: ['jobs', 'worker'], load: async () => (await import('./cli/jobs.ts')).registerJobs },
  { commands: ['doctor'], load: async () => (await import('./cli/doctor.ts')).registerDoctor },
];

const program = new Command('personas')
  .description('Projects qualitative marketing personas onto a customer base')
  .version(version);

const named = GROUPS.find((g) => g.commands.includes(process.argv[2]));
for (const group of named ? [named] : GROUPS) (await group.load())(program);

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
