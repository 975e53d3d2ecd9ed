import * as pulumi from "@pulumi/pulumi";
import { EnrollmentGroup, IndividualEnrollment } from "../../components/dps";

/**
 * The DPS resource classes as a program uses them: the connection string, the attestation (it may hold keys) and
 * the key outputs are registered as additional secret outputs (stored encrypted even from plain inputs), the type
 * routes to the dynamic provider, and a group's id defaults to the resource's name.
 */
const registered: { type: string; inputs: Record<string, unknown> }[] = [];

beforeAll(() => {
  pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push({ type: args.type, inputs: args.inputs });
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: () => ({}),
    },
    "project",
    "stack",
    false,
  );
});

const capture =
  (into: string[]): pulumi.ResourceTransformation =>
  (args) => {
    into.push(...((args.opts as pulumi.CustomResourceOptions).additionalSecretOutputs ?? []));
    return undefined;
  };

const dps = {
  serviceConnectionString: "HostName=d;SharedAccessKeyName=provisioningserviceowner;SharedAccessKey=a2V5",
};

it.each(["EnrollmentGroup", "IndividualEnrollment"])(
  "%s registers its keys as secret outputs",
  async (kind) => {
    const seen: string[] = [];
    const opts = { transformations: [capture(seen)] };
    const attestation = { type: "symmetricKey" as const };
    const resource =
      kind === "EnrollmentGroup"
        ? new EnrollmentGroup("fleet", { ...dps, attestation }, opts)
        : new IndividualEnrollment("solo", { ...dps, registrationId: "solo-1", attestation }, opts);
    await new Promise<void>((resolve) => resource.urn.apply(() => resolve()));
    expect(seen.sort()).toEqual(["attestation", "primaryKey", "secondaryKey", "serviceConnectionString"]);
    const entry = registered.find((r) => r.type === `pulumi-nodejs:dynamic/iothub:${kind}`);
    expect(entry).toBeDefined();
    if (kind === "EnrollmentGroup") expect(entry!.inputs.enrollmentGroupId).toBe("fleet");
  },
);

it("takes an X.509 group's signing certificate as an Input (another resource's output, a file the program read)", async () => {
  const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  const group = new EnrollmentGroup("x509-fleet", {
    ...dps,
    attestation: {
      type: "x509",
      x509: { signingCertificates: { primary: { certificate: pulumi.output(pem) } } },
    },
  });
  await new Promise<void>((resolve) => group.urn.apply(() => resolve()));
  const entry = registered.find((r) => r.inputs.enrollmentGroupId === "x509-fleet");
  expect(entry!.inputs.attestation).toEqual({
    type: "x509",
    x509: { signingCertificates: { primary: { certificate: pem } } },
  });
});
