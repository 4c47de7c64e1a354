/**
 * One contact's app link on the contacts screen (SPEC SE14, SE16): the account that gets this contact's alerts in
 * the app, with a button to remove it, and an account's request to, with Approve and Decline. The owner sees the
 * account's name *and* its sign-in: anyone can call their account "Kofi", and anyone who saw Kofi's alert text can
 * ask, so the words say to approve only an account the owner knows is Kofi's.
 */
import { Show } from 'solid-js';
import type { ContactRow } from '@vitalwatch/schema/protocol/rows';
import type { LinkAccount } from '@vitalwatch/schema/protocol/contact-app-links';
import { accountLabel, type ContactAppLinksState } from './contact-app-links.ts';

/** An account's name and sign-in, broken anywhere: an email address has no spaces and would widen a phone's page. */
function Account(props: { account: LinkAccount }) {
  return <strong style={{ 'overflow-wrap': 'anywhere' }}>{accountLabel(props.account)}</strong>;
}

export function ContactAppLinkSection(props: { contact: ContactRow; links: ContactAppLinksState }) {
  const link = () => props.links.of(props.contact.id);
  const busy = () => props.links.busy() === props.contact.id;
  const name = () => props.contact.name;

  const remove = (account: string, label: string) => {
    if (
      !window.confirm(
        `Stop sending your alerts to ${label} in the app? ${name()} still gets your text messages.`,
      )
    )
      return;
    void props.links.answer(props.contact.id, 'remove', account);
  };

  return (
    <Show
      when={props.links.known()}
      fallback={
        // Not reached (offline, signed out): only what this device pulled, never which account.
        <Show when={props.contact.appLinked === true}>
          <span class="hint"> · gets alerts in the VitalWatch app too</span>
        </Show>
      }
    >
      <Show when={link()?.linked}>
        {(linked) => (
          <p>
            Gets your alerts in the VitalWatch app on <Account account={linked()} />.{' '}
            <button
              type="button"
              disabled={busy()}
              onClick={() => remove(linked().id, accountLabel(linked()))}
              aria-label={`Stop sending ${name()}'s app alerts to ${accountLabel(linked())}`}
            >
              Remove
            </button>
          </p>
        )}
      </Show>
      <Show when={link()?.request}>
        {(request) => (
          <div class="warning" role="group" aria-label={`Request for ${name()}'s alerts in the app`}>
            <p>
              <Account account={request().account} /> asks to get your SOS alerts and location in the
              VitalWatch app, as {name()}.
            </p>
            <p>
              Approve only if you know this account is {name()}'s: anyone who saw {name()}'s alert text can
              ask.
              <Show when={link()?.linked}>
                {(linked) => <> Approving replaces {accountLabel(linked())}.</>}
              </Show>
            </p>
            <button
              type="button"
              disabled={busy()}
              onClick={() => void props.links.answer(props.contact.id, 'approve', request().account.id)}
            >
              Approve
            </button>
            <button
              type="button"
              disabled={busy()}
              onClick={() => void props.links.answer(props.contact.id, 'decline', request().account.id)}
            >
              Decline
            </button>
          </div>
        )}
      </Show>
    </Show>
  );
}
