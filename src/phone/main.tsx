import { render } from 'preact';
import { PhoneApp } from './PhoneApp.tsx';

render(<PhoneApp />, document.getElementById('app') as HTMLElement);

if ('serviceWorker' in navigator && window.isSecureContext) {
  void navigator.serviceWorker.register('./phone-sw.js').catch(() => undefined);
}
