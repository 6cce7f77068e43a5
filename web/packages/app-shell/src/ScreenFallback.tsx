// What a screen shows when something in it failed to render (every app puts each screen in an
// error boundary): what happened in plain words, that nothing was lost, and a way on.
import { Button } from '@mantine/core';

export function ScreenFallback({
  onBack,
  backLabel = 'Back to your records',
}: {
  onBack: () => void;
  backLabel?: string;
}) {
  return (
    <section aria-labelledby="fallback-title">
      <h1 id="fallback-title">This page could not be shown</h1>
      <p role="alert">
        Something on it could not be displayed, probably one malformed record. Nothing was changed or lost. Go back, or
        reload the page.
      </p>
      <Button type="button" onClick={onBack}>
        {backLabel}
      </Button>
    </section>
  );
}
