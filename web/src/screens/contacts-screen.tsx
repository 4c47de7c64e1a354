/**
 * Emergency contacts: name, phone (parsed with the phone's region, stored as E.164, shown formatted; a number
 * that cannot be used gets a message on the phone field that says how to fix it: phone-number.ts, SPEC SO5),
 * relationship and priority tier 1–3.
 * Loaded on demand: libphonenumber-js is the biggest piece of this screen and the SOS path does not need it.
 * A contact's own VitalWatch account that gets the alerts in the app, and an account's request to, are shown with
 * the account's name and sign-in, to approve, decline or remove (contact-app-link-section.tsx, SPEC SE14, SE16);
 * offline, only pull's `appLinked` mark.
 */
import { createSignal, For, Show } from 'solid-js';
import { newId } from '@vitalwatch/schema/ids';
import type { ContactRow } from '@vitalwatch/schema/protocol/rows';
import { CONTACT_DEFAULTS } from '@vitalwatch/schema/row-defaults';
import { useApp } from '../ui/app-context.ts';
import { createLiveQuery } from '../ui/live-query.ts';
import { ContactAppLinkSection } from './contact-app-link-section.tsx';
import { createContactAppLinks } from './contact-app-links.ts';
import { formatPhoneNumber, parsePhoneInput } from './phone-number.ts';
import { devicePhoneRegion } from './phone-region.ts';

interface Draft {
  id: string | null;
  name: string;
  phone: string;
  relationship: string;
  tier: number;
}

const EMPTY: Draft = { id: null, name: '', phone: '', relationship: '', tier: CONTACT_DEFAULTS.tier };

/** A problem with one field, right under it and named by its `aria-describedby`. */
function FieldError(props: { id: string; message: string | undefined }) {
  return (
    <Show when={props.message}>
      {(message) => (
        <p id={props.id} class="warning field-error" role="alert">
          {message()}
        </p>
      )}
    </Show>
  );
}

export default function ContactsScreen() {
  const { device, prefs } = useApp();
  const contacts = createLiveQuery(
    async () =>
      (await device.db.emergency_contacts.toArray()).sort(
        (a, b) => a.tier - b.tier || a.name.localeCompare(b.name),
      ),
    [],
  );
  const [draft, setDraft] = createSignal<Draft>(EMPTY);
  const [errors, setErrors] = createSignal<{ name?: string; phone?: string }>({});
  // The region the user confirmed (synced, SPEC SO40), else this phone's own (its time zone, then its language).
  const region = prefs.settings().regionIsDefault ? devicePhoneRegion() : prefs.settings().region;
  const shown = (e164: string) => formatPhoneNumber(e164, region);
  const [saved, setSaved] = createSignal<string | null>(null);
  const appLinks = createContactAppLinks(device);

  const edit = (c: ContactRow) => {
    setDraft({
      id: c.id,
      name: c.name,
      phone: shown(c.phoneE164),
      relationship: c.relationship ?? '',
      tier: c.tier,
    });
    setErrors({});
  };

  const save = async (event: SubmitEvent) => {
    event.preventDefault();
    const d = draft();
    const name = d.name.trim();
    const phone = parsePhoneInput(d.phone, region);
    const problems = {
      ...(name === '' && { name: 'Enter a name.' }),
      ...('error' in phone && { phone: phone.error }),
    };
    setErrors(problems);
    if ('error' in phone || name === '') return;
    const existing = d.id === null ? undefined : contacts().find((c) => c.id === d.id);
    const fields = {
      name,
      relationship: d.relationship.trim() === '' ? null : d.relationship.trim(),
      tier: d.tier,
    };
    await device.mutators.upsertContact({
      id: d.id ?? newId(),
      fields,
      ...(existing?.phoneE164 === phone.e164
        ? {}
        : { phoneE164: phone.e164, expectedPhoneE164: existing?.phoneE164 ?? null }),
    });
    setSaved(`Saved ${name} (${shown(phone.e164)}).`);
    setDraft(EMPTY);
  };

  const remove = async (c: ContactRow) => {
    if (!window.confirm(`Delete ${c.name}? They will no longer get your SOS alerts.`)) return;
    await device.mutators.deleteContact({ id: c.id, expectedPhoneE164: c.phoneE164 });
  };

  return (
    <section aria-labelledby="contacts-title">
      <h2 id="contacts-title">Emergency contacts</h2>
      <p>Tier 1 contacts get your SOS first. Tier 2 and 3 are asked if nobody answers.</p>
      <Show when={appLinks.waiting() > 0}>
        <p class="notice" role="status">
          {appLinks.waiting() === 1
            ? 'An account asks to get your alerts in the app. Answer it below.'
            : `${appLinks.waiting()} accounts ask to get your alerts in the app. Answer them below.`}
        </p>
      </Show>
      <Show when={appLinks.problem()}>
        {(problem) => (
          <p class="warning" role="alert">
            {problem().text}
          </p>
        )}
      </Show>
      <ul class="contacts">
        <For each={contacts()} fallback={<li>No contacts yet.</li>}>
          {(c) => (
            <li>
              <strong>{c.name}</strong> <span class="phone">{shown(c.phoneE164)}</span> · tier {c.tier}
              {c.relationship === null ? '' : ` · ${c.relationship}`}
              <ContactAppLinkSection contact={c} links={appLinks} />
              <button type="button" onClick={() => edit(c)} aria-label={`Edit ${c.name}`}>
                Edit
              </button>
              <button type="button" onClick={() => void remove(c)} aria-label={`Delete ${c.name}`}>
                Delete
              </button>
            </li>
          )}
        </For>
      </ul>
      <form class="contact-form" onSubmit={(event) => void save(event)} novalidate>
        <h3>{draft().id === null ? 'Add a contact' : 'Edit contact'}</h3>
        <label>
          Name
          <input
            name="name"
            autocomplete="name"
            value={draft().name}
            aria-invalid={errors().name !== undefined}
            aria-describedby={errors().name === undefined ? undefined : 'contact-name-error'}
            onInput={(e) => setDraft({ ...draft(), name: e.currentTarget.value })}
          />
        </label>
        <FieldError id="contact-name-error" message={errors().name} />
        <label>
          Phone
          <input
            name="phone"
            type="tel"
            autocomplete="tel"
            value={draft().phone}
            aria-invalid={errors().phone !== undefined}
            aria-describedby={errors().phone === undefined ? undefined : 'contact-phone-error'}
            onInput={(e) => setDraft({ ...draft(), phone: e.currentTarget.value })}
          />
        </label>
        <FieldError id="contact-phone-error" message={errors().phone} />
        <label>
          Relationship
          <input
            name="relationship"
            value={draft().relationship}
            onInput={(e) => setDraft({ ...draft(), relationship: e.currentTarget.value })}
          />
        </label>
        <label>
          Priority
          <select
            name="tier"
            value={String(draft().tier)}
            onChange={(e) => setDraft({ ...draft(), tier: Number(e.currentTarget.value) })}
          >
            <option value="1">Tier 1: alert first</option>
            <option value="2">Tier 2</option>
            <option value="3">Tier 3</option>
          </select>
        </label>
        <button type="submit">Save contact</button>
        <Show when={draft().id !== null}>
          <button type="button" onClick={() => setDraft(EMPTY)}>
            Cancel editing
          </button>
        </Show>
        <Show when={saved()}>{(message) => <p role="status">{message()}</p>}</Show>
      </form>
    </section>
  );
}
