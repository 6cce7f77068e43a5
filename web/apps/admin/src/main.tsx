import { MedkeyUI } from '@medkey/app-shell';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '@medkey/app-shell/styles.css';
import { App } from './App.tsx';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MedkeyUI>
      <App />
    </MedkeyUI>
  </StrictMode>,
);
