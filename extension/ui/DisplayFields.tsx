import type { DisplayModel } from '../../src/wallet/decode.ts';
import { WILL_FAIL_PREFIX } from '../../src/wallet/presign-warnings.ts';

/** Renders a decoded request the same way in the approval window as the phone does. */
export function DisplayFields({ model }: { model: DisplayModel }) {
  return (
    <section class="request" data-testid="request-display">
      {(model.alerts ?? []).map((alert) => (
        <p class="alert" role="alert" data-testid="request-alert" key={alert}>
          {alert}
        </p>
      ))}
      <h2 data-testid="request-title">{model.title}</h2>
      {model.warnings.map((warning) => (
        <p class={warning.startsWith(WILL_FAIL_PREFIX) ? 'warning danger' : 'warning'} data-testid="request-warning" key={warning}>
          {warning}
        </p>
      ))}
      <dl>
        {model.fields.map((field) => (
          <div class={field.warning ? 'field flagged' : 'field'} key={field.label}>
            <dt>{field.label}</dt>
            <dd data-testid={`field-${field.label}`}>{field.value}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
