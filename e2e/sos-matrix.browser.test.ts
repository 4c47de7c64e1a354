/**
 * The person-outcome matrix (issue #14 item 12, SPEC SO50–SO53), in real Chromium against the real server on
 * Postgres: every combination of the server's SMS (not configured; configured and the carrier delivers; configured
 * and the carrier reports 30003 or 30006) × the link (offline; online; the server unreachable; the server
 * answering after 10 s) × signed in or out × the contacts (one tier 1; tiers 1–3 with a contact who uses the app).
 *
 * For each, within 10 s of the countdown's end, the screen must show for every contact of the step either an
 * observed delivery (a ledger line the server's ledger backs) or that contact's own `sms:` link; then, on the
 * page's clock fast-forwarded, tier 2 at 2 minutes and everyone at 5, with their links and the emergency number.
 * Every screen read is checked for untrue words: a "reached" headline, a `sent`/`delivered`/`shown` ledger line
 * or "Received by the server" that the server's own rows do not back (the words come from the app's
 * delivery-words.ts, not from this file), and a fallback link that disappears before anything was observed.
 *
 * Cheap by design (≤ 4 min on 2 cores): one server per SMS setting (the carrier's behaviour is the Twilio
 * stand-in's, switched between groups), one context per device for the whole file (Ama signed in and signed out,
 * with each set of contacts, and Kofi with his app open), and the page's clock instead of waiting. The carrier is
 * a loop here that answers every message the server sends with the group's outcome. The server's own clock is
 * not fast-forwarded: at "2 minutes" only the phone has escalated, so the phone must text tier 2 itself once the
 * 20 s grace has passed with nothing observed (SO8), which is what is asserted.
 *
 * With `E2E_SCREENSHOTS=<dir>` a few representative combinations are saved at 360×640.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { newId } from '../schema/src/ids.ts';
import {
  ALERT_CHANNELS,
  ALERT_STATUSES,
  isObservedReach,
  type ReachFacts,
} from '../schema/src/protocol/alert-status.ts';
import type { AlertLogRow } from '../schema/src/protocol/rows.ts';
import { deliveryLine, answerWords } from '../web/src/sos/delivery-words.ts';
import { whyShort } from '../web/src/sos/reach-words.ts';
import type { UnreachedWhy } from '../web/src/sos/contact-reach.ts';
import { startFakeTwilio, type FakeTwilio } from '../sync-server/test/fake-twilio.ts';
import { useBrowserSuite } from './harness/browser-suite.ts';
import { openControlledPage } from './harness/service-worker.ts';
import { signInInApp } from './harness/app-account.ts';
import { accountNamed, linkAppContact, waitUntil, type HttpAccount } from './harness/http-accounts.ts';
import { readIndexedDb } from './harness/indexed-db.ts';
import { KEEP_SMS_LINKS_IN_PAGE, twilioServerEnv } from './harness/twilio-server.ts';
import { screenshot } from './harness/screenshots.ts';

const PHONE = { width: 360, height: 640 };
const e2e = useBrowserSuite({
  buildId: 'sos-matrix',
  database: 'postgres',
  // Kofi's open app sounds the alarm (Web Audio) without a gesture, as an installed app with engagement may.
  chromiumArgs: ['--autoplay-policy=no-user-gesture-required'],
  // London: numbers typed as 07911 … are British, and the emergency number is 999.
  contextOptions: { viewport: PHONE, locale: 'en-GB', timezoneId: 'Europe/London' },
});

const SMS = ['not configured', 'delivering', '30003', '30006'] as const;
const LINKS = ['offline', 'online', 'unreachable', 'slow'] as const;
const ACCOUNTS = ['signed in', 'signed out'] as const;
const CONTACT_SETS = ['one tier 1', 'tiers 1–3'] as const;
type Sms = (typeof SMS)[number];
type Link = (typeof LINKS)[number];
type Account = (typeof ACCOUNTS)[number];
type ContactSet = (typeof CONTACT_SETS)[number];
interface Combo {
  sms: Sms;
  link: Link;
  account: Account;
  contacts: ContactSet;
}

interface Contact {
  name: string;
  phone: string;
  tier: 1 | 2 | 3;
  /** Kofi: a linked contact whose own app is open (his receipt is an observed reach). */
  usesApp: boolean;
}
const MUM: Contact = { name: 'Mum', phone: '+447911123451', tier: 1, usesApp: false };
const KOFI: Contact = { name: 'Kofi', phone: '+447911123452', tier: 1, usesApp: true };
const DAD: Contact = { name: 'Dad', phone: '+447911123453', tier: 2, usesApp: false };
const ZOE: Contact = { name: 'Zoe', phone: '+447911123454', tier: 3, usesApp: false };
const CONTACTS: Readonly<Record<ContactSet, readonly Contact[]>> = {
  'one tier 1': [MUM],
  'tiers 1–3': [MUM, KOFI, DAD, ZOE],
};
const EMERGENCY = '999';
/** The device's escalation (SO11) and grace (SO8), with a margin for the screen's own recheck timer. */
const TIER2_S = 120;
const ALL_S = 300;
const GRACE_S = 21;

// ---- what the person must see -------------------------------------------------------------------------------

/** When the screen is read, in seconds after the trigger on the page's clock. */
interface Phase {
  name: string;
  atS: number;
  /** The server has answered by now (the slow server answers at 10 s, then `late` reads the screen). */
  serverAnswered: boolean;
}

function phases(combo: Combo): Phase[] {
  const slow = combo.link === 'slow';
  // Unreachable or slow: the phone waits 5 s for the server's acknowledgement (SO8), read just after.
  const firstS = combo.link === 'unreachable' || slow ? 5.2 : 0;
  return [
    { name: 'countdown end', atS: firstS, serverAnswered: !slow },
    ...(slow ? [{ name: 'server answered at 10 s', atS: 10, serverAnswered: true }] : []),
    { name: '2 min', atS: TIER2_S, serverAnswered: true },
    { name: '2 min + grace', atS: TIER2_S + GRACE_S, serverAnswered: true },
    { name: '5 min', atS: ALL_S, serverAnswered: true },
    { name: '5 min + grace', atS: ALL_S + GRACE_S, serverAnswered: true },
  ];
}

type Seen =
  /** A delivery observed (a ledger line the server's rows back), named in the headline; no link. */
  | { kind: 'reached' }
  /** Their own `sms:` link, with the reason next to it. */
  | { kind: 'link'; why: UnreachedWhy }
  /** The server is still trying within the grace period: neither. */
  | { kind: 'waiting' };

/** What one contact's line on the screen must be at `phase`, or null before their tier is added. */
function expectedSeen(combo: Combo, contact: Contact, phase: Phase): Seen | null {
  const stepS = contact.tier === 1 ? 0 : contact.tier === 2 ? TIER2_S : ALL_S;
  if (phase.atS < stepS) return null;
  if (combo.link === 'offline') return { kind: 'link', why: 'offline' };
  if (combo.account === 'signed out') return { kind: 'link', why: 'signed_out' };
  if (combo.link === 'unreachable' || !phase.serverAnswered)
    return { kind: 'link', why: 'server_not_reached' };
  // The server has the incident. Tier 1 is the server's to reach; later tiers only the phone adds (its clock).
  if (contact.usesApp) return { kind: 'reached' };
  if (contact.tier === 1) {
    if (combo.sms === 'delivering') return { kind: 'reached' };
    return { kind: 'link', why: combo.sms === 'not configured' ? 'sms_not_set_up' : 'failed' };
  }
  return phase.atS < stepS + GRACE_S - 1 ? { kind: 'waiting' } : { kind: 'link', why: 'nothing_observed' };
}

/** The headline and the escalation line (reach-words.ts's words) for what `expectedSeen` says. */
function expectedHeadline(combo: Combo, phase: Phase): { title: string; escalation: string | null } {
  const step = CONTACTS[combo.contacts]
    .map((contact) => ({ contact, seen: expectedSeen(combo, contact, phase) }))
    .filter((s) => s.seen !== null);
  const reached = step
    .filter((s) => s.seen?.kind === 'reached')
    .map((s) => s.contact)
    .sort((a, b) => a.tier - b.tier || a.name.localeCompare(b.name))
    .map((c) => c.name)
    .join(', ');
  const waiting = step.some((s) => s.seen?.kind === 'waiting');
  const title =
    reached !== ''
      ? phase.atS >= ALL_S
        ? `Nobody has answered yet. Reached: ${reached}. Call ${EMERGENCY}`
        : `Reached, no answer yet: ${reached}`
      : waiting
        ? 'Alerting your contacts…'
        : 'Nobody has been reached yet';
  const tiers = new Set(step.map((s) => s.contact.tier));
  const escalation = tiers.has(3)
    ? '5 minutes without an answer: all your contacts are added.'
    : tiers.has(2)
      ? '2 minutes without an answer: your tier-2 contacts are added.'
      : null;
  return { title, escalation };
}

// ---- what the screen says, and what the server observed -------------------------------------------------------

interface Screen {
  title: string;
  texts: string[];
  links: { name: string; href: string; why: string }[];
  ledger: string[];
  serverState: string;
  /** The first link in the reach section (the emergency number comes first when nobody was reached). */
  firstLink: string | null;
}

function readScreen(page: Page): Promise<Screen> {
  return page.evaluate(() => {
    const reach = document.querySelector('[data-testid="reach"]');
    const text = (el: Element | null | undefined) => (el?.textContent ?? '').trim();
    return {
      title: text(document.querySelector('#reach-title')),
      texts: [...(reach?.querySelectorAll('.reach-head p') ?? [])].map(text),
      links: [...document.querySelectorAll('[data-testid="sms-contact"]')].map((li) => ({
        name: text(li.querySelector('a')).replace(/^Text /, ''),
        href: li.querySelector('a')?.getAttribute('href') ?? '',
        why: text(li.querySelector('.why')),
      })),
      ledger: [...document.querySelectorAll('[data-testid="delivery-ledger"] li')].map(text),
      serverState: text(document.querySelector('[data-testid="server-state"]')),
      firstLink: reach?.querySelector('a')?.getAttribute('href') ?? null,
    };
  });
}

/** The server's ledger for an incident, by contact name: the truth the screen's words are held to. */
interface Truth {
  atServer: boolean;
  rows: { name: string; facts: ReachFacts }[];
}

const TIME = '\u0000';
/** Every ledger line the app can write whose words claim something arrived (tone `good`), by its prefix. */
const CLAIMS: readonly { prefix: string; channel: string }[] = ALERT_CHANNELS.flatMap((channel) =>
  ALERT_STATUSES.flatMap((status) => {
    const row = {
      id: 'x',
      channel,
      status,
      errorCode: null,
      messageKind: 'alert',
      statusHistory: [],
      updatedAt: 0,
    } as unknown as AlertLogRow;
    const line = deliveryLine(row, () => TIME);
    return line.tone === 'good' ? [{ prefix: line.text.split(TIME)[0]!, channel }] : [];
  }),
);
const ANSWERS = (['acknowledged', 'on_my_way', 'cannot_help'] as const).map(answerWords);

/** The untrue words on `screen`, judged against the server's rows read after it (rows only grow). */
function untrueWords(screen: Screen, truth: Truth, names: readonly string[], offered: Set<string>): string[] {
  const lies: string[] = [];
  const observed = (name: string, channel?: string) =>
    truth.rows.some(
      (r) =>
        r.name === name && (channel === undefined || r.facts.channel === channel) && isObservedReach(r.facts),
    );
  for (const line of screen.ledger) {
    const name = names.find((n) => line.startsWith(`${n} — `));
    if (name === undefined) continue;
    const rest = line.slice(name.length + 3);
    const claim = CLAIMS.find((c) => rest.startsWith(c.prefix));
    if (claim !== undefined && !observed(name, claim.channel))
      lies.push(`ledger "${line}" with nothing observed`);
    if (
      ANSWERS.some((a) => rest.startsWith(a)) &&
      !truth.rows.some((r) => r.name === name && r.facts.response)
    )
      lies.push(`ledger "${line}" with no answer from ${name}`);
  }
  const claimed = /(?:Reached, no answer yet: |Reached: |Answered: )([^.]+)/.exec(screen.title)?.[1];
  for (const name of claimed?.split(', ') ?? []) {
    if (!observed(name)) lies.push(`headline "${screen.title}" names ${name}, nothing observed`);
  }
  if (screen.title.includes('Nobody has answered') && !names.some((n) => observed(n)))
    lies.push(`"${screen.title}" when nobody was told`);
  if (screen.serverState.includes('Received by the server') && !truth.atServer)
    lies.push('"Received by the server" for an incident the server does not have');
  // A link once offered stays until a delivery to that contact is observed (SO53).
  const linked = new Set(screen.links.map((l) => l.name));
  for (const name of offered) {
    if (!linked.has(name) && !observed(name)) lies.push(`${name}'s link disappeared with nothing observed`);
  }
  for (const name of linked) offered.add(name);
  return lies;
}

/** Whether `screen` shows what `combo` must show at `phase`; the differences, in words. */
function differences(combo: Combo, phase: Phase, screen: Screen): string[] {
  const diffs: string[] = [];
  const want = expectedHeadline(combo, phase);
  if (screen.title !== want.title) diffs.push(`headline "${screen.title}", want "${want.title}"`);
  if (want.escalation !== null && !screen.texts.includes(want.escalation))
    diffs.push(`no "${want.escalation}"`);
  for (const contact of CONTACTS[combo.contacts]) {
    const seen = expectedSeen(combo, contact, phase);
    const link = screen.links.find((l) => l.name === contact.name);
    const good = screen.ledger.some(
      (line) => line.startsWith(`${contact.name} — `) && CLAIMS.some((c) => line.includes(` — ${c.prefix}`)),
    );
    if (seen?.kind === 'link') {
      if (link === undefined) diffs.push(`no link for ${contact.name}`);
      else {
        // One recipient per link (SO2), with the reason in the app's words.
        if (!link.href.startsWith(`sms:${contact.phone}?`))
          diffs.push(`${contact.name}'s link is ${link.href}`);
        if (link.why !== `Tier ${contact.tier}: ${whyShort({ why: seen.why })}`)
          diffs.push(`${contact.name}'s reason "${link.why}", want ${seen.why}`);
      }
    } else if (link !== undefined)
      diffs.push(`a link for ${contact.name} (${seen?.kind ?? 'not in this step'})`);
    if (seen?.kind === 'reached' && !good) diffs.push(`no observed delivery shown for ${contact.name}`);
  }
  const nobody = want.title === 'Nobody has been reached yet';
  if ((nobody || phase.atS >= ALL_S) && screen.firstLink !== `tel:${EMERGENCY}`)
    diffs.push(`the first link is ${screen.firstLink}, not the emergency number`);
  return diffs;
}

// ---- the devices ----------------------------------------------------------------------------------------------

interface Device {
  account: Account;
  contacts: ContactSet;
  context: BrowserContext;
  page: Page;
  /** How the route treats the server's API: as is, refused (unreachable), or held until released (slow). */
  mode: 'pass' | 'refuse' | 'hold';
  held: (() => void)[];
  /** Contact id → name, for the server's rows (signed in only). */
  names: Map<string, string>;
}

const API_PATHS = ['/sync/', '/api/', '/auth/', '/push/', '/config.json'];

async function newDevice(account: Account, contacts: ContactSet): Promise<Device> {
  const context = await e2e.newFileContext();
  await context.addInitScript({ content: KEEP_SMS_LINKS_IN_PAGE });
  const device: Device = {
    account,
    contacts,
    context,
    page: undefined as unknown as Page,
    mode: 'pass',
    held: [],
    names: new Map(),
  };
  // Before the first page, so the service worker's requests are shaped too (harness/network.ts).
  await context.route(
    (url) => url.origin === e2e.server.url && API_PATHS.some((p) => url.pathname.startsWith(p)),
    async (route) => {
      if (device.mode === 'refuse') {
        await route.abort('connectionrefused').catch(() => undefined);
        return;
      }
      if (device.mode === 'hold') await new Promise<void>((resume) => device.held.push(resume));
      await route.fallback().catch(() => undefined);
    },
  );
  await context.clock.install();
  device.page = await openControlledPage(context);
  return device;
}

function release(device: Device): void {
  device.mode = 'pass';
  for (const resume of device.held.splice(0)) resume();
}

async function addContactInApp(page: Page, contact: Contact): Promise<void> {
  await page.goto('/#/contacts');
  await page.getByLabel('Name').fill(contact.name);
  await page.getByLabel('Phone').fill(contact.phone);
  await page.getByLabel('Priority').selectOption(String(contact.tier));
  await page.getByRole('button', { name: 'Save contact' }).click();
  await page
    .getByRole('listitem')
    .filter({
      hasText: `${contact.name} 0${contact.phone.slice(3, 7)} ${contact.phone.slice(7)} · tier ${contact.tier}`,
    })
    .waitFor();
}

/** Ama's account with `set`'s contacts made over HTTP; Kofi (if in the set) linked as the app user behind his. */
async function amaAccount(
  set: ContactSet,
  kofi: HttpAccount,
): Promise<{ ama: HttpAccount; names: Map<string, string> }> {
  const ama = await accountNamed(e2e.server.url, 'Ama');
  const names = new Map<string, string>();
  for (const contact of CONTACTS[set]) {
    const id = newId<string>();
    names.set(id, contact.name);
    await ama.push('user', 'contact.upsert@1', {
      id,
      fields: { name: contact.name, tier: contact.tier },
      phoneE164: contact.phone,
      expectedPhoneE164: null,
    });
    if (contact.usesApp) await linkAppContact(e2e.server, ama, kofi, id);
  }
  return { ama, names };
}

/** Reloads a page and waits for its event stream (pokes), so the ledger arrives as the server writes it. */
async function reloadWithStream(page: Page): Promise<void> {
  const stream = page.waitForResponse((r) => r.url().endsWith('/sync/events') && r.status() === 200);
  await page.reload();
  await stream;
}

const devices = new Map<string, Device>();
const deviceFor = (account: Account, contacts: ContactSet) => devices.get(`${account}/${contacts}`)!;
let kofiPage: Page;
let twilio: FakeTwilio;
/** What the carrier does with every message the server sends (the loop below). */
let carrier: Sms = 'not configured';
let carrierLoop: ReturnType<typeof setInterval> | undefined;
let twilioOn = false;

async function answerMessages(answered: Set<string>): Promise<void> {
  for (const message of twilio.messages) {
    if (message.direction !== 'outbound-api' || answered.has(message.sid)) continue;
    const [recorded] = await e2e.server.queryPostgres(
      'select 1 from alert_logs where provider_message_id = $1',
      [message.sid],
    );
    if (recorded === undefined) continue;
    answered.add(message.sid);
    const answer =
      carrier === 'delivering'
        ? twilio.sendCallback(message.sid, 'delivered')
        : carrier === '30003'
          ? twilio.sendCallback(message.sid, 'undelivered', { errorCode: 30003 })
          : twilio.sendCallback(message.sid, 'failed', { errorCode: 30006 });
    await answer.catch((error: unknown) => e2e.log(`carrier: ${String(error)}`));
  }
}

beforeAll(async () => {
  // PUBLIC_URL (alert links, so Kofi can link his account); no SMS provider: the first group.
  await e2e.server.restart({ env: { PUBLIC_URL: e2e.server.url } });
  twilio = await startFakeTwilio();
  const kofi = await accountNamed(e2e.server.url, 'Kofi');
  const kofiContext = await e2e.newFileContext();
  kofiPage = await openControlledPage(kofiContext);
  await signInInApp(kofiPage, kofi.email);
  await kofiPage.goto('/#/mood');
  await reloadWithStream(kofiPage);

  // The four phones are set up side by side (most of it is waiting on the server and Chromium).
  const setUp = CONTACT_SETS.flatMap((contacts) => [
    (async () => {
      const { ama, names } = await amaAccount(contacts, kofi);
      const signedIn = await newDevice('signed in', contacts);
      signedIn.names = names;
      await signInInApp(signedIn.page, ama.email);
      await signedIn.page.goto('/');
      await waitUntil('the contacts pulled', async () =>
        (await readIndexedDb(signedIn.page, 'emergency_contacts')).length === names.size ? true : undefined,
      );
      await reloadWithStream(signedIn.page);
      devices.set(`signed in/${contacts}`, signedIn);
    })(),
    (async () => {
      const signedOut = await newDevice('signed out', contacts);
      for (const contact of CONTACTS[contacts]) await addContactInApp(signedOut.page, contact);
      await signedOut.page.goto('/');
      devices.set(`signed out/${contacts}`, signedOut);
    })(),
  ]);
  await Promise.all(setUp);

  // The carrier answers a message once the server has recorded its sid (as a real carrier's report comes later).
  const answered = new Set<string>();
  let busy = false;
  carrierLoop = setInterval(() => {
    if (busy) return;
    busy = true;
    void answerMessages(answered).finally(() => (busy = false));
  }, 100);
}, 180_000);

afterAll(async () => {
  clearInterval(carrierLoop);
  await twilio?.close();
});

// ---- one combination ------------------------------------------------------------------------------------------

const SCREENSHOTS = new Set([
  'not configured · online · signed in · tiers 1–3',
  'delivering · online · signed in · one tier 1',
  '30003 · slow · signed in · tiers 1–3',
  '30006 · online · signed in · tiers 1–3',
  'delivering · offline · signed out · tiers 1–3',
]);

async function incidentAtServer(id: string, device: Device): Promise<Truth> {
  if (device.account === 'signed out') return { atServer: false, rows: [] };
  const [incident] = await e2e.server.queryPostgres('select 1 from emergency_incidents where id = $1', [id]);
  const rows = await e2e.server.queryPostgres<{
    contact_id: string;
    channel: string;
    status: string;
    response: string | null;
  }>(
    `select contact_id, channel::text, status::text, response::text from alert_logs
      where incident_id = $1 and message_kind in ('alert', 'escalation')`,
    [id],
  );
  return {
    atServer: incident !== undefined,
    rows: rows.map((r) => ({
      name: device.names.get(r.contact_id) ?? r.contact_id,
      facts: { channel: r.channel, status: r.status, response: r.response },
    })),
  };
}

async function runCombo(combo: Combo, label: string): Promise<void> {
  const device = deviceFor(combo.account, combo.contacts);
  try {
    await pressSosAndCheck(combo, label, device);
  } finally {
    await backToWorkingLink(combo, label, device);
  }
}

async function pressSosAndCheck(combo: Combo, label: string, device: Device): Promise<void> {
  const { page, context } = device;
  const names = CONTACTS[combo.contacts].map((c) => c.name);
  carrier = combo.sms;
  // The page's clock is where the last combination left it (minutes ahead): back to now.
  await page.clock.setSystemTime(Date.now());
  if (combo.link === 'offline') await context.setOffline(true);
  if (combo.link === 'unreachable') device.mode = 'refuse';
  if (combo.link === 'slow') device.mode = 'hold';

  await page.getByRole('button', { name: 'SOS: alert my emergency contacts' }).click();
  await page.getByRole('timer', { name: 'SOS countdown' }).waitFor();
  await page.clock.fastForward(5_000);
  await page.getByRole('heading', { name: /SOS [A-Z0-9]{4} is open/ }).waitFor({ timeout: 5_000 });
  const [incident] = (
    await readIndexedDb<{ id: string; status: string; triggeredAt: number }>(page, 'emergency_incidents')
  ).filter((i) => i.status === 'active');
  if (incident === undefined) throw new Error(`${label}: no open incident on the phone`);

  const offered = new Set<string>();
  for (const phase of phases(combo)) {
    const pageNow = await page.evaluate(() => Date.now());
    const target = incident.triggeredAt + phase.atS * 1000;
    if (target > pageNow) await page.clock.fastForward(target - pageNow);
    if (combo.link === 'slow' && phase.serverAnswered) release(device);
    let screen: Screen | undefined;
    let diffs: string[] = ['not read'];
    // Within 10 s (real time, the page's clock running with it): the server, the carrier and Kofi's app answer.
    for (const deadline = Date.now() + 10_000; diffs.length > 0 && Date.now() < deadline;) {
      screen = await readScreen(page);
      const lies = untrueWords(screen, await incidentAtServer(incident.id, device), names, offered);
      expect(lies, `${label} at ${phase.name}: untrue words\n${JSON.stringify(screen, null, 1)}`).toEqual([]);
      diffs = differences(combo, phase, screen);
      if (diffs.length > 0) await new Promise((resolve) => setTimeout(resolve, 150));
    }
    expect(diffs, `${label} at ${phase.name}\n${JSON.stringify(screen, null, 1)}`).toEqual([]);
    if (SCREENSHOTS.has(label)) {
      await screenshot(
        page,
        `matrix-${label.replace(/\W+/g, '-')}-${phase.name.replace(/\W+/g, '-')}`,
        'also',
      );
    }
  }
}

/** "I'm safe" (also after a failure, so the next combination starts at the SOS button), then a working link. */
async function backToWorkingLink(combo: Combo, label: string, device: Device): Promise<void> {
  const { page, context } = device;
  const safe = page.getByRole('button', { name: "I'm safe" });
  if ((await safe.count()) > 0) {
    await safe.click();
    await page.getByRole('heading', { name: 'You marked yourself safe' }).waitFor();
  }
  const home = page.getByRole('button', { name: 'Back to home' });
  if ((await home.count()) > 0) await home.click();
  // Back to a working link; a signed-in phone hands its queue (the trigger, "I'm safe") to the server first, so
  // the next combination starts from a quiet outbox and a live event stream.
  await context.setOffline(false);
  release(device);
  if (combo.account === 'signed in' && combo.link !== 'online') await reloadWithStream(page);
  if (combo.account === 'signed in') {
    await waitUntil(`${label}: the outbox drained`, async () =>
      (await readIndexedDb(page, 'outbox')).length === 0 ? true : undefined,
    );
  }
  // Home again, with the SOS button: the next combination starts there. Said with the screen if not.
  try {
    await page.getByRole('button', { name: 'SOS: alert my emergency contacts' }).waitFor({ timeout: 10_000 });
  } catch (error) {
    const shown = await page
      .locator('main')
      .innerText()
      .catch(() => '(no main)');
    throw new Error(`${label}: not back at the SOS button after "I'm safe"; the screen shows:\n${shown}`, {
      cause: error,
    });
  }
}

const comboName = (c: Combo) => `${c.sms} · ${c.link} · ${c.account} · ${c.contacts}`;

for (const sms of SMS) {
  describe(`SMS ${sms}`, () => {
    beforeAll(async () => {
      // Once, in the first configured group that runs (a filtered run may skip the others).
      if (sms === 'not configured' || twilioOn) return;
      twilioOn = true;
      // From here on the server texts through the stand-in; the carrier loop decides each message's fate.
      await e2e.server.restart({ env: twilioServerEnv(twilio, e2e.server.url) });
      for (const page of [
        kofiPage,
        ...[...devices.values()].filter((d) => d.account === 'signed in').map((d) => d.page),
      ])
        await reloadWithStream(page);
    }, 60_000);

    for (const link of LINKS) {
      for (const account of ACCOUNTS) {
        for (const contacts of CONTACT_SETS) {
          const combo: Combo = { sms, link, account, contacts };
          const label = comboName(combo);
          it(`[SO50][SO51][SO52][SO53] ${label}`, () => runCombo(combo, label));
        }
      }
    }
  });
}
