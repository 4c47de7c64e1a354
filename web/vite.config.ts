import { defineConfig } from 'vite';
import solid from 'vite-plugin-solid';
import { VitePWA } from 'vite-plugin-pwa';
import { SERVER_PATH_PREFIXES } from '@vitalwatch/schema/server-paths';

const SYNC_SERVER = 'http://127.0.0.1:8787';

// The Host header is kept (no changeOrigin) so the server sees the same origin the browser used.
const proxy = Object.fromEntries(SERVER_PATH_PREFIXES.map((prefix) => [prefix, SYNC_SERVER]));

// Shown as <html data-build> so a test (and a support call) can tell which build a page runs.
const BUILD_ID = process.env.VITALWATCH_BUILD_ID ?? new Date().toISOString();

export default defineConfig({
  define: { __BUILD_ID__: JSON.stringify(BUILD_ID) },
  plugins: [
    solid(),
    VitePWA({
      strategies: 'injectManifest',
      // Resolved with path.resolve against the vite root (web/), so this is <repo>/sw/src/sw.ts.
      srcDir: '../sw/src',
      filename: 'sw.ts',
      // 'prompt': a waiting worker activates only when the user accepts the update (see sw/src/sw.ts).
      registerType: 'prompt',
      // web/src/ui/service-worker-registration.ts registers /sw.js itself, so the update prompt is part of the UI
      // (ADR 0034: no workbox-window on the first visit).
      injectRegister: false,
      includeAssets: ['apple-touch-icon-180x180.png'],
      manifest: {
        name: 'VitalWatch',
        short_name: 'VitalWatch',
        description:
          'Offline-first safety and mental-health companion: SOS alerts to your emergency contacts, daily mood check-ins and coping tools.',
        lang: 'en',
        theme_color: '#b00020',
        background_color: '#ffffff',
        display: 'standalone',
        start_url: '/',
        scope: '/',
        icons: [
          { src: '/pwa-192x192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: '/pwa-512x512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          { src: '/maskable-icon-512x512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
        shortcuts: [
          {
            name: 'SOS',
            short_name: 'SOS',
            description: 'Open the VitalWatch SOS screen',
            url: '/?sos=1',
            icons: [{ src: '/pwa-192x192.png', sizes: '192x192', type: 'image/png' }],
          },
        ],
      },
    }),
  ],
  server: { proxy },
  preview: { proxy },
  build: {
    outDir: 'dist',
    rolldownOptions: {
      output: {
        // The small schema modules the entry and the lazy screens share go into one chunk with zod, not one
        // chunk each: fewer requests and one gzip stream on the first visit (its 80 KB budget, bench/README.md).
        codeSplitting: {
          groups: [
            {
              name: 'common',
              test: /node_modules[\\/]\.pnpm[\\/](zod|uuidv7)@|schema[\\/]src[\\/](ids|phone-patterns|settings-patterns|sms[\\/]sms-time|screeners[\\/]screener-shape)\.ts$/,
            },
          ],
        },
      },
    },
  },
});
