// Scenario 3: in the member panel, the other person's presence dot goes online when they
// open the app (on another instance) and offline soon after they close their page.

import { test, expect } from '../support/fixtures';
import { meetInRoom } from '../support/chat';

test("the other user's presence dot goes online, and offline once they close their page", async ({
  person,
  cluster,
}, testInfo) => {
  const alice = await person('alice', cluster.a);
  const bob = await person('bob', cluster.b);
  await meetInRoom(alice, bob);
  // Bob speaks, so alice's member list (loaded when she opened the room) learns of him.
  await bob.send('Hi, just joined');
  await alice.expectMessages([[bob, 'Hi, just joined']]);

  await alice.openMembers();
  const bobInList = alice.member(bob.name);
  await expect(alice.member(alice.name)).toContainText('(you), online');

  await test.step('bob is online while his page is open', async () => {
    await expect(bobInList).toContainText(', online');
    await expect(bobInList).toHaveClass(/\bonline\b/);
    await alice.snap('member panel, bob online');
  });

  await test.step('bob closes his page: offline within seconds (a clean close, not the lease lapsing)', async () => {
    const closed = Date.now();
    await bob.page.close();
    // The lease TTL is 15 s; a closed socket releases the lease at once.
    await expect(bobInList).toContainText(', offline', { timeout: 5_000 });
    await expect(bobInList).not.toHaveClass(/\bonline\b/);
    const ms = Date.now() - closed;
    testInfo.annotations.push({ type: 'offline after close', description: `${ms} ms` });
    console.log(`presence: offline ${ms} ms after the page closed`);
    await alice.snap('member panel, bob offline');
  });

  await test.step('bob opens the app again: online again', async () => {
    const opened = Date.now();
    await bob.reopen();
    await expect(bobInList).toContainText(', online');
    await expect(bobInList).toHaveClass(/\bonline\b/);
    const ms = Date.now() - opened;
    testInfo.annotations.push({ type: 'online after open', description: `${ms} ms` });
    console.log(`presence: online ${ms} ms after the page opened (load included)`);
  });
});
