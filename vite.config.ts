import path from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The web console: built to dist/console, which the server serves at `/`.
export default defineConfig({
  root: path.resolve(import.meta.dirname, 'src/console'),
  plugins: [react()],
  build: {
    outDir: path.resolve(import.meta.dirname, 'dist/console'),
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
});
