import { Button } from '@mantine/core';
import { useId, type ChangeEvent } from 'react';

/**
 * A file chooser that looks like the apps' other buttons. The browser's own file input stays in
 * the page (visually hidden, still focusable and labelled), so keyboards, screen readers and
 * phones' pickers behave as with a bare input; only its look is Medkey's.
 */
export function FilePicker({
  label,
  buttonText,
  accept,
  multiple,
  disabled,
  onChange,
}: {
  /** The input's accessible name, e.g. "FHIR or C-CDA file". */
  label: string;
  /** What the button says, e.g. "Choose a file". */
  buttonText: string;
  accept?: string;
  multiple?: boolean;
  disabled?: boolean;
  onChange: (event: ChangeEvent<HTMLInputElement>) => void;
}) {
  const id = useId();
  return (
    <Button component="label" htmlFor={id} variant="default" className="file-picker" disabled={disabled ?? false}>
      {buttonText}
      <input
        id={id}
        className="visually-hidden-input"
        type="file"
        aria-label={label}
        accept={accept}
        multiple={multiple}
        disabled={disabled}
        onChange={onChange}
      />
    </Button>
  );
}
