// Before the run: build what is tested (the client into dist/ and the release server),
// unless `make e2e` just did or the build is given, and drop the folders of earlier runs
// whose runner is gone (a run killed before its teardown leaves one behind).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { REPO_ROOT } from './services';

/// `npx playwright test` on its own builds first; `make e2e` has built already and says so.
function buildUnderTest(): void {
  if (process.env.CONFAB_E2E_PREBUILT === '1' || process.env.CONFAB_E2E_BIN || process.env.CONFAB_E2E_DIST) return;
  const make = spawnSync('make', ['--no-print-directory', 'client', 'server-release'], {
    cwd: REPO_ROOT,
    stdio: 'inherit',
  });
  if (make.status !== 0) throw new Error(`building the client and server failed (make exited ${make.status})`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export default function globalSetup(): void {
  buildUnderTest();
  const runDir = process.env.CONFAB_E2E_RUN_DIR;
  if (!runDir) return;
  const parent = path.dirname(runDir);
  for (const entry of fs.readdirSync(parent)) {
    const pid = /^run-(\d+)$/.exec(entry)?.[1];
    const dir = path.join(parent, entry);
    if (pid && dir !== runDir && !alive(Number(pid))) fs.rmSync(dir, { recursive: true, force: true });
  }
}
