// Writes src/ui/theme.generated.css from the theme (see src/ui/themeCss.ts for why it is static).
import { writeFileSync } from 'node:fs';
import { themeCss } from '../src/ui/themeCss.ts';

writeFileSync(new URL('../src/ui/theme.generated.css', import.meta.url), themeCss());
