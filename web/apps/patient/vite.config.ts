import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Built into dist/, which the vault serves at / (medkey dev, medkey serve).
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
});
