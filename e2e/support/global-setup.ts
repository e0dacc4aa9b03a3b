// Before the run: drop the folders of earlier runs whose runner is gone (a run killed
// before its teardown leaves one behind).

import fs from 'node:fs';
import path from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export default function globalSetup(): void {
  const runDir = process.env.CONFAB_E2E_RUN_DIR;
  if (!runDir) return;
  const parent = path.dirname(runDir);
  for (const entry of fs.readdirSync(parent)) {
    const pid = /^run-(\d+)$/.exec(entry)?.[1];
    const dir = path.join(parent, entry);
    if (pid && dir !== runDir && !alive(Number(pid))) fs.rmSync(dir, { recursive: true, force: true });
  }
}
