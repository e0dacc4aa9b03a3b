// A person using Confab in their own browser context, on one instance: what they can do and
// see, by the roles, labels and texts a user (or a screen reader) has. Specs read as
// stories: `await alice.send('hi'); await bob.expectMessages(['hi'])`.

import { expect, type BrowserContext, type Locator, type Page, type TestInfo } from '@playwright/test';

import type { Instance } from './services';

/// Escapes `text` for use inside a RegExp.
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/// `text` as a file name: lower case, words joined by dashes.
function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

/// A short random suffix: the database is shared by every test of a run.
export function unique(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}

export class ChatUser {
  readonly password = 'correct horse battery staple';

  constructor(
    readonly name: string,
    readonly context: BrowserContext,
    public page: Page,
    readonly instance: Instance,
    private readonly testInfo: TestInfo,
  ) {}

  // ---- what is on screen ---------------------------------------------------------

  /// The connection banner: the status region "Connection" saying "Connecting…", "Online",
  /// "Reconnecting…" or "Offline".
  get banner(): Locator {
    return this.page.getByRole('status', { name: 'Connection' });
  }

  /// The open room's message log.
  get log(): Locator {
    return this.page.getByRole('log', { name: 'Messages' });
  }

  /// Every message row in the log, pending ones included, in the order shown.
  get messages(): Locator {
    return this.log.getByRole('article');
  }

  get composer(): Locator {
    return this.page.getByRole('textbox', { name: 'Message' });
  }

  get memberPanel(): Locator {
    return this.page.getByRole('complementary', { name: 'Members' });
  }

  /// The member panel's entry for `name` ("bob, online" / "bob, offline" to a screen reader).
  member(name: string): Locator {
    return this.memberPanel.getByRole('listitem').filter({ hasText: name });
  }

  /// The room list's link to a room.
  roomLink(room: string): Locator {
    return this.page.getByRole('navigation', { name: 'Rooms' }).getByRole('link', { name: room });
  }

  roomHeading(room: string): Locator {
    return this.page.getByRole('heading', { level: 1, name: `# ${room}` });
  }

  /// The heading of an open direct conversation with `other`.
  directHeading(other: string): Locator {
    return this.page.getByRole('heading', { level: 1, name: `@ ${other}` });
  }

  /// The unread badge of a room in the room list ("3 unread messages").
  unreadBadge(room: string): Locator {
    return this.roomLink(room).getByLabel(/unread message/);
  }

  // ---- what they do --------------------------------------------------------------

  /// Opens the app on this user's instance.
  async open(): Promise<void> {
    await this.page.goto('/');
  }

  /// Opens a fresh page in the same context (same session cookie), e.g. after closing one.
  async reopen(): Promise<void> {
    this.page = await this.context.newPage();
    await this.open();
    await this.expectSignedIn();
  }

  private async fillCredentials(password: string): Promise<void> {
    await this.page.getByLabel('Username').fill(this.name);
    await this.page.getByLabel('Password').fill(password);
  }

  async register(): Promise<void> {
    await this.open();
    await this.fillCredentials(this.password);
    await this.page.getByRole('button', { name: 'Register' }).click();
    await this.expectSignedIn();
  }

  async signIn(password = this.password): Promise<void> {
    await this.fillCredentials(password);
    await this.page.getByRole('button', { name: 'Sign in' }).click();
  }

  async signOut(): Promise<void> {
    await this.page.getByRole('button', { name: 'Sign out' }).click();
    await expect(this.page.getByRole('button', { name: 'Sign in' })).toBeVisible();
  }

  /// The chat screen is up, with this user's name in the sidebar and the socket online.
  async expectSignedIn(): Promise<void> {
    await expect(this.page.getByRole('complementary', { name: 'Sidebar' }).getByText(this.name, { exact: true }))
      .toBeVisible();
    await expect(this.banner).toHaveText('Online');
  }

  async createRoom(room: string): Promise<void> {
    await this.page.getByLabel('Room name').fill(room);
    await this.page.getByRole('button', { name: 'Create room' }).click();
    await expect(this.roomHeading(room)).toBeVisible();
    await expect(this.roomLink(room)).toBeVisible();
    await this.expectBeginningShown(room);
  }

  /// Finds the room in the directory and joins it (which opens it).
  async joinRoom(room: string): Promise<void> {
    const browse = this.page.getByRole('button', { name: 'Browse rooms' });
    if ((await browse.getAttribute('aria-expanded')) !== 'true') await browse.click();
    const directory = this.page.getByRole('region', { name: 'Room directory' });
    const join = directory.getByRole('button', { name: `Join ${room}`, exact: true });
    // The directory is loaded when opened; a room created just before may need a refresh.
    await expect(async () => {
      if (!(await join.isVisible())) await directory.getByRole('button', { name: 'Refresh' }).click();
      await expect(join).toBeVisible({ timeout: 1_000 });
    }).toPass();
    await join.click();
    await expect(this.roomHeading(room)).toBeVisible();
    await expect(this.roomLink(room)).toBeVisible();
  }

  /// The whole history is on screen: the log starts with "This is the beginning of …".
  async expectBeginningShown(room: string): Promise<void> {
    await expect(this.log.getByText(`This is the beginning of ${room}.`)).toBeVisible();
  }

  /// Writes `text` in the composer and presses Enter.
  async submit(text: string): Promise<void> {
    await this.composer.fill(text);
    await this.composer.press('Enter');
    await expect(this.composer).toHaveValue('');
  }

  /// Sends `text` and waits until the server has confirmed it (the row is no longer
  /// "Sending…" but carries the sender's name).
  async send(text: string): Promise<void> {
    await this.submit(text);
    await expect(this.messages.filter({ hasText: text }).last()).toHaveText(this.posted(text, this.name));
  }

  /// A committed message's row text: the sender's name, then the time, then the body last.
  /// (A pending row has "Sending…" where a posted one has the sender.)
  posted(body: string, sender: string): RegExp {
    const text = (t: string) => escapeRegExp(t).replace(/\s+/g, '\\s+');
    return new RegExp(`${text(sender)}[\\s\\S]*${text(body)}$`);
  }

  /// The log shows exactly these messages, each once, in this order, all committed.
  /// `expected` entries are [sender, body] pairs.
  async expectMessages(expected: Array<[ChatUser | string, string]>, timeout?: number): Promise<void> {
    const rows = expected.map(([sender, body]) => this.posted(body, typeof sender === 'string' ? sender : sender.name));
    await expect(this.messages).toHaveText(rows, { timeout });
  }

  async openMembers(): Promise<void> {
    const toggle = this.page.getByRole('button', { name: /^Members/ });
    await expect(toggle).toHaveAttribute('aria-expanded', /^(true|false)$/);
    if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click();
    await expect(this.memberPanel).toBeVisible();
  }

  /// A screenshot of the page, saved in the test's output folder (test-results/) and
  /// attached to its report.
  async snap(name: string): Promise<void> {
    const who = this.name.replace(/-[a-z0-9]+$/, ''); // the label, without the random suffix
    const file = this.testInfo.outputPath(`${slug(name)}-${who}.png`);
    await this.page.screenshot({ path: file });
    await this.testInfo.attach(`${name} (${this.name})`, { path: file, contentType: 'image/png' });
  }
}

/// The usual opening: `host` registers and creates `room`, `guest` registers and joins it.
export async function meetInRoom(host: ChatUser, guest: ChatUser, room = unique('room')): Promise<string> {
  await host.register();
  await host.createRoom(room);
  await guest.register();
  await guest.joinRoom(room);
  return room;
}
