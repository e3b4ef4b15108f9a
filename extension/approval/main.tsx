/** The approval window: one request at a time, decoded, with Approve / Reject. */
import { render } from 'preact';
import { DisplayFields } from '../ui/DisplayFields.tsx';
import { sendUi, useWalletView } from '../ui/wallet-client.ts';
import '../ui/theme.css';

function ApprovalApp() {
  const { view, refresh } = useWalletView();
  const current = view?.approvals[0];
  const decide = (approved: boolean) => {
    if (current) void sendUi({ action: 'decide', id: current.id, approved }).then(refresh);
  };
  return (
    <main class="popup" data-testid="approval-root">
      <header class="brand">
        <span class="logo" aria-hidden="true" />
        <h1>Duet</h1>
      </header>
      {!current && <p class="lede">No request is waiting for your approval.</p>}
      {current && (
        <div class="stack">
          <p class="origin" data-testid="approval-origin">{current.origin}</p>
          <DisplayFields model={current.display} />
          {current.code && (
            <p class="code">
              Request code <strong data-testid="approval-code">{current.code}</strong>
            </p>
          )}
          {current.status === 'pending' && (
            <div class="row">
              <button class="secondary" data-testid="reject" onClick={() => decide(false)}>
                Reject
              </button>
              <button data-testid="approve" onClick={() => decide(true)}>
                {current.kind === 'connect' ? 'Connect' : 'Approve'}
              </button>
            </div>
          )}
          {current.status !== 'pending' && (
            <p class={current.status === 'failed' ? 'error' : 'lede'} data-testid="approval-status">
              {current.message ?? 'Waiting for your phone…'}
            </p>
          )}
          {view && view.approvals.length > 1 && <p class="lede">{view.approvals.length - 1} more waiting.</p>}
        </div>
      )}
    </main>
  );
}

render(<ApprovalApp />, document.getElementById('app') as HTMLElement);
