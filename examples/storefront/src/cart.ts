import type { Client } from "@urql/core";

import type { TokenStore } from "./client";
import { dataOf, OperationFailed } from "./errors";
import type { CartLineInput } from "./gql/graphql";
import { cartLinesAddMutation } from "./operations";

/** Add lines to the guest's cart; the first call creates the cart and stores its token. */
export async function addToCart(client: Client, cartToken: TokenStore, lines: CartLineInput[]) {
  const token = cartToken.get();
  const variables = { cartToken: token, lines };
  const payload = dataOf(await client.mutation(cartLinesAddMutation, variables)).cartLinesAdd;
  if (payload.__typename === "Cart") {
    cartToken.set(payload.token); // the same token, or a new cart's
    return payload;
  }
  const gone = payload.messages.some((m) => m.code === "not_found" && m.field === "cartToken");
  if (gone && token) {
    cartToken.set(null); // checked out, merged into an account, or purged: start a new cart
    return addToCart(client, cartToken, lines);
  }
  throw new OperationFailed(payload.messages);
}
