// Scenario 4: a direct conversation started from the member list appears live for the
// other person (on the other instance); its unread badge counts up, and clears when read —
// in every tab of the reader, whichever instance the tab is on.

import { test, expect } from '../support/fixtures';
import { meetInRoom } from '../support/chat';

test('a direct message started from the member list appears live and its unread badge counts up and clears when read', async ({
  person,
  cluster,
}) => {
  const alice = await person('alice', cluster.a);
  const bob = await person('bob', cluster.b);
  await meetInRoom(alice, bob);
  // Bob's second tab, on the other instance (same session cookie: same host).
  const bobElsewhere = await bob.context.newPage();
  await bobElsewhere.goto(`${cluster.a.url}/`);
  await expect(bobElsewhere.getByRole('status', { name: 'Connection' })).toHaveText('Online');
  const dmLinkElsewhere = bobElsewhere.getByRole('navigation', { name: 'Rooms' }).getByRole('link', { name: alice.name });

  await test.step('alice messages bob from the member list', async () => {
    await alice.openMembers();
    await alice.member(bob.name).getByRole('button', { name: `Message ${bob.name}` }).click();
    await expect(alice.directHeading(bob.name)).toBeVisible();
    await expect(alice.roomLink(bob.name)).toBeVisible();
  });

  await test.step('the conversation appears in both of bob\'s tabs before any message', async () => {
    await expect(bob.roomLink(alice.name)).toBeVisible();
    await expect(dmLinkElsewhere).toBeVisible();
    await expect(bob.roomLink(alice.name)).toContainText(', online');
  });

  await test.step('each message raises the badge', async () => {
    await alice.send('Psst, a secret');
    await expect(bob.unreadBadge(alice.name)).toHaveAccessibleName('1 unread message');
    await alice.send('And another one');
    await expect(bob.unreadBadge(alice.name)).toHaveAccessibleName('2 unread messages');
    await expect(bob.unreadBadge(alice.name)).toHaveText('2');
    await expect(dmLinkElsewhere.getByLabel(/unread message/)).toHaveAccessibleName('2 unread messages');
    await bob.snap('direct message unread badge');
  });

  await test.step('bob reads it: the badge clears here and in his other tab', async () => {
    await bob.roomLink(alice.name).click();
    await expect(bob.directHeading(alice.name)).toBeVisible();
    await bob.expectMessages([
      [alice, 'Psst, a secret'],
      [alice, 'And another one'],
    ]);
    await expect(bob.unreadBadge(alice.name)).toHaveCount(0);
    await expect(dmLinkElsewhere.getByLabel(/unread message/)).toHaveCount(0);
    await bob.send('Got both');
    await alice.expectMessages([
      [alice, 'Psst, a secret'],
      [alice, 'And another one'],
      [bob, 'Got both'],
    ]);
    await alice.snap('direct conversation');
  });

  await test.step('the people search opens the same conversation', async () => {
    await bob.page.getByRole('button', { name: 'Direct message' }).click();
    await bob.page.getByLabel('Find people').fill(alice.name.slice(0, 8));
    await bob.page.getByRole('button', { name: `Message ${alice.name}` }).click();
    await expect(bob.directHeading(alice.name)).toBeVisible();
    await expect(bob.page.getByRole('navigation', { name: 'Rooms' }).getByRole('link', { name: alice.name }))
      .toHaveCount(1);
  });
});

test('scrolled up into the history, new messages wait below with a count and stay unread until seen', async ({
  person,
  cluster,
}) => {
  const alice = await person('alice', cluster.a);
  const bob = await person('bob', cluster.b);
  await meetInRoom(alice, bob);
  // A short window, so a dozen messages are more than fit.
  await bob.page.setViewportSize({ width: 1000, height: 420 });
  // Bob's second tab, on the other instance: its badge is what the server counts.
  const bobElsewhere = await bob.context.newPage();
  await bobElsewhere.goto(`${cluster.a.url}/`);
  await expect(bobElsewhere.getByRole('status', { name: 'Connection' })).toHaveText('Online');
  const roomName = (await bob.page.getByRole('heading', { level: 1 }).textContent())?.replace(/^#\s*/, '') ?? '';
  const badgeElsewhere = bobElsewhere
    .getByRole('navigation', { name: 'Rooms' })
    .getByRole('link', { name: roomName })
    .getByLabel(/unread message/);

  const sent: Array<[typeof alice, string]> = [];
  for (let i = 1; i <= 12; i++) {
    await alice.send(`line ${i}`);
    sent.push([alice, `line ${i}`]);
  }
  await bob.expectMessages(sent);
  // At the bottom, all of it counts as read (within a second).
  await expect(badgeElsewhere).toHaveCount(0);
  const jump = bob.page.getByRole('button', { name: /new messages? ↓/ });

  await test.step('bob scrolls up; two more arrive: a "2 new messages" button, still unread elsewhere', async () => {
    await bob.log.evaluate((el) => el.scrollTo(0, 0));
    await alice.send('while bob reads back 1');
    await alice.send('while bob reads back 2');
    await expect(jump).toHaveText('2 new messages ↓');
    await expect(badgeElsewhere).toHaveAccessibleName('2 unread messages');
    await bob.snap('new messages below');
  });

  await test.step('the button takes him to them, and then they count as read everywhere', async () => {
    await jump.click();
    await expect(bob.messages.last()).toBeInViewport();
    await expect(jump).toHaveCount(0);
    await expect(badgeElsewhere).toHaveCount(0);
  });
});
