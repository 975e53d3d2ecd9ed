export { DeviceIdentity, type DeviceIdentityArgs } from "./deviceIdentity";
export { ModuleIdentity, type ModuleIdentityArgs } from "./moduleIdentity";
export { ModuleTwin, type ModuleTwinArgs } from "./moduleTwin";
export { DeviceTwin, type DeviceTwinArgs } from "./deviceTwin";
export type { IdentityAuthentication } from "./authentication";
export type { HubConnectionArgs } from "./hubConnection";
export type { RegistryProviderOptions, OperationClass } from "./options";
