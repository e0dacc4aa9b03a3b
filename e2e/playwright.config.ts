// Playwright drives Debian's Chromium (never a downloaded browser) against two real Confab
// instances that the `cluster` fixture (support/fixtures.ts) starts with their own Redis and
// PostgreSQL. `make e2e` builds the client and server first.

import fs from 'node:fs';
import path from 'node:path';

import { defineConfig } from '@playwright/test';

// One folder per run for the services and every temporary file (Playwright's too). Set once
// by the runner; the workers it forks inherit it.
const runDir = (process.env.CONFAB_E2E_RUN_DIR ??= path.join(__dirname, '.tmp', `run-${process.pid}`));
process.env.TMPDIR = path.join(runDir, 'tmp');
fs.mkdirSync(process.env.TMPDIR, { recursive: true });

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  globalSetup: './support/global-setup.ts',
  globalTeardown: './support/global-teardown.ts',
  // Two cores shared with other work, and scenarios that restart an instance: one at a time.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  // A flaky test is a bug: at most one retry, in CI only, and the report calls it flaky.
  retries: process.env.CI ? 1 : 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  use: {
    browserName: 'chromium',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
    viewport: { width: 1280, height: 800 },
    actionTimeout: 10_000,
    navigationTimeout: 30_000,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
});
