/**
 * What a crisis line entry holds (SPEC WB1): every number was read on a published page, each page is in `sources`,
 * and `checked` is the day it was read. A field the source did not state stays empty rather than being filled in
 * from memory (languages) or says so in words (hours): a wrong crisis number is a known failure of safety apps
 * (docs/safety-practice.md, docs/crisis-lines.md).
 */

/** A number to call: `dial` is E.164 (`+27800456789`) or a short code dialled as is (`988`, `*4141`). */
export interface CrisisNumber {
  readonly dial: string;
  /** As the source prints it and as people there dial it (`0800 456 789`); the same number as `dial` (WB2). */
  readonly display: string;
  /** What this number is for, when an entry has several ("Bogotá only", "press 5"). */
  readonly label?: string;
}

/** A number to write to. SMS opens the phone's messaging app; WhatsApp needs mobile data. */
export interface CrisisTextLine extends CrisisNumber {
  readonly channel: 'sms' | 'whatsapp';
}

export interface CrisisLine {
  /** ISO 3166-1 alpha-2, upper case. One entry per region. */
  readonly region: string;
  readonly name: string;
  /** At least one. */
  readonly calls: readonly CrisisNumber[];
  /** Empty where the source names no text line. */
  readonly texts: readonly CrisisTextLine[];
  /** In the source's terms ("24 hours, every day"), or "Not stated by the source". */
  readonly hours: string;
  /** As the source names them; empty when the source does not say. */
  readonly languages: readonly string[];
  /** What the caller should know before dialling (a menu option, an area served). */
  readonly note?: string;
  /** The published pages the entry was checked against, at least one (http or https). */
  readonly sources: readonly string[];
  /** The day the sources were read, YYYY-MM-DD. */
  readonly checked: string;
}

/** The international directory offered where no line is listed for the user's region. */
export interface CrisisLineDirectory {
  readonly name: string;
  readonly url: string;
  readonly sources: readonly string[];
  readonly checked: string;
}
