// A guest's visit against a running API: browse, add a variant in stock to a new cart, check out,
// follow the order. `npm run journey`; SILKCART_URL overrides the endpoint.
import { addToCart } from "./cart";
import { checkout } from "./checkout";
import { bearerClient, memoryStore } from "./client";
import { dataOf, OperationFailed } from "./errors";
import type { ProductsQuery } from "./gql/graphql";
import { orderByTokenQuery, productQuery, productsQuery } from "./operations";

const url = process.env.SILKCART_URL ?? "http://127.0.0.1:8000/graphql/";
const client = bearerClient(url, memoryStore()); // a guest: no token is ever set
const cartToken = memoryStore();

// Browse the goods in stock, page by page, until one has a variant left.
let after: string | null = null;
let variants: { id: string; sku: string; quantityAvailable: number }[] = [];
let total = 0;
while (variants.length === 0) {
  const { products }: ProductsQuery = dataOf(
    await client.query(productsQuery, { first: 20, after, filters: { inStock: true } }),
  );
  total = products.totalCount ?? 0;
  for (const { node } of products.edges) {
    if (node.kind !== "GOODS" || variants.length > 0) continue;
    const { product } = dataOf(await client.query(productQuery, { slug: node.slug }));
    variants = (product?.variants ?? []).filter((v) => v.inStock && v.quantityAvailable > 0);
    if (variants.length > 0) console.log(`catalog: ${total} products in stock; ${node.slug}`);
  }
  if (!products.pageInfo.hasNextPage) break;
  after = products.pageInfo.endCursor;
}
if (variants.length === 0) throw new Error(`no goods in stock at ${url}: run manage.py seed_demo`);

// Add the first variant that is still in stock when the cart asks.
let cart;
for (const variant of variants) {
  try {
    cart = await addToCart(client, cartToken, [{ variantId: variant.id, quantity: 1 }]);
    break;
  } catch (error) {
    if (!(error instanceof OperationFailed)) throw error; // top-level error or no answer
    switch (error.messages[0]?.code) {
      case "insufficient_stock": // sold since we browsed (field lines.0.quantity)
      case "not_found": // deactivated since (field lines.0.variantId)
        continue; // try the next variant
      default:
        throw error;
    }
  }
}
if (!cart) throw new Error("every variant sold out meanwhile");
const money = (m: { amount: string; currency: string }) => `${m.amount} ${m.currency}`;
const skus = cart.lines.map((line) => `${line.quantity} x ${line.variant.sku}`).join(", ");
console.log(`cart ${cart.token}: ${skus}; total ${money(cart.total)}`);

// Check out as a guest, at the total shown; a retry with the same key answers the same order.
const input = {
  cartToken: cartToken.get(),
  email: "guest@example.com",
  shippingAddress: {
    fullName: "Gwen Guest",
    line1: "12 Rue de la Paix",
    city: "Paris",
    postalCode: "75002",
    country: "FR",
  },
  paymentMethod: "CASH_ON_DELIVERY",
  expectedTotal: cart.total.amount, // changed prices answer price_changed instead of an order
} as const;
const idempotencyKey = crypto.randomUUID();
const order = await checkout(client, input, idempotencyKey);
console.log(`order ${order.number}: ${order.status}; total ${money(order.total)}`);
const again = await checkout(client, input, idempotencyKey);
if (again.id !== order.id) throw new Error(`the retry placed a second order, ${again.number}`);
console.log(`retry with the same idempotencyKey: ${again.number} again`);

// Follow it as the guest's email link does: by the order's secret token.
const { orderByToken } = dataOf(await client.query(orderByTokenQuery, { token: order.token }));
if (!orderByToken) throw new Error(`orderByToken(${order.token}) is null`);
console.log(`orderByToken: ${orderByToken.number} ${orderByToken.status}`);
