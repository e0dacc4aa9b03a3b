// Scenario 2: "<name> is typing…" shows for the other person, on the other instance, while
// someone types, and goes away when they clear the composer, send, or just stop typing.

import { test, expect } from '../support/fixtures';
import { meetInRoom } from '../support/chat';

test('the typing indicator appears for the other user and disappears when they stop or send', async ({
  person,
  cluster,
}) => {
  const alice = await person('alice', cluster.a);
  const bob = await person('bob', cluster.b);
  await meetInRoom(alice, bob);
  const bobIsTyping = alice.page.getByText(`${bob.name} is typing…`, { exact: true });

  await test.step('bob types: alice sees it; bob empties the composer: it goes', async () => {
    await expect(bobIsTyping).toBeHidden();
    await bob.composer.pressSequentially('Let me think');
    await expect(bobIsTyping).toBeVisible();
    await alice.snap('typing indicator');
    // The typist never sees themselves typing.
    await expect(bob.page.getByText(/is typing…/)).toBeHidden();
    await bob.composer.fill('');
    await expect(bobIsTyping).toBeHidden();
  });

  await test.step('bob types again and sends: the indicator goes as the message arrives', async () => {
    await bob.composer.pressSequentially('Got it');
    await expect(bobIsTyping).toBeVisible();
    await bob.composer.press('Enter');
    await alice.expectMessages([[bob, 'Got it']]);
    await expect(bobIsTyping).toBeHidden();
  });

  await test.step('bob types and stops without a word: the indicator lapses by itself', async () => {
    await bob.composer.pressSequentially('Hmm');
    await expect(bobIsTyping).toBeVisible();
    // Nothing more from bob; the indicator lives 6 s after its last refresh.
    await expect(bobIsTyping).toBeHidden({ timeout: 15_000 });
    await expect(bob.composer).toHaveValue('Hmm');
  });

  await test.step('alice types: bob sees it on his instance', async () => {
    await alice.composer.pressSequentially('Me too');
    await expect(bob.page.getByText(`${alice.name} is typing…`, { exact: true })).toBeVisible();
    await alice.composer.press('Enter');
    await bob.expectMessages([
      [bob, 'Got it'],
      [alice, 'Me too'],
    ]);
    await expect(bob.page.getByText(/is typing…/)).toBeHidden();
  });
});
