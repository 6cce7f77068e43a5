import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Built into dist/, which the vault serves at /admin/ (medkey dev).
export default defineConfig({
  base: '/admin/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
});
