// After the run (the workers, and with them every service, have stopped): remove the run's
// folder, unless CONFAB_E2E_KEEP is set to look at the services' logs. A failed test has
// the logs of what it caused attached to its report already.

import fs from 'node:fs';
import path from 'node:path';

export default function globalTeardown(): void {
  const runDir = process.env.CONFAB_E2E_RUN_DIR;
  if (!runDir || process.env.CONFAB_E2E_KEEP) return;
  fs.rmSync(runDir, { recursive: true, force: true });
  // .tmp/ itself too, unless another run is using it.
  try {
    fs.rmdirSync(path.dirname(runDir));
  } catch {
    // not empty: leave it
  }
}
