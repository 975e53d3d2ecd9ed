export { Configuration, type ConfigurationArgs } from "./configuration";
export { EdgeDeployment, type EdgeDeploymentArgs } from "./edgeDeployment";
export type { AdmArgs } from "./admProvider";
export type { TwinContent } from "./configurationProvider";
export type { ModulesContent } from "./edgeDeploymentProvider";
