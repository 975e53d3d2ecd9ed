#!/usr/bin/env node
// The local IoT Hub's command line, in both places it runs from. In a checkout the hub's TypeScript sources sit
// beside this file and run through tsx's require hook, so there is no build step between editing the hub and
// running it. The iothub-local package carries this same file as dist/bin/iothub-local.js next to the compiled
// JavaScript (dist/local-hub, dist/lib: the checkout's layout), and neither TypeScript sources nor tsx.
const { existsSync } = require("node:fs");
const { join } = require("node:path");

const source = join(__dirname, "..", "local-hub", "cli.ts");
if (existsSync(source)) {
  require("tsx/cjs");
  require(source);
} else {
  require("../local-hub/cli.js");
}
