import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { terminalProgress } from '../../src/cli/progress-bar.ts';

function capture(): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { stream: w as unknown as NodeJS.WriteStream, text: () => chunks.join('') };
}

describe('terminalProgress on a non-terminal stream', () => {
  it('prints the stage, each tenth of progress once, and log lines', () => {
    const out = capture();
    const p = terminalProgress(out.stream);
    p.stage('features', 100);
    for (let i = 1; i <= 100; i++) p.tick(i);
    p.log('42 rows rejected');
    expect(out.text()).toBe(
      'features (0/100)\n' +
        [10, 20, 30, 40, 50, 60, 70, 80, 90].map((d) => `features ${d}%\n`).join('') +
        '42 rows rejected\n',
    );
  });
});
