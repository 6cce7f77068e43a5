import { MedkeyUI } from '@medkey/app-shell';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { ViewerScreen } from './screens/ViewerScreen.tsx';
import '@medkey/app-shell/styles.css';

// `/view/#shlink:/…` opens a shared link for anyone (no wallet, no account); everything else is her app.
const viewing = window.location.pathname.startsWith('/view');

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MedkeyUI>{viewing ? <ViewerScreen /> : <App />}</MedkeyUI>
  </StrictMode>,
);
