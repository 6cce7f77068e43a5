// Is it valid FHIR R4? The same structural check the CLI makes before storing (element names
// and JSON types, required elements, choice types, primitive formats such as a date's), done by
// Medplum's maintained validator against HL7's own StructureDefinitions (trimmed at build time:
// scripts/fhirDefinitions.mjs). Both are loaded only when first asked, as they are large.

export interface FhirProblem {
  /** Where: `Patient.birthDate`. */
  path: string;
  /** What, in the validator's words: "Invalid date format". */
  message: string;
  /** How many problems the resource has in all. */
  count: number;
}

type Check = (resource: unknown) => FhirProblem | undefined;

let loading: Promise<Check> | undefined;

async function load(): Promise<Check> {
  const [{ indexStructureDefinitionBundle, validateResource, OperationOutcomeError }, definitions] = await Promise.all([
    import('@medplum/core'),
    import('./fhir/r4-definitions.json', { with: { type: 'json' } }),
  ]);
  indexStructureDefinitionBundle(definitions.default as Parameters<typeof indexStructureDefinitionBundle>[0]);
  return (resource) => {
    try {
      validateResource(resource as Parameters<typeof validateResource>[0]);
      return undefined;
    } catch (err) {
      if (!(err instanceof OperationOutcomeError)) return { path: '', message: String(err), count: 1 };
      const issues = err.outcome.issue ?? [];
      const first = issues[0];
      return {
        path: first?.expression?.[0] ?? '',
        message: first?.details?.text ?? first?.diagnostics ?? 'not valid FHIR R4',
        count: Math.max(1, issues.length),
      };
    }
  };
}

/** A checker for FHIR R4 resources: undefined for a valid one, else its first problem. */
export function fhirValidator(): Promise<Check> {
  loading ??= load();
  return loading;
}

/** "Observation.code: Missing required property (and 2 more problems)". */
export function problemWords(problem: FhirProblem): string {
  const more = problem.count > 1 ? ` (and ${problem.count - 1} more problem${problem.count === 2 ? '' : 's'})` : '';
  return `${problem.path ? `${problem.path}: ` : ''}${problem.message}${more}`;
}
