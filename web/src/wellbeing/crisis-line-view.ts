/**
 * What the crisis-line card shows for one entry (SPEC WB5), as plain data so it is tested without a browser: a
 * `tel:` link per number, an `sms:` link per SMS line (the phone's messaging app opens; the person sends), a
 * WhatsApp link marked as needing mobile data, the hours, the languages or that the source does not say, and
 * "Checked on <date>".
 */
import type { CrisisLine, CrisisNumber, CrisisTextLine } from '@vitalwatch/schema/crisis-lines/crisis-line';

export interface CrisisLink {
  readonly href: string;
  readonly text: string;
  readonly label: string | null;
}

export interface CrisisLineView {
  readonly name: string;
  readonly calls: readonly CrisisLink[];
  readonly texts: readonly CrisisLink[];
  readonly hours: string;
  readonly languages: string;
  readonly note: string | null;
  readonly checked: string;
  readonly sources: readonly string[];
}

/** `#` would end the URL; `*` and `+` are allowed in a tel: URI as they are. */
function dialUri(dial: string): string {
  return dial.replace(/#/g, '%23');
}

function callLink(n: CrisisNumber): CrisisLink {
  return { href: `tel:${dialUri(n.dial)}`, text: `Call ${n.display}`, label: n.label ?? null };
}

function textLink(n: CrisisTextLine): CrisisLink {
  if (n.channel === 'sms')
    return { href: `sms:${dialUri(n.dial)}`, text: `Text ${n.display}`, label: n.label ?? null };
  const label = [n.label, 'needs mobile data'].filter((part) => part !== undefined).join(', ');
  return { href: `https://wa.me/${n.dial.replace(/\D/g, '')}`, text: `WhatsApp ${n.display}`, label };
}

/** "7 December 2026" for 2026-12-07, whatever the phone's time zone. */
export function checkedOnText(date: string): string {
  const formatted = new Intl.DateTimeFormat('en-GB', {
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: 'UTC',
  }).format(new Date(`${date}T00:00:00Z`));
  return `Checked on ${formatted}`;
}

export function crisisLineView(line: CrisisLine): CrisisLineView {
  return {
    name: line.name,
    calls: line.calls.map(callLink),
    texts: line.texts.map(textLink),
    hours: line.hours,
    languages: line.languages.length === 0 ? 'Not stated by the source' : line.languages.join(', '),
    note: line.note ?? null,
    checked: checkedOnText(line.checked),
    sources: line.sources,
  };
}
