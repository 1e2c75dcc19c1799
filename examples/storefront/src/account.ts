import type { Client } from "@urql/core";

import type { TokenStore } from "./client";
import { dataOf, unwrap } from "./errors";
import { loginMutation, tokenCreateMutation } from "./operations";

/** Bearer token: keep it in `auth`; the client sends it from the next request on. */
export async function signIn(
  client: Client,
  auth: TokenStore,
  cartToken: TokenStore,
  email: string,
  password: string,
) {
  const variables = { email, password, cartToken: cartToken.get() };
  const { token, expiresAt } = unwrap(
    dataOf(await client.mutation(tokenCreateMutation, variables)).tokenCreate,
  );
  auth.set(token);
  cartToken.set(null); // the guest cart joined the customer's cart, which needs no token
  return expiresAt; // no refresh: sign in again before it
}

/** Session cookie (a sessionClient): login sets `sessionid` and a new `csrftoken`. */
export async function webSignIn(
  client: Client,
  cartToken: TokenStore,
  email: string,
  password: string,
) {
  const variables = { email, password, cartToken: cartToken.get() };
  const user = unwrap(dataOf(await client.mutation(loginMutation, variables)).login);
  cartToken.set(null);
  return user;
}
