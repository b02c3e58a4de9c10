// The portal's Mantine theme, tuned once for WCAG 2.1 AA contrast (4.5:1 for text) instead of
// per component. Mantine's defaults fail it: dimmed text (gray.6) is 3.3:1 on white, filled teal
// 2.6:1, yellow titles 1.7:1, indigo buttons 4.3:1. So filled and light variants use shade 9,
// the shade-9 colours too light for it are deepened (light text on a 10% tint of itself reaches
// ≥4.8:1), and dimmed text is gray.7 (8.2:1).
import { type CSSVariablesResolver, createTheme, DEFAULT_THEME, type MantineColorsTuple } from "@mantine/core";

const deepened = (name: string, shade9: string, shade8?: string): MantineColorsTuple => {
  const base = DEFAULT_THEME.colors[name];
  return [base[0], base[1], base[2], base[3], base[4], base[5], base[6], base[7], shade8 ?? base[8], shade9];
};

export const theme = createTheme({
  primaryColor: "indigo",
  primaryShade: { light: 9, dark: 8 },
  defaultRadius: "md",
  colors: {
    teal: deepened("teal", "#087756"),
    yellow: deepened("yellow", "#a15300", "#b35c00"),
    red: deepened("red", "#c52929"),
    green: deepened("green", "#257735"),
    orange: deepened("orange", "#b63c0d"),
  },
});

export const cssVariablesResolver: CSSVariablesResolver = () => ({
  variables: {},
  light: { "--mantine-color-dimmed": "var(--mantine-color-gray-7)", "--mantine-color-placeholder": "var(--mantine-color-gray-6)" },
  dark: {},
});
