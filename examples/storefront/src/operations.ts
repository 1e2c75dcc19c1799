// The operations of the example. `npm run codegen` reads every graphql(`...`) call under src/
// and writes their types into src/gql/.
import { graphql } from "./gql";

export const productsQuery = graphql(`
  query Products($first: Int!, $after: String, $filters: ProductFilter) {
    products(first: $first, after: $after, filters: $filters) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges {
        node {
          id
          kind
          name
          slug
          inStock
          priceRange { start { amount currency } stop { amount currency } }
        }
      }
    }
  }
`);

export const productQuery = graphql(`
  query Product($slug: String!) {
    product(slug: $slug) {
      id
      kind
      name
      variants { id sku name price { amount currency } quantityAvailable inStock }
    }
  }
`);

export const cartLinesAddMutation = graphql(`
  mutation CartLinesAdd($cartToken: UUID, $lines: [CartLineInput!]!) {
    cartLinesAdd(cartToken: $cartToken, lines: $lines) {
      __typename
      ... on Cart {
        token
        totalQuantity
        subtotal { amount currency }
        total { amount currency }
        lines { id quantity variant { sku } lineTotal { amount } }
      }
      ... on OperationInfo { messages { kind code field message } }
    }
  }
`);

export const checkoutCompleteMutation = graphql(`
  mutation CheckoutComplete($input: CheckoutInput!) {
    checkoutComplete(input: $input) {
      __typename
      ... on Order { id number token status total { amount currency } }
      ... on OperationInfo { messages { kind code field message } }
    }
  }
`);

export const orderByTokenQuery = graphql(`
  query OrderByToken($token: UUID!) {
    orderByToken(token: $token) {
      number
      status
      createdAt
      total { amount currency }
      lines { productName variantName quantity }
    }
  }
`);

export const tokenCreateMutation = graphql(`
  mutation TokenCreate($email: String!, $password: String!, $cartToken: UUID) {
    tokenCreate(email: $email, password: $password, cartToken: $cartToken) {
      __typename
      ... on AuthToken { token expiresAt }
      ... on OperationInfo { messages { kind code field message } }
    }
  }
`);

export const loginMutation = graphql(`
  mutation Login($email: String!, $password: String!, $cartToken: UUID) {
    login(email: $email, password: $password, cartToken: $cartToken) {
      __typename
      ... on User { email }
      ... on OperationInfo { messages { kind code field message } }
    }
  }
`);

export const meQuery = graphql(`
  query Me {
    me { email firstName }
  }
`);
