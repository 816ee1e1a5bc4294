// Terminal rendering of Progress: a bar per stage on a TTY, one line per stage and every
// tenth of progress otherwise (CI logs, pipes).
import cliProgress from 'cli-progress';
import type { Progress } from '../progress.ts';

export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = Boolean(stream.isTTY);
  let bar: cliProgress.SingleBar | undefined;
  let stageName = '';
  let total = 0;
  let done = 0;
  let lastDecile = -1;

  const stop = () => {
    if (bar) {
      bar.stop();
      bar = undefined;
    }
  };

  return {
    stage(name, stageTotal) {
      stop();
      stageName = name;
      total = stageTotal ?? 0;
      done = 0;
      lastDecile = -1;
      if (tty && total > 0) {
        bar = new cliProgress.SingleBar(
          { format: `${name.padEnd(18)} [{bar}] {percentage}% | {value}/{total} | {duration_formatted}`, stream },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0);
      } else {
        stream.write(`${name}${total > 0 ? ` (0/${total})` : ''}\n`);
      }
    },
    tick(value) {
      done = value ?? done + 1;
      if (bar) {
        bar.update(done);
      } else if (total > 0) {
        const decile = Math.floor((10 * done) / total);
        if (decile > lastDecile && decile < 10) {
          lastDecile = decile;
          if (decile > 0) stream.write(`${stageName} ${decile * 10}%\n`);
        }
      }
    },
    log(message) {
      if (bar) stream.write('\n');
      stream.write(`${message}\n`);
    },
  };
}
