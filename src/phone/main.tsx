import { render } from 'preact';
import { PhoneApp } from './PhoneApp.tsx';

render(<PhoneApp />, document.getElementById('app') as HTMLElement);
