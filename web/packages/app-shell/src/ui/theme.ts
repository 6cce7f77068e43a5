// The one visual system of every Medkey app: Mantine's components with Medkey's navy, controls
// large enough for a thumb (42 px, 16 px text so phones do not zoom into a field), and nothing
// that needs an inline <style> element (the vault's CSP allows only same-origin stylesheets; the
// theme's CSS variables are written ahead of time into theme.generated.css).
import { createTheme, type MantineColorsTuple } from '@mantine/core';

/** Medkey's navy, #12355b at shade 8 (the filled colour), lighter shades for tints and hovers. */
const navy: MantineColorsTuple = [
  '#e9f0f7',
  '#d0dded',
  '#a3bcd9',
  '#7399c4',
  '#4d7cb2',
  '#3469a6',
  '#265d9e',
  '#1b4d85',
  '#12355b',
  '#0b2440',
];

const thumbSized = { defaultProps: { size: 'md' } };

export const medkeyTheme = createTheme({
  primaryColor: 'navy',
  primaryShade: 8,
  colors: { navy },
  fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
  defaultRadius: 'md',
  // Focus is always visible, in the amber the apps used before, never only on keyboard heuristics.
  focusRing: 'auto',
  components: {
    Button: thumbSized,
    TextInput: thumbSized,
    Textarea: thumbSized,
    NativeSelect: thumbSized,
    NumberInput: thumbSized,
    PasswordInput: thumbSized,
    Checkbox: thumbSized,
    Radio: thumbSized,
  },
});
