// Jest's node environment, with failures made safe to send to the parent process.
//
// Jest runs the suites in a worker process (jest.config.js: workerIdleMemoryLimit), which sends each test case's
// result to the parent as JSON, the thrown errors included. An error from the Azure SDKs carries its HTTP request
// and response, which refer to each other: JSON.stringify throws, and Jest then reports the whole suite as "failed
// to run: Converting circular structure to JSON", without saying which test failed or why. Each failed test's
// errors are therefore replaced, as the test ends, by copies that keep the message, the stack, and every property
// that JSON can carry (a matcher's result, an SDK error's code and status).
const { TestEnvironment } = require("jest-environment-node");

function jsonSafe(error) {
  if (Array.isArray(error)) return error.map(jsonSafe);
  if (error === null || typeof error !== "object") return error;
  try {
    JSON.stringify(error);
    return error;
  } catch {
    const copy = new Error(String(error.message));
    copy.name = error.name;
    copy.stack = error.stack;
    for (const [key, value] of Object.entries(error)) {
      try {
        JSON.stringify(value);
        copy[key] = value;
      } catch {
        copy[key] = `[${key}: not serializable]`;
      }
    }
    return copy;
  }
}

class NodeEnvironment extends TestEnvironment {
  async handleTestEvent(event) {
    // Runs before jest-circus' own test_done handler reports the test case to the parent.
    if (event.name === "test_done") event.test.errors = event.test.errors.map(jsonSafe);
  }
}

module.exports = NodeEnvironment;
