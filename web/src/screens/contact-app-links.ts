/**
 * The contacts screen's view of app links (SPEC SE14, SE16): which account gets each contact's alerts in the app,
 * which account asks to, and the owner's answers. The server holds these (sync-server/src/alerts/
 * contact-app-link-routes.ts): they name other accounts, so they are not synced rows, and an answer counts only
 * once the server has it. So this asks the server when the screen opens, when it becomes visible again and when
 * the connection returns; offline or signed out there is nothing to show but the pulled `appLinked` mark.
 */
import { createEffect, createSignal, on, onCleanup, type Accessor } from 'solid-js';
import {
  CONTACT_APP_LINKS_PATH,
  ContactAppLink,
  ContactAppLinks,
  contactAppLinkPath,
  type LinkAccount,
} from '@vitalwatch/schema/protocol/contact-app-links';
import type { Device } from '../device/device.ts';
import { createSessionTokens, readSession, type StoredSession } from '../sync/auth-session.ts';
import { callAccountApi, type ApiProblem } from '../ui/account-api.ts';
import { createLiveQuery } from '../ui/live-query.ts';

export type AppLinkDecision = 'approve' | 'decline' | 'remove';

export interface ContactAppLinksState {
  /** The contact's app link as the server last said; undefined when not known (offline, signed out, loading). */
  of(contactId: string): ContactAppLink | undefined;
  /** Whether the server's answer is known (signed in and reached). */
  readonly known: Accessor<boolean>;
  /** How many requests wait for the owner's answer. */
  readonly waiting: Accessor<number>;
  readonly problem: Accessor<ApiProblem | null>;
  /** The contact whose answer is being sent, so its buttons wait. */
  readonly busy: Accessor<string | null>;
  answer(contactId: string, decision: AppLinkDecision, account: string): Promise<void>;
}

/** How the owner recognises an account: its name with its sign-in, or the sign-in alone. */
export function accountLabel(account: LinkAccount): string {
  const login = account.email ?? account.phone;
  if (account.name !== null && login !== null) return `${account.name} (${login})`;
  return account.name ?? login ?? 'an account that no longer exists';
}

export function createContactAppLinks(device: Device): ContactAppLinksState {
  const tokens = createSessionTokens({ db: device.db, now: () => Date.now() });
  const session = createLiveQuery<StoredSession | null | undefined>(() => readSession(device.db), undefined);
  const [links, setLinks] = createSignal<ReadonlyMap<string, ContactAppLink> | null>(null);
  const [problem, setProblem] = createSignal<ApiProblem | null>(null);
  const [busy, setBusy] = createSignal<string | null>(null);

  async function load(): Promise<void> {
    if ((session() ?? null) === null) {
      setLinks(null);
      setProblem(null);
      return;
    }
    const outcome = await callAccountApi(
      tokens,
      { method: 'GET', path: CONTACT_APP_LINKS_PATH },
      ContactAppLinks,
    );
    if (outcome.ok) {
      setLinks(new Map(outcome.value.contacts.map((link) => [link.contactId, link])));
      setProblem(null);
    } else {
      setLinks(null);
      const { problem } = outcome;
      setProblem({
        ...problem,
        text: problem.offline
          ? 'Offline: connect to see which accounts get or ask for your alerts in the app.'
          : `Could not check which accounts get your alerts in the app. ${problem.text}`,
      });
    }
  }

  createEffect(
    on(
      () => session()?.userId,
      () => void load(),
    ),
  );
  const onVisible = () => {
    if (document.visibilityState === 'visible') void load();
  };
  const onOnline = () => void load();
  document.addEventListener('visibilitychange', onVisible);
  window.addEventListener('online', onOnline);
  onCleanup(() => {
    document.removeEventListener('visibilitychange', onVisible);
    window.removeEventListener('online', onOnline);
  });

  return {
    of: (contactId) => links()?.get(contactId),
    known: () => links() !== null,
    waiting: () => [...(links()?.values() ?? [])].filter((link) => link.request !== null).length,
    problem,
    busy,
    async answer(contactId, decision, account) {
      setBusy(contactId);
      try {
        const outcome = await callAccountApi(
          tokens,
          {
            method: decision === 'remove' ? 'DELETE' : 'POST',
            path: contactAppLinkPath(contactId, decision === 'remove' ? undefined : decision),
            body: { account },
          },
          ContactAppLink,
        );
        if (outcome.ok) {
          const next = new Map(links());
          next.set(contactId, outcome.value);
          setLinks(next);
          setProblem(null);
        } else {
          // Whatever went wrong (e.g. the request was taken back meanwhile), show what is current now.
          await load();
          setProblem(outcome.problem);
        }
      } finally {
        setBusy(null);
      }
    },
  };
}
