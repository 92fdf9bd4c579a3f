// Reads vitest's JSON report and prints "passed failed skipped" for .ci/run (with --each:
// one "name PASS|FAIL outcome" line per test, for the VM tier's native-tests). A skipped
// test counts as failed unless README.md's "Tests skipped on purpose" table names it
// (the start of its full name, in backticks) with a reason: a skip nobody wrote down is
// a claim nobody proves.
'use strict';
const fs = require('node:fs');

function listedSkips(readme) {
  const section = readme.split(/^### Tests skipped on purpose$/m)[1];
  if (section === undefined) return [];
  const body = section.split(/^#{1,3} /m)[0];
  return [...body.matchAll(/^\| `([^`]+)` \|[^|]*\S[^|]*\|/gm)].map((m) => m[1]);
}

/** Each test as [full name, 'passed' | 'failed' | 'skipped' (listed) | 'unlisted skip']. */
function outcomes(report, readme) {
  const allowed = listedSkips(readme);
  const out = [];
  for (const file of report.testResults) {
    // A file that failed to load has no tests to count: one failure.
    if (file.status === 'failed' && file.assertionResults.length === 0) out.push([file.name, 'failed']);
    for (const t of file.assertionResults) {
      if (t.status === 'passed' || t.status === 'failed') out.push([t.fullName, t.status]);
      else out.push([t.fullName, allowed.some((name) => t.fullName.startsWith(name)) ? 'skipped' : 'unlisted skip']);
    }
  }
  return out;
}

if (require.main === module) {
  const [reportFile, readmeFile, each] = process.argv.slice(2);
  const results = outcomes(JSON.parse(fs.readFileSync(reportFile, 'utf8')), fs.readFileSync(readmeFile, 'utf8'));
  const count = (...kinds) => results.filter(([, kind]) => kinds.includes(kind)).length;
  for (const [name, kind] of results) {
    if (each === '--each') console.log(name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/-+$/, ''), kind === 'passed' || kind === 'skipped' ? 'PASS' : 'FAIL', kind);
    else if (kind === 'unlisted skip') process.stderr.write(`skipped, and not listed in README.md "Tests skipped on purpose": ${name}\n`);
  }
  if (each !== '--each') console.log(count('passed'), count('failed', 'unlisted skip'), count('skipped'));
}
