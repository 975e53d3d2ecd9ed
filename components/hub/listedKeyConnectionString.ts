import * as pulumi from "@pulumi/pulumi";
import { serviceConnectionString } from "../../lib/iothub/sas";

/**
 * A shared access policy's connection string from the answer of azure-native's key-listing invoke (an IoT hub's
 * or a DPS's `list...KeysForKeyName`). azure-native does not mark those keys secret: the connection string is
 * wrapped in pulumi.secret here, the one place both targets' Azure resources build one.
 */
export function listedKeyConnectionString(
  owner: string,
  hostName: pulumi.Input<string>,
  keyName: string,
  primaryKey: pulumi.Input<string | undefined>,
): pulumi.Output<string> {
  return pulumi.secret(
    pulumi.all([hostName, primaryKey]).apply(([host, key]) => {
      if (!key) throw new Error(`${owner}: policy ${keyName} has no primary key`);
      return serviceConnectionString(host, keyName, key);
    }),
  );
}
