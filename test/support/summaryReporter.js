// Prints the suite's totals as one plain closing line, "Tests: N passed, N failed", which CI reads to tell a
// run that tested something from one that ran no test (jest's own summary line is not in a form it reads).
// It is printed when the process exits, so that it comes after jest's own summary, which other reporters print.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `Tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed`;
    process.once("exit", () => process.stdout.write(`${skipped ? `${line}, ${skipped} skipped` : line}\n`));
  }
}
module.exports = SummaryReporter;
