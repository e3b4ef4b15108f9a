import { render } from 'preact';
import { PopupApp } from './PopupApp.tsx';
import '../ui/theme.css';

render(<PopupApp />, document.getElementById('app') as HTMLElement);
