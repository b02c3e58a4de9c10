import type { Config } from "tailwindcss";

export default {
  content: ["./app/**/*.{ts,tsx}"],
  // Mantine owns resets; Tailwind only lays out.
  corePlugins: { preflight: false },
  theme: { extend: {} },
} satisfies Config;
