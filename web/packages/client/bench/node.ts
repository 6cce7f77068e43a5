// `npm run bench` (Node): the workloads of bench/workload.ts on this machine's Node.
import { readdirSync, readFileSync } from 'node:fs';
import { recordsWorkload, streamWorkload } from './workload.ts';

const fixtures = new URL('../../../../tests/fixtures/fhir-r4/', import.meta.url);
export function thousandResources(): object[] {
  const examples = readdirSync(fixtures)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(new URL(f, fixtures), 'utf8')) as object);
  return Array.from({ length: 1000 }, (_, i) => examples[i % examples.length]!);
}

const megabytes = Number(process.argv[2] ?? 100);
const heap = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
const stream = await streamWorkload(megabytes, heap);
const records = await recordsWorkload(thousandResources());
console.log(JSON.stringify({ runtime: `node ${process.version}`, stream, records }, null, 2));
