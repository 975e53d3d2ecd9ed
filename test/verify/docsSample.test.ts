import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseStackOutputs } from "../../verify/outputs";

/** docs/verify.md's sample outputs file is what a user without the Pulumi CLI copies: verify must accept it. */
const VERIFY_DOC = join(__dirname, "..", "..", "docs", "verify.md");

function sampleOutputs(): string {
  const doc = readFileSync(VERIFY_DOC, "utf8");
  const section = doc.slice(doc.indexOf("### A sample outputs file"));
  const block = /```json\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error(`${VERIFY_DOC} has no json block under "A sample outputs file"`);
  return block[1];
}

describe("docs/verify.md's sample outputs file", () => {
  it("parses with verify's own outputs reader, with every key of the stack outputs", () => {
    const outputs = parseStackOutputs(sampleOutputs(), "docs/verify.md");
    expect(outputs.hostName).toBe("localhost");
    expect(outputs.caFile).toMatch(/ca\.pem$/);
    expect(outputs.serviceConnectionString).toMatch(/SharedAccessKeyName=provisioner;/);
    expect(outputs.modules).toEqual([
      expect.objectContaining({
        deviceId: "myFirstDevice",
        moduleId: "myFirstModule",
        desired: { telemetryInterval: 122 },
      }),
    ]);
  });
});
