import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Built into dist/, which the vault serves at / (medkey dev, medkey serve).
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  // The file reader's worker (src/services/planWorker.ts) loads the FHIR validator on demand: an
  // ES module worker can split it out, a classic one cannot.
  worker: { format: 'es' },
});
