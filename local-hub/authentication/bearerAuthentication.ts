import { rolesGrant, rolesGranting, type DataAction } from "../../lib/iothub/dataPlaneRoles";
import { verifyAccessToken, type Authority } from "../entra/accessToken";
import type { TokenSigningKey } from "../entra/signingKey";
import { unauthorized, type IotHubError } from "../errors/iotHubError";
import type { Principal, PrincipalStore, RolesAt } from "../persistence/principalStore";

/**
 * The service API's second authenticator, beside the SAS one: `Authorization: Bearer <jwt>` from the hub's own
 * token endpoint. A token is accepted when it is signed with the hub's key, issued by the hub's tenant, for IoT
 * Hub's audience, not expired, and names a principal still registered; what the principal may do is its roles'
 * data actions (authorizeDataActions), judged per request, so a role removed with the CLI counts at once.
 */

/** `Authorization: Bearer <token>`; the scheme's name is case-insensitive (RFC 9110), as Entra's clients know. */
export function isBearerHeader(header: string | undefined): header is string {
  return header !== undefined && /^bearer /i.test(header);
}

export type BearerAuthenticationResult =
  { ok: true; principal: Principal; roles: RolesAt } | { ok: false; error: IotHubError; reason: string };

/** What the caller learns of a refused token but an expired one (the reason goes to the hub's log). */
const INVALID_TOKEN = "Unauthorized: invalid Microsoft Entra token.";
const EXPIRED_TOKEN = "Unauthorized: the Microsoft Entra token has expired.";
const MAX_VERIFIED_TOKENS = 1000;

export class BearerAuthenticator {
  /** Verified tokens by their text; bounded so a client minting a token per request cannot grow it. */
  private readonly verified = new Map<string, { objectId: string; expiresAtMs: number }>();

  constructor(
    private readonly principals: PrincipalStore,
    private readonly signingKey: TokenSigningKey,
    private readonly authority: () => Authority,
  ) {}

  /** `header` is the whole Authorization header, a bearer one (isBearerHeader). */
  authenticate(header: string, now = Date.now()): BearerAuthenticationResult {
    const token = header.slice("bearer ".length).trim();
    let known = this.verified.get(token);
    if (!known || known.expiresAtMs <= now) {
      const verdict = verifyAccessToken(token, this.authority(), this.signingKey, now);
      if (!verdict.ok) {
        this.verified.delete(token);
        return {
          ok: false,
          reason: verdict.reason,
          error: unauthorized(verdict.expired ? EXPIRED_TOKEN : INVALID_TOKEN),
        };
      }
      known = { objectId: verdict.objectId, expiresAtMs: verdict.expiresAtMs };
      if (this.verified.size >= MAX_VERIFIED_TOKENS) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(token, known);
    }
    const principal = this.principals.list().find((p) => p.objectId === known.objectId);
    if (!principal) {
      return {
        ok: false,
        reason: `the token's principal (oid ${known.objectId}) is not registered on this hub`,
        error: unauthorized(INVALID_TOKEN),
      };
    }
    return { ok: true, principal, roles: this.principals.rolesOf(principal.objectId) };
  }
}

/**
 * 401 unless the principal's roles grant every data action the operation needs. The message names the principal,
 * the first missing action and the built-in roles that grant it, so whoever reads the SDK's error knows which role
 * to assign; it has no `;` (the service SDK keeps only the text up to one).
 */
export function authorizeDataActions(
  principal: Principal,
  { effective: roles, pending }: RolesAt,
  actions: readonly DataAction[] | undefined,
): IotHubError | undefined {
  if (actions === undefined) {
    return unauthorized(
      `Unauthorized: principal '${principal.name}' cannot make this request: it takes a shared access policy.`,
    );
  }
  const missing = actions.find((action) => !rolesGrant(roles, action));
  if (missing === undefined) return undefined;
  const held = [
    roles.length > 0 ? roles.map((role) => role.name).join(", ") : "none",
    ...pending.map(({ role, effectiveAtMs }) => `${role.name} from ${new Date(effectiveAtMs).toISOString()}`),
  ].join(", ");
  const granting = rolesGranting(missing).map((role) => role.name);
  const which = `${granting.slice(0, -1).join(", ")}${granting.length > 1 ? " or " : ""}${granting[granting.length - 1]}`;
  return unauthorized(
    `Unauthorized: principal '${principal.name}' lacks the data action ${missing}, which ${which} grants (its roles: ${held}).`,
  );
}
