// Scenario 8: the first load of the app in a fresh browser context (empty cache). Records how
// long until the sign-in form is usable and how many bytes the `.wasm` takes on the wire
// (gzipped) and unpacked, in the test output and as `first-load.json`. Timings are recorded,
// never asserted: the machine is shared. What is asserted is that the form becomes usable
// and that the `.wasm` is compressed.

import { test, expect } from '../support/fixtures';

declare global {
  interface Window {
    /// `performance.now()` when the sign-in form first had enabled fields and buttons.
    __formUsableAt?: number;
  }
}

test('first load: the sign-in form becomes usable and the .wasm arrives gzipped', async ({ person, cluster }, testInfo) => {
  const visitor = await person('visitor', cluster.a);
  const page = visitor.page;

  // In the page, from its first script on: note when the form is usable (both fields and
  // the Sign in button present and enabled), found by the labels and names a user sees.
  await page.addInitScript(() => {
    const usable = () => {
      const byLabel = (text: string) =>
        [...document.querySelectorAll('label')].find((l) => l.textContent?.trim() === text)?.control;
      const field = (text: string) => {
        const control = byLabel(text);
        return control instanceof HTMLInputElement && !control.disabled;
      };
      const signIn = [...document.querySelectorAll('button')].some(
        (b) => b.textContent?.trim() === 'Sign in' && !b.disabled,
      );
      return field('Username') && field('Password') && signIn;
    };
    const observer = new MutationObserver(() => {
      if (window.__formUsableAt === undefined && usable()) {
        window.__formUsableAt = performance.now();
        observer.disconnect();
      }
    });
    observer.observe(document, { childList: true, subtree: true, attributes: true });
  });

  const wasmResponse = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith('.wasm'));
  const sizes: Array<Promise<number>> = [];
  page.on('requestfinished', (request) => {
    sizes.push(request.sizes().then((s) => s.responseHeadersSize + s.responseBodySize, () => 0));
  });

  const started = Date.now();
  await page.goto('/');
  await expect(page.getByLabel('Username')).toBeEditable();
  await expect(page.getByLabel('Password')).toBeEditable();
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeEnabled();
  await expect(page.getByRole('button', { name: 'Register' })).toBeEnabled();
  const seenUsableAfterMs = Date.now() - started;

  const wasm = await wasmResponse;
  expect(wasm.status()).toBe(200);
  const headers = await wasm.allHeaders();
  expect(headers['content-type']).toMatch(/^application\/wasm/);
  expect(headers['content-encoding'], 'the .wasm is served gzipped').toBe('gzip');
  const wasmWireBody = (await wasm.request().sizes()).responseBodySize;
  const wasmBytes = (await wasm.body()).length;
  expect(wasmWireBody).toBeGreaterThan(0);
  expect(wasmWireBody).toBeLessThan(wasmBytes);

  await expect.poll(() => page.evaluate(() => window.__formUsableAt)).toBeDefined();
  const inPage = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
    const wasmEntry = performance
      .getEntriesByType('resource')
      .find((e) => e.name.endsWith('.wasm')) as PerformanceResourceTiming | undefined;
    const round = (n: number | undefined) => (n === undefined ? undefined : Math.round(n));
    return {
      formUsableMs: round(window.__formUsableAt),
      htmlResponseEndMs: round(nav.responseEnd),
      domContentLoadedMs: round(nav.domContentLoadedEventEnd),
      loadEventMs: round(nav.loadEventEnd),
      wasmFetchStartMs: round(wasmEntry?.startTime),
      wasmFetchDurationMs: round(wasmEntry?.duration),
    };
  });

  const wireBytes = (await Promise.all(sizes)).reduce((a, b) => a + b, 0);
  const figures = {
    url: page.url(),
    wasm: {
      file: new URL(wasm.url()).pathname,
      contentEncoding: headers['content-encoding'],
      transferredBytes: wasmWireBody,
      decodedBytes: wasmBytes,
      ratio: Number((wasmWireBody / wasmBytes).toFixed(3)),
    },
    timings: { ...inPage, seenUsableByPlaywrightMs: seenUsableAfterMs },
    totalTransferredBytes: wireBytes,
    note: 'navigation start to sign-in form usable, fresh context (empty cache), loopback, shared 2-core machine',
  };
  await testInfo.attach('first-load.json', { body: JSON.stringify(figures, null, 2), contentType: 'application/json' });
  testInfo.annotations.push(
    { type: 'form usable', description: `${inPage.formUsableMs} ms after navigation start` },
    {
      type: '.wasm',
      description: `${wasmWireBody} bytes transferred (${headers['content-encoding']}), ${wasmBytes} bytes decoded`,
    },
  );
  console.log(
    `first load: sign-in form usable at ${inPage.formUsableMs} ms (seen by Playwright after ${seenUsableAfterMs} ms); ` +
      `${figures.wasm.file}: ${wasmWireBody} B transferred gzipped, ${wasmBytes} B decoded; ` +
      `${wireBytes} B transferred in all`,
  );
  await visitor.snap('sign-in form');
});
