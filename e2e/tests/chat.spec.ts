// Scenario 1: two people on two instances register, sign in, share a room and chat; each
// message appears once, in order, on both sides, and a reload keeps the history.

import { test, expect } from '../support/fixtures';
import { unique } from '../support/chat';

test('two users on different instances chat in a room, and the history survives a reload', async ({
  person,
  cluster,
}) => {
  const alice = await person('alice', cluster.a);
  const bob = await person('bob', cluster.b);
  const room = unique('general');

  await test.step('alice registers, signs out, and signs back in (a wrong password first)', async () => {
    await alice.register();
    await alice.signOut();
    await alice.signIn('not the password');
    await expect(alice.page.getByRole('alert').filter({ hasText: /\S/ })).toContainText(
      'Wrong username or password.',
    );
    await alice.signIn();
    await alice.expectSignedIn();
  });

  await test.step('alice creates a room; bob registers on the other instance and joins it', async () => {
    await alice.createRoom(room);
    await bob.register();
    await bob.joinRoom(room);
    await bob.expectBeginningShown(room);
  });

  const conversation: Array<[typeof alice, string]> = [
    [alice, 'Hi bob, welcome to the room'],
    [bob, 'Hello alice! Glad to be here'],
    [alice, 'Messages cross instances through Redis'],
    [alice, 'and arrive in order'],
    [bob, 'Each one exactly once 👍'],
    [bob, 'Multi-line\nmessages keep their lines'],
  ];

  await test.step('they take turns; both logs show every message once, in order', async () => {
    for (const [i, [sender, text]] of conversation.entries()) {
      await sender.send(text);
      const sofar = conversation.slice(0, i + 1);
      await alice.expectMessages(sofar);
      await bob.expectMessages(sofar);
    }
    await alice.snap('chat');
    await bob.snap('chat');
  });

  await test.step('a quick burst from one side keeps its order on the other', async () => {
    const burst = Array.from({ length: 8 }, (_, i) => `burst ${String(i + 1).padStart(2, '0')}`);
    for (const text of burst) await alice.submit(text);
    const all = [...conversation, ...burst.map((text): [typeof alice, string] => [alice, text])];
    await alice.expectMessages(all);
    await bob.expectMessages(all);
    conversation.splice(0, conversation.length, ...all);
  });

  await test.step('a reload keeps the room open and the whole history', async () => {
    for (const user of [alice, bob]) {
      await user.page.reload();
      await user.expectSignedIn();
      await expect(user.roomHeading(room)).toBeVisible();
      await user.expectMessages(conversation);
      await user.expectBeginningShown(room);
    }
    await bob.snap('chat after reload');
  });
});
