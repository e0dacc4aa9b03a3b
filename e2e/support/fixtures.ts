// The suite's `test`: Playwright's, plus
// - `cluster` (worker-scoped): Redis, PostgreSQL and Confab instances `a` and `b`, started
//   once per worker and stopped by pid at its end;
// - `person(label, instance)`: a new user with a browser context of their own on that
//   instance's URL. Every page of every person fails the test if a dialog ever opens, and
//   on failure the test gets each page's console output and each service's log tail.
//
// New spec files import `test` and `expect` from here.

import fs from 'node:fs';
import path from 'node:path';

import { test as base, expect } from '@playwright/test';

import { ChatUser, unique } from './chat';
import { Cluster, type Instance } from './services';

export { expect };

type Person = (label: string, instance: Instance) => Promise<ChatUser>;

export const test = base.extend<{ person: Person; dialogs: string[] }, { cluster: Cluster }>({
  cluster: [
    async ({}, use, workerInfo) => {
      const runDir = process.env.CONFAB_E2E_RUN_DIR;
      if (!runDir) throw new Error('CONFAB_E2E_RUN_DIR is unset: run the suite through playwright.config.ts');
      const dir = path.join(runDir, `services-${workerInfo.workerIndex}`);
      const cluster = await Cluster.start(dir);
      await use(cluster);
      await cluster.stop();
    },
    { scope: 'worker', timeout: 90_000 },
  ],

  /// Every dialog (alert, confirm, prompt, beforeunload) any person's page opened.
  dialogs: async ({}, use) => {
    const dialogs: string[] = [];
    await use(dialogs);
    expect(dialogs, 'no page may ever open a dialog').toEqual([]);
  },

  person: async ({ browser, cluster, dialogs }, use, testInfo) => {
    const people: ChatUser[] = [];
    const consoleLines: string[] = [];
    const logMarks = new Map(cluster.services.map((s) => [s, fileSize(s.logFile)]));

    await use(async (label, instance) => {
      const name = unique(label);
      const context = await browser.newContext({ baseURL: instance.url });
      const watch = (page: import('@playwright/test').Page) => {
        page.on('dialog', (dialog) => {
          dialogs.push(`${name}: ${dialog.type()} "${dialog.message()}"`);
          void dialog.dismiss().catch(() => {});
        });
        page.on('console', (msg) => consoleLines.push(`[${name}] ${msg.type()}: ${msg.text()}`));
        page.on('pageerror', (err) => consoleLines.push(`[${name}] pageerror: ${err.message}`));
      };
      context.on('page', watch);
      const page = await context.newPage();
      const user = new ChatUser(name, context, page, instance, testInfo);
      people.push(user);
      return user;
    });

    if (testInfo.status !== testInfo.expectedStatus) {
      await testInfo.attach('browser console', { body: consoleLines.join('\n'), contentType: 'text/plain' });
      for (const [service, from] of logMarks) {
        await testInfo.attach(`${service.name} log`, { body: readFrom(service.logFile, from), contentType: 'text/plain' });
      }
    }
    for (const person of people) await person.context.close();
  },
});

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/// The part of a log written since `offset` (what this test caused).
function readFrom(file: string, offset: number): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const buffer = Buffer.alloc(Math.max(0, size - offset));
      fs.readSync(fd, buffer, 0, buffer.length, offset);
      return buffer.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    return `(cannot read ${file}: ${String(err)})`;
  }
}
