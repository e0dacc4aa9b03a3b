// Scenario 6: bob's instance is restarted (SIGTERM, then started again on the same port)
// while alice, on the other instance, keeps sending. Bob's connection banner shows
// "Reconnecting…" then "Online", and every message sent meanwhile (his own included)
// appears exactly once, in order, on both sides. Then the same for a page whose network
// goes away (the browser's offline mode): "Reconnecting…" at once, nothing lost or doubled.

import { test, expect } from '../support/fixtures';
import { meetInRoom, type ChatUser } from '../support/chat';

test('a restarted instance loses nothing: the page reconnects and every message appears once, in order', async ({
  person,
  cluster,
}, testInfo) => {
  const alice = await person('alice', cluster.a);
  const bob = await person('bob', cluster.b);
  await meetInRoom(alice, bob);
  const sent: Array<[ChatUser, string]> = [];
  let all: Array<[ChatUser, string]> = [];
  const say = async (user: ChatUser, text: string) => {
    await user.send(text);
    sent.push([user, text]);
  };

  await test.step('before: both sides see the conversation live', async () => {
    await say(alice, 'before 1');
    await say(bob, 'before 2');
    await bob.expectMessages(sent);
  });

  await test.step("bob's instance stops: his page is reconnecting while alice keeps sending", async () => {
    await cluster.b.stop();
    await expect(bob.banner).toHaveText('Reconnecting…');
    await bob.snap('reconnecting');
    for (let i = 1; i <= 3; i++) await say(alice, `while down ${i}`);
    // Bob writes too: shown as pending until his socket is back.
    await bob.submit('bob while down');
    await expect(bob.messages.last()).toHaveText(/^Sending…\s*bob while down$/);
  });

  await test.step('it starts again: bob is online, and alice keeps sending throughout', async () => {
    const restarted = Date.now();
    const aliceKeepsSending = (async () => {
      for (let i = 1; i <= 4; i++) await say(alice, `during restart ${i}`);
    })();
    await cluster.b.start();
    await expect(bob.banner).toHaveText('Online', { timeout: 20_000 });
    const ms = Date.now() - restarted;
    testInfo.annotations.push({ type: 'online again after start', description: `${ms} ms` });
    console.log(`resilience: bob's page online ${ms} ms after the start command for his instance`);
    await aliceKeepsSending;
  });

  await test.step('after: every message exactly once, in the same order on both sides', async () => {
    // Bob's pending message was resent on reconnect: it sits wherever the server's seq put
    // it, so take the order from alice's log and check bob's against it.
    await expect(alice.messages.filter({ hasText: 'bob while down' })).toHaveCount(1);
    await expect(alice.messages).toHaveCount(sent.length + 1);
    const bobsLine = await alice.messages.allTextContents();
    const at = bobsLine.findIndex((t) => t.endsWith('bob while down'));
    all = [...sent];
    all.splice(at, 0, [bob, 'bob while down']);
    // Alice's own sends stay in the order she made them (each was confirmed before the next).
    await alice.expectMessages(all);
    await bob.expectMessages(all);
    await say(alice, 'after 1');
    await say(bob, 'after 2');
    all.push([alice, 'after 1'], [bob, 'after 2']);
    await alice.expectMessages(all);
    await bob.expectMessages(all);
    await bob.snap('after the restart');
  });

  await test.step('a reload on the restarted instance shows the same history', async () => {
    await bob.page.reload();
    await bob.expectSignedIn();
    await bob.expectMessages(all);
  });
});

test('losing the network: the page says so at once, and catches up exactly once when it is back', async ({
  person,
  cluster,
}) => {
  const alice = await person('alice', cluster.a);
  const bob = await person('bob', cluster.b);
  await meetInRoom(alice, bob);
  await alice.send('before the outage');
  await bob.expectMessages([[alice, 'before the outage']]);

  await test.step('bob goes offline: his banner turns at once, not after a ping times out', async () => {
    await bob.page.context().setOffline(true);
    // The keep-alive alone would take up to 35 s to notice; the browser's `offline` event
    // is what this waits for.
    await expect(bob.banner).toHaveText('Reconnecting…', { timeout: 5_000 });
    await alice.send('while bob is offline 1');
    await alice.send('while bob is offline 2');
    await bob.submit('bob offline');
    await expect(bob.messages.last()).toHaveText(/^Sending…\s*bob offline$/);
  });

  await test.step('back online: every message once, his own sent once', async () => {
    await bob.page.context().setOffline(false);
    await expect(bob.banner).toHaveText('Online', { timeout: 20_000 });
    const all: Array<[ChatUser, string]> = [
      [alice, 'before the outage'],
      [alice, 'while bob is offline 1'],
      [alice, 'while bob is offline 2'],
      [bob, 'bob offline'],
    ];
    await bob.expectMessages(all);
    await alice.expectMessages(all);
  });
});
