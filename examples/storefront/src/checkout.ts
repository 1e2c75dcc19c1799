import type { Client } from "@urql/core";

import { dataOf, nextStep, unwrap } from "./errors";
import type { CheckoutInput } from "./gql/graphql";
import { checkoutCompleteMutation } from "./operations";

/**
 * Place the order. One idempotencyKey per checkout attempt: every retry sends the same key, and
 * the server answers the order it already placed instead of placing a second one.
 */
export async function checkout(
  client: Client,
  input: Omit<CheckoutInput, "idempotencyKey">,
  idempotencyKey: string = crypto.randomUUID(),
) {
  for (let attempt = 1; ; attempt++) {
    const variables = { input: { ...input, idempotencyKey } };
    const result = await client.mutation(checkoutCompleteMutation, variables);
    if (result.error && nextStep(result.error) === "retry" && attempt < 3) {
      await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
      continue;
    }
    return unwrap(dataOf(result).checkoutComplete);
  }
}
