#!/usr/bin/env node
// The local IoT Hub's command line. The hub is written in TypeScript and runs through tsx's require hook, so
// there is no build step between editing the hub and running it.
require("tsx/cjs");
require("../local-hub/cli.ts");
