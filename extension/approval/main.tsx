import { render } from 'preact';
import '../ui/theme.css';

function ApprovalApp() {
  return (
    <main class="popup" data-testid="approval-root">
      <h1>Duet</h1>
      <p class="lede">No request is waiting for your approval.</p>
    </main>
  );
}

render(<ApprovalApp />, document.getElementById('app') as HTMLElement);
