import { render } from 'preact';
import { ApprovalApp } from './ApprovalApp.tsx';
import '../ui/theme.css';

render(<ApprovalApp />, document.getElementById('app') as HTMLElement);
