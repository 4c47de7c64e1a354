/**
 * What the crisis-line card shows (SPEC WB5): a tel: link per number, an sms: link for an SMS line, a WhatsApp
 * link marked as needing data, the languages or that the source does not say, and the checked date in words.
 */
import { describe, expect, it } from 'vitest';
import { crisisLineFor } from '@vitalwatch/schema/crisis-lines/crisis-line-for';
import { checkedOnText, crisisLineView } from './crisis-line-view.ts';

function viewOf(region: string) {
  const line = crisisLineFor(region);
  if (line === null) throw new Error(`no line for ${region}`);
  return crisisLineView(line);
}

describe('crisis-line view', () => {
  it('[WB5] calls are tel: links with the number as people read it; SMS lines are sms: links', () => {
    const za = viewOf('ZA');
    expect(za.calls).toEqual([{ href: 'tel:+27800456789', text: 'Call 0800 456 789', label: null }]);
    expect(za.texts).toEqual([
      { href: 'sms:31393', text: 'Text 31393', label: 'SMS, and a counsellor calls you back' },
    ]);
    expect(viewOf('CL').calls[0]?.href).toBe('tel:*4141');
    expect(viewOf('US').texts[0]?.href).toBe('sms:988');
  });

  it('[WB5] a WhatsApp line says it needs mobile data; languages the source did not name are said to be unstated', () => {
    expect(viewOf('SG').texts).toEqual([
      { href: 'https://wa.me/6591511767', text: 'WhatsApp 9151 1767', label: 'CareText, needs mobile data' },
    ]);
    expect(viewOf('KE').languages).toBe('Not stated by the source');
    expect(viewOf('PK').languages).toBe('English, Urdu, Sindhi, Pashto, Punjabi, Balochi, Saraiki');
  });

  it('[WB5] the checked date reads "Checked on 7 December 2026" in any time zone', () => {
    expect(checkedOnText('2026-12-07')).toBe('Checked on 7 December 2026');
    expect(viewOf('IN').checked).toBe('Checked on 7 December 2026');
    expect(viewOf('IN').sources[0]).toMatch(/^https:\/\//);
  });
});
