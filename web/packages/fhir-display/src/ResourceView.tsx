// A FHIR resource shown readably: the fields a person looks for first, per resource type
// (`Details.tsx`, following references among her records in `index`), and the full JSON behind a
// disclosure. Used by every app. Every value is read through `read.ts`
// and the view sits in its own error boundary: a malformed record says so and is still openable
// as JSON, and nothing else on the page goes away.

import { Details } from './Details.tsx';
import { ErrorBoundary } from './ErrorBoundary.tsx';
import { UNSHOWABLE, dateOf, formatDate, titleOf, typeName, type Resource } from './fhir.ts';
import { obj } from './read.ts';
import { NO_RECORDS, type RecordIndex } from './references.ts';

/** The record's JSON as stored (its own `text` when the caller has it), behind a disclosure. */
function StoredJson({ resource, text }: { resource: unknown; text?: string | undefined }) {
  let json = text;
  try {
    json ??= JSON.stringify(resource, null, 2);
  } catch {
    json = 'This record cannot be written out as JSON.';
  }
  return (
    <details>
      <summary>The record as stored (FHIR JSON)</summary>
      <pre>{json}</pre>
    </details>
  );
}

/**
 * What stands in for a record that cannot be shown: it says so, and its JSON is still there (the
 * decrypted `text` as sealed when the caller has it, else `resource` written out).
 */
export function UnshowableRecord({ resource, text }: { resource?: unknown; text?: string | undefined }) {
  return (
    <article className="resource" aria-label="A record that could not be shown">
      <p role="alert">{UNSHOWABLE}</p>
      <StoredJson resource={resource} text={text} />
    </article>
  );
}

function ReadableView({ resource, index }: { resource: Resource; index: RecordIndex }) {
  const title = titleOf(resource, index);
  return (
    <article className="resource" aria-label={title}>
      <h2>{title}</h2>
      <p className="resource-type">
        {typeName(resource.resourceType)} · {formatDate(dateOf(resource))}
      </p>
      <Details resource={resource} index={index} />
      <StoredJson resource={resource} />
    </article>
  );
}

/** `resource` shown readably; `index`: her other records here, for the references it makes. */
export function ResourceView({ resource, index = NO_RECORDS }: { resource: Resource; index?: RecordIndex }) {
  if (!obj(resource) || typeof resource.resourceType !== 'string') return <UnshowableRecord resource={resource} />;
  return (
    <ErrorBoundary fallback={<UnshowableRecord resource={resource} />} resetKey={resource}>
      <ReadableView resource={resource} index={index} />
    </ErrorBoundary>
  );
}
