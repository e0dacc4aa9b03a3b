// Scenario 5: a file uploaded by one person (on one instance) shows a moving progress bar
// for the uploader (the browser's upload progress) and for the watcher on the other
// instance (`file_progress` frames); then both see it in the conversation, and the watcher
// downloads exactly the bytes sent. An image appears as a thumbnail.

import crypto from 'node:crypto';
import fs from 'node:fs';

import { test, expect } from '../support/fixtures';
import { meetInRoom } from '../support/chat';

/// A tiny valid PNG (1×1, one opaque pixel).
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkaPhfDwAE/wH+f8tHhwAAAABJRU5ErkJggg==',
  'base64',
);

test('an upload shows moving progress bars on both sides, then a file card and a thumbnail; the download matches', async ({
  person,
  cluster,
}, testInfo) => {
  const alice = await person('alice', cluster.a);
  const bob = await person('bob', cluster.b);
  await meetInRoom(alice, bob);

  const file = testInfo.outputPath('report-2026.bin');
  const bytes = crypto.randomBytes(3_000_000);
  fs.writeFileSync(file, bytes);
  const digest = crypto.createHash('sha256').update(bytes).digest('hex');

  // Slow alice's uplink so the upload takes a few seconds.
  const cdp = await alice.context.newCDPSession(alice.page);
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: 800 * 1024,
  });

  const value = async (bar: import('@playwright/test').Locator) => Number((await bar.getAttribute('value')) ?? 0);
  const mine = alice.page.getByRole('progressbar', { name: 'Uploading report-2026.bin' });
  const theirs = bob.page.getByRole('progressbar', { name: 'Uploading report-2026.bin' });

  await test.step('alice attaches the file: both progress bars move', async () => {
    await alice.page.getByLabel('Attach files').setInputFiles(file);
    await expect(mine).toBeVisible();
    await expect(theirs).toBeVisible();
    const aliceFirst = await value(mine);
    const bobFirst = await value(theirs);
    await expect.poll(() => value(mine)).toBeGreaterThan(aliceFirst);
    await expect.poll(() => value(theirs)).toBeGreaterThan(bobFirst);
    await expect(bob.page.getByRole('list', { name: 'Uploads' })).toContainText(alice.name);
    await alice.snap('uploading');
    await bob.snap('watching an upload');
  });

  await test.step('the upload completes: the bars give way to a file card on both sides', async () => {
    const download = (p: typeof alice.page) => p.getByRole('link', { name: 'Download report-2026.bin' });
    await expect(download(alice.page)).toBeVisible({ timeout: 30_000 });
    await expect(download(bob.page)).toBeVisible();
    await expect(mine).toHaveCount(0);
    await expect(theirs).toHaveCount(0);
    await expect(bob.log).toContainText('3.0 MB');
  });

  await test.step('bob downloads exactly the bytes alice sent', async () => {
    const [saved] = await Promise.all([
      bob.page.waitForEvent('download'),
      bob.page.getByRole('link', { name: 'Download report-2026.bin' }).click(),
    ]);
    expect(saved.suggestedFilename()).toBe('report-2026.bin');
    const got = fs.readFileSync(await saved.path());
    expect(crypto.createHash('sha256').update(got).digest('hex')).toBe(digest);
  });

  await test.step('an image appears as a thumbnail on both sides', async () => {
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: -1,
    });
    const image = testInfo.outputPath('dot.png');
    fs.writeFileSync(image, PNG);
    await alice.page.getByLabel('Attach files').setInputFiles(image);
    for (const page of [alice.page, bob.page]) {
      const thumb = page.getByRole('img', { name: 'dot.png' });
      await expect(thumb).toBeVisible();
      await expect.poll(() => thumb.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(1);
    }
    await bob.snap('files in the conversation');
  });
});
