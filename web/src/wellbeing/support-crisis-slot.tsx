/**
 * The support sheet's place for a number that answers (issue #16 item 1): for now the emergency number as a call
 * link. It takes the same props as the crisis-line card (`crisis-line-card.tsx`, region's verified crisis line
 * beside the emergency number), which replaces it once that card is merged.
 */
export function SupportCrisisSlot(props: { region: string | null; emergencyNumber: string }) {
  return (
    <div class="crisis-slot" data-region={props.region ?? ''}>
      <a class="big-link call" href={`tel:${props.emergencyNumber}`}>
        Call {props.emergencyNumber} (emergency number)
      </a>
      <p>If you might act on thoughts of hurting yourself, or you are in danger, call now.</p>
    </div>
  );
}
