// Builds the console into dist/, which backup-service embeds at compile time and serves at `/`.
// `npm run dev` serves it with hot reload and proxies the gRPC-web calls to backup-service
// (BACKUP_SERVICE_URL, default http://127.0.0.1:50052), so the page stays same-origin.
import vue from "@vitejs/plugin-vue";
import { defineConfig } from "vitest/config";

// Node's `process`, without pulling in @types/node for one variable.
declare const process: { env: Record<string, string | undefined> };

const backend = process.env.BACKUP_SERVICE_URL ?? "http://127.0.0.1:50052";

export default defineConfig({
  plugins: [vue()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 2048,
    rollupOptions: {
      output: {
        // The component library changes less often than the app: its own hashed file.
        manualChunks: { vendor: ["vue", "vue-router", "vue-i18n", "element-plus"] },
      },
    },
  },
  server: {
    proxy: { "^/backup\\.v1\\.": { target: backend, changeOrigin: false } },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
