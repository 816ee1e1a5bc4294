// Locates the shared benchmark world generator (../shared/bench beside the repository, as CI
// lays it out) and generates small worlds into temporary directories for tests.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const WORLD_SCRIPT = [join(repoRoot, '..', 'shared', 'bench', 'world.mjs'), '/work/shared/bench/world.mjs'].find((p) =>
  existsSync(p),
);

export const worldSkipReason = WORLD_SCRIPT ? '' : 'shared/bench/world.mjs not found beside the repository: world-based tests skipped';

export function generateWorld(args: string[]): string {
  if (!WORLD_SCRIPT) throw new Error(worldSkipReason);
  const out = mkdtempSync(join(tmpdir(), 'personas-world-'));
  execFileSync(process.execPath, [WORLD_SCRIPT, '--out', out, '--quiet', ...args], { stdio: 'pipe' });
  return out;
}

export function tempDir(prefix = 'personas-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
