import { render } from 'preact';
import { appOriginProblem } from './app-security.ts';
import { AppGate } from './AppGate.tsx';

render(<AppGate />, document.getElementById('app') as HTMLElement);

if ('serviceWorker' in navigator && window.isSecureContext && !appOriginProblem(new URL(location.href))) {
  void navigator.serviceWorker.register('./phone-sw.js', { updateViaCache: 'none' }).catch(() => undefined);
}
