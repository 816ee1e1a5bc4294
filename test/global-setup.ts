// Builds the shared test runs once per `vitest run` (see helpers/runs.ts).
import { rmSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { tempDir } from './helpers/world.ts';
import { makeTestRuns } from './helpers/runs.ts';

export default async function setup(project: TestProject) {
  const root = tempDir('personas-runs-');
  project.provide('runs', await makeTestRuns(root));
  return () => rmSync(root, { recursive: true, force: true });
}
