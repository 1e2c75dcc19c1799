import type { CombinedError, OperationResult } from "@urql/core";

/** An entry of `OperationInfo.messages`: an expected failure. Switch on `code`, show `message`. */
export interface Message {
  code: string | null;
  field: string | null;
  message: string;
}

export class OperationFailed extends Error {
  constructor(readonly messages: readonly Message[]) {
    super(messages.map((m) => `${m.code} (${m.field ?? "-"}): ${m.message}`).join("; "));
  }
}

/** The data of a result; a top-level error or a network failure is thrown. */
export function dataOf<Data>(result: OperationResult<Data>): Data {
  if (result.error) throw result.error;
  if (result.data === undefined) throw new Error("the answer has no data");
  return result.data;
}

/** The success member of a `X | OperationInfo` payload; OperationInfo is thrown. */
export function unwrap<P extends { __typename: string }>(
  payload: P,
): Exclude<P, { __typename: "OperationInfo" }> {
  if (isOperationInfo(payload)) throw new OperationFailed(payload.messages);
  return payload as Exclude<P, { __typename: "OperationInfo" }>;
}

function isOperationInfo(
  payload: { __typename: string },
): payload is { __typename: "OperationInfo"; messages: readonly Message[] } {
  return payload.__typename === "OperationInfo";
}

/** What to do about a top-level error (`errors[].extensions.code`) or a request with no answer. */
export function nextStep(error: CombinedError): "retry" | "sign-in" | "fix-the-request" | "report" {
  if (error.graphQLErrors.length === 0) return "retry"; // no answer, or not GraphQL (a proxy's 502)
  for (const { extensions } of error.graphQLErrors) {
    switch (extensions?.code) {
      case "timeout":
      case "service_unavailable": // HTTP 503, with Retry-After
      case "rate_limited":
        return "retry";
      case "token_invalid": // HTTP 401: the bearer token expired or was revoked; drop it
        return "sign-in";
      case "csrf_failed": // HTTP 403: a session request without a valid X-CSRFToken
      case "invalid":
      case "query_too_complex":
      case "permission_denied":
        return "fix-the-request";
    }
  }
  return "report"; // internal_error (logged on the server with the request id), or a new code
}
