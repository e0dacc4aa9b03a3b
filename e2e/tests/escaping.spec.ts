// Scenario 7: a message made of HTML and script is shown as the text it is, live and from
// history, on both sides, and no dialog ever opens (the `dialogs` fixture fails any test
// whose pages open one; here it is checked explicitly too).

import { test, expect } from '../support/fixtures';
import { meetInRoom, unique } from '../support/chat';

const PAYLOADS = [
  '<img src=x onerror=alert(1)><script>alert(2)</script>',
  '<b>not bold</b> &amp; <a href="javascript:alert(3)">not a link</a>',
  '"><svg onload=alert(4)>',
];

test('message text with HTML and script is shown literally and never runs', async ({
  person,
  cluster,
  dialogs,
}) => {
  const alice = await person('alice', cluster.a);
  const bob = await person('bob', cluster.b);
  // The room's name is markup too: it shows in the heading, the room list and the directory.
  const room = unique('<img src=x onerror=alert(5)>');
  await meetInRoom(alice, bob, room);

  for (const payload of PAYLOADS) await alice.send(payload);
  const expected = PAYLOADS.map((p): [typeof alice, string] => [alice, p]);

  const checkLiteral = async (user: typeof alice) => {
    await user.expectMessages(expected);
    for (const payload of PAYLOADS) {
      await expect(user.log.getByText(payload, { exact: true })).toBeVisible();
    }
    // Nothing from the bodies became markup.
    await expect(user.log.locator('img, script, svg, b, a[href^="javascript:"]')).toHaveCount(0);
  };

  await test.step('live, on both instances', async () => {
    await checkLiteral(alice);
    await checkLiteral(bob);
    await bob.snap('html shown as text');
  });

  await test.step('from history, after a reload', async () => {
    for (const user of [alice, bob]) {
      await user.page.reload();
      await user.expectSignedIn();
      await checkLiteral(user);
    }
  });

  await test.step('the room name is text in the heading and the room list', async () => {
    for (const user of [alice, bob]) {
      await expect(user.roomHeading(room)).toHaveText(`# ${room}`);
      await expect(user.roomLink(room)).toContainText(room);
      await expect(user.page.locator('body').locator('img, script')).toHaveCount(0);
    }
  });

  expect(dialogs).toEqual([]);
});
