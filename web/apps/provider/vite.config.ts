import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Built into dist/, which the vault serves at /provider/ (medkey dev).
export default defineConfig({
  base: '/provider/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
});
