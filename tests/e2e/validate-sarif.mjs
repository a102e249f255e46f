// Validates SARIF files against the official OASIS SARIF 2.1.0 schema (draft-04) with ajv.
// usage: node validate-sarif.mjs SCHEMA FILE...
import { readFileSync } from 'node:fs';
import Ajv04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';

const [schemaPath, ...files] = process.argv.slice(2);
const ajv = new Ajv04({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')));
let failed = 0;
for (const f of files) {
  const doc = JSON.parse(readFileSync(f, 'utf8'));
  if (validate(doc)) {
    console.log(`valid: ${f} (${doc.runs[0].results.length} results)`);
  } else {
    failed++;
    console.error(`INVALID: ${f}`);
    for (const e of validate.errors) console.error(`  ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
  }
}
// A document that must fail proves the validator is not vacuous.
const broken = { version: '2.1.0', runs: [{ tool: { driver: {} }, results: [{ level: 'fatal', message: {} }] }] };
if (validate(broken)) {
  console.error('validator accepted a broken SARIF document');
  failed++;
}
process.exit(failed ? 1 : 0);
