// Sums vitest's JSON reports (written in CI) into one plain closing line: "tests: N passed, N failed".
import fs from 'node:fs'

let passed = 0
let failed = 0
for (const file of process.argv.slice(2)) {
  const report = JSON.parse(fs.readFileSync(file, 'utf8'))
  passed += report.numPassedTests
  failed += report.numFailedTests
}
console.log(`tests: ${passed} passed, ${failed} failed`)
process.exitCode = failed > 0 || passed === 0 ? 1 : 0
