/**
 * The words of "Test my SOS" (issue #14, SPEC SO44): what each tier-1 contact gets, from the server's SMS or from
 * the phone's own composer alike. It says TEST first, that nobody needs help, and asks for a reply, in one GSM-7
 * segment of at most SOS_SMS_MAX_CHARS for every name (cut at a word boundary, or left out).
 */
import { SOS_SMS_MAX_CHARS, toGsm7 } from './gsm7.ts';
import { fitName } from './sms-name.ts';

const ASK = 'Nobody needs help. Reply OK so they know texts reach you.';

export function buildTestSms(name: string): string {
  // No name, or none of it in GSM-7: the text says "someone" rather than leave a gap.
  const named =
    toGsm7(name).trim() === ''
      ? null
      : fitName(
          (n) => `TEST from VitalWatch: ${n} is testing their SOS alerts. ${ASK}`,
          name,
          SOS_SMS_MAX_CHARS,
        );
  return (
    named ?? `TEST from VitalWatch: someone who listed you as a contact is testing their SOS alerts. ${ASK}`
  );
}
