export { Configuration, type ConfigurationArgs } from "./configuration";
export { EdgeDeployment, type EdgeDeploymentArgs } from "./edgeDeployment";
export { EdgeDeviceModules, type EdgeDeviceModulesArgs } from "./edgeDeviceModules";
export type { AdmArgs } from "./admProvider";
export type { TwinContent } from "./configurationProvider";
export type { ModulesContent } from "./edgeDeploymentProvider";
