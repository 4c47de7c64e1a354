/** Small pieces every form uses: a PIN field and the result line under a form. */
import { Show, type Accessor } from 'solid-js';

export function PinInput(props: {
  label: string;
  value: string;
  onInput: (value: string) => void;
  autocomplete?: 'off' | 'new-password';
}) {
  return (
    <label>
      {props.label}
      <input
        type="password"
        inputmode="numeric"
        autocomplete={props.autocomplete ?? 'off'}
        value={props.value}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
    </label>
  );
}

export interface FormResult {
  ok: boolean;
  text: string;
}

/** A success is announced politely (status), a problem at once (alert). */
export function FormMessage(props: { message: Accessor<FormResult | null> }) {
  return (
    <Show when={props.message()}>
      {(m) => (
        <p class={m().ok ? '' : 'warning'} role={m().ok ? 'status' : 'alert'}>
          {m().text}
        </p>
      )}
    </Show>
  );
}
