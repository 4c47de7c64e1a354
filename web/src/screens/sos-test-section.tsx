/**
 * "Test my SOS" (issue #14, SPEC SO44–SO47): each tier-1 contact gets a message marked TEST, never an alert. No
 * incident is created and nothing escalates.
 * - When this server can send SMS (`/config.json`) and the user is signed in and online, the server sends them
 *   (`POST /api/v1/sos-test`), and the section shows per contact what the carrier reported and the contact's
 *   reply, asking again every few seconds for two minutes.
 * - Otherwise the phone sends them: one `sms:` link per contact (never a group message, SO2), each recorded as
 *   "messaging app opened", then the user's own answer to "Did it send?". A reply then comes to the user's own
 *   messages, which the app cannot read, and the section says so.
 */
import { createResource, createSignal, For, Match, onCleanup, Show, Switch } from 'solid-js';
import * as z from 'zod/mini';
import type { ContactRow } from '@vitalwatch/schema/protocol/rows';
import { buildTestSms } from '@vitalwatch/schema/sms/test-sms';
import { useApp } from '../ui/app-context.ts';
import { createLiveQuery } from '../ui/live-query.ts';
import { callAccountApi, type ApiProblem } from '../ui/account-api.ts';
import { fetchServerChannels } from '../ui/server-channels.ts';
import { createSessionTokens, readSession } from '../sync/auth-session.ts';
import { runAsLeader } from '../sync/sync-client.ts';
import { isIos, smsUri } from '../sos/sos-sms.ts';
import { formatPhoneNumber } from './phone-number.ts';

const Outcome = z.object({
  contact_id: z.nullable(z.string()),
  name: z.string(),
  to: z.string(),
  status: z.string(),
  error_code: z.nullable(z.string()),
  reply: z.nullable(z.object({ body: z.string(), at: z.nullable(z.string()) })),
});
type Outcome = z.infer<typeof Outcome>;
const TestAnswer = z.object({ test_id: z.string(), contacts: z.array(Outcome) });

/** How often, and how long, the section asks the server how the test went. */
const POLL_MS = 3_000;
const POLL_FOR_MS = 120_000;

/** What the carrier's status says, in words that claim only what was observed. */
export function testStatusWords(outcome: Pick<Outcome, 'status' | 'error_code'>): string {
  switch (outcome.status) {
    case 'pending':
    case 'accepted':
    case 'queued':
    case 'sending':
      return 'Handed to the SMS service; no word from the carrier yet.';
    case 'sent':
      return 'Sent by the carrier; no delivery receipt yet.';
    case 'delivered':
    case 'read':
      return 'Delivered to their phone (the carrier confirmed it).';
    case 'undelivered':
    case 'failed':
      return `Not delivered${outcome.error_code === null ? '' : ` (error ${outcome.error_code})`}. ${failureHint(outcome.error_code)}`;
    default:
      return `Status: ${outcome.status}.`;
  }
}

function failureHint(code: string | null): string {
  if (code === '30006') return 'This looks like a landline: use a mobile number.';
  if (code === '30003') return 'Their phone was unreachable (off or no signal). Try again later.';
  if (code === '30005' || code === '21211') return 'The number does not exist: check it in Contacts.';
  return 'Check the number in Contacts, then test again.';
}

type PhoneStep = 'opened' | 'sent' | 'not_sent';

export function SosTestSection() {
  const { device, prefs } = useApp();
  const tier1 = createLiveQuery(
    async () =>
      (await device.db.emergency_contacts.toArray())
        .filter((c) => c.tier === 1 && c.notifyBySms)
        .sort((a, b) => a.name.localeCompare(b.name)),
    [] as ContactRow[],
  );
  const [channels] = createResource(() => fetchServerChannels());
  const signedIn = createLiveQuery(async () => (await readSession(device.db)) !== null, false);
  const viaServer = () => channels()?.sms === true && signedIn() && navigator.onLine;
  const tokens = createSessionTokens({ db: device.db, now: () => Date.now() });
  const region = () => prefs.settings().region;
  const text = () => buildTestSms(prefs.settings().name);

  const [busy, setBusy] = createSignal(false);
  const [problem, setProblem] = createSignal<ApiProblem | null>(null);
  const [outcomes, setOutcomes] = createSignal<Outcome[] | null>(null);
  const [phoneSteps, setPhoneSteps] = createSignal<Record<string, PhoneStep>>({});
  let timer: ReturnType<typeof setTimeout> | undefined;
  onCleanup(() => clearTimeout(timer));

  const poll = (testId: string, until: number) => {
    timer = setTimeout(() => {
      void (async () => {
        const outcome = await callAccountApi(
          tokens,
          { method: 'GET', path: `/api/v1/sos-test/${testId}` },
          TestAnswer,
        );
        if (outcome.ok) setOutcomes(outcome.value.contacts);
        const waiting = outcome.ok && outcome.value.contacts.some((c) => c.reply === null);
        if (waiting && Date.now() < until) poll(testId, until);
      })();
    }, POLL_MS);
  };

  const testViaServer = async () => {
    setBusy(true);
    setProblem(null);
    clearTimeout(timer);
    try {
      // Contacts added a moment ago reach the server first, so the test covers them.
      await runAsLeader(() => device.client.syncOnce()).catch(() => undefined);
      const outcome = await callAccountApi(tokens, { method: 'POST', path: '/api/v1/sos-test' }, TestAnswer);
      if (!outcome.ok) {
        setProblem(outcome.problem);
        return;
      }
      setOutcomes(outcome.value.contacts);
      poll(outcome.value.test_id, Date.now() + POLL_FOR_MS);
    } finally {
      setBusy(false);
    }
  };

  const setStep = (id: string, step: PhoneStep) => setPhoneSteps((s) => ({ ...s, [id]: step }));
  const notOnServer = () => {
    const tested = new Set((outcomes() ?? []).map((o) => o.contact_id));
    return outcomes() === null ? [] : tier1().filter((c) => !tested.has(c.id));
  };

  return (
    <section class="sos-test" aria-labelledby="sos-test-title" data-testid="sos-test">
      <h3 id="sos-test-title">Test my SOS</h3>
      <Show
        when={tier1().length > 0}
        fallback={<p class="warning">Add a first-tier contact who gets texts, then test.</p>}
      >
        <p>
          Each first-tier contact gets a text marked <strong>TEST</strong> that says nobody needs help. No
          alert is raised.
        </p>
        <Switch>
          <Match when={viaServer()}>
            <button type="button" disabled={busy()} onClick={() => void testViaServer()}>
              {busy() ? 'Sending the test…' : 'Test my SOS'}
            </button>
            <Show when={problem()}>
              {(p) => (
                <p class="warning" role="alert">
                  {p().text}
                </p>
              )}
            </Show>
            <Show when={outcomes()}>
              {(list) => (
                <ul class="test-outcomes" aria-live="polite">
                  <For each={list()}>
                    {(o) => (
                      <li data-testid="test-outcome">
                        <strong>{o.name}</strong> ({formatPhoneNumber(o.to, region())}):{' '}
                        <span data-testid="test-status">{testStatusWords(o)}</span>
                        <Show when={o.reply} fallback={<span class="hint"> No reply yet.</span>}>
                          {(r) => <span data-testid="test-reply"> They replied: “{r().body}”</span>}
                        </Show>
                      </li>
                    )}
                  </For>
                  <For each={notOnServer()}>
                    {(c) => (
                      <li>
                        <strong>{c.name}</strong>: not on the server yet (not synced), so not tested. Try
                        again in a moment.
                      </li>
                    )}
                  </For>
                </ul>
              )}
            </Show>
          </Match>
          <Match when={true}>
            <p class="hint">
              {channels()?.sms === true
                ? 'To test through the server, sign in (and be online). Or send the test from your phone:'
                : 'This server cannot send SMS, so your phone sends the test (as it would send an SOS). Tap each one, then press Send:'}
            </p>
            <ul class="test-outcomes">
              <For each={tier1()}>
                {(c) => (
                  <li data-testid="test-outcome">
                    <a
                      class="big-link"
                      href={smsUri(c.phoneE164, text(), { ios: isIos(navigator.userAgent) })}
                      onClick={() => setStep(c.id, 'opened')}
                    >
                      Text {c.name} a test ({formatPhoneNumber(c.phoneE164, region())})
                    </a>
                    <Switch>
                      <Match when={phoneSteps()[c.id] === 'opened'}>
                        <p data-testid="test-status">
                          Messaging app opened. Did it send?{' '}
                          <button type="button" onClick={() => setStep(c.id, 'sent')}>
                            Yes
                          </button>{' '}
                          <button type="button" onClick={() => setStep(c.id, 'not_sent')}>
                            No
                          </button>
                        </p>
                      </Match>
                      <Match when={phoneSteps()[c.id] === 'sent'}>
                        <p data-testid="test-status">
                          You said it sent. Their reply comes to your phone's messages.
                        </p>
                      </Match>
                      <Match when={phoneSteps()[c.id] === 'not_sent'}>
                        <p class="warning" data-testid="test-status">
                          Not sent. Check you have signal and credit, then tap again.
                        </p>
                      </Match>
                    </Switch>
                  </li>
                )}
              </For>
            </ul>
          </Match>
        </Switch>
      </Show>
      <p class="hint">
        A text is best effort and does not replace the emergency number ({prefs.settings().emergencyNumber}).
      </p>
    </section>
  );
}
