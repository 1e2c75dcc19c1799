"""The GraphQL documents of the delivery tests, and reading their answers."""

from apps.accounts import services as account_services
from tests.conftest import GraphQLClient, GraphQLResponse

ERRORS = "... on OperationInfo { messages { kind code field message } }"
AGENT_FIELDS = "id name phone email vehicle isActive"
# What a courier needs of a delivery, and what its buyer and staff may also read.
DELIVERY_FIELDS = f"""
  id status attempts orderNumber instructions isLocked recipientName deliveredAt failureReason
  address {{ fullName line1 line2 city postalCode country phone }}
  lines {{ kind sku productName quantity }}
  cashToCollect {{ amount currency }} cashCollected {{ amount }}
  agent {{ {AGENT_FIELDS} }}
  lastLocation {{ latitude longitude at }}
  events {{ status note location {{ latitude longitude }} }}
"""
PAYLOAD = f"""
  __typename
  ... on Delivery {{ id status attempts isLocked agent {{ id }} cashCollected {{ amount }}
    lastLocation {{ latitude longitude }} }}
  {ERRORS}
"""
AGENT_PAYLOAD = f"__typename ... on DeliveryAgent {{ {AGENT_FIELDS} }} {ERRORS}"
CASH_FIELDS = (
    "agent { id name } date collected { amount } handedIn { amount } outstanding { amount } "
    "deliveries"
)

PICK_UP = f"mutation($id: ID!) {{ result: deliveryPickUp(id: $id) {{ {PAYLOAD} }} }}"
START = f"mutation($id: ID!) {{ result: deliveryStart(id: $id) {{ {PAYLOAD} }} }}"
LOCATE = f"""
mutation($id: ID!, $latitude: Float!, $longitude: Float!) {{
  result: deliveryLocationUpdate(id: $id, latitude: $latitude, longitude: $longitude) {{
    {PAYLOAD}
  }}
}}
"""
COMPLETE = f"""
mutation($id: ID!, $code: String!, $cash: Decimal, $recipient: String) {{
  result: deliveryComplete(id: $id, code: $code, cashCollected: $cash, recipientName: $recipient) {{
    {PAYLOAD}
  }}
}}
"""
FAIL = f"""
mutation($id: ID!, $reason: DeliveryFailureReason!, $note: String) {{
  result: deliveryFail(id: $id, reason: $reason, note: $note) {{ {PAYLOAD} }}
}}
"""
ASSIGN = f"""
mutation($id: ID!, $agentId: ID!) {{ result: deliveryAssign(id: $id, agentId: $agentId) {{ {PAYLOAD} }} }}
"""
RETURN = f"""
mutation($id: ID!, $note: String) {{ result: deliveryReturn(id: $id, note: $note) {{ {PAYLOAD} }} }}
"""
HAND_IN = f"""
mutation($agentId: ID!, $date: Date!, $amount: Decimal!) {{
  result: agentCashHandIn(agentId: $agentId, date: $date, amount: $amount) {{
    __typename ... on AgentCash {{ {CASH_FIELDS} }} {ERRORS}
  }}
}}
"""
AGENT_CREATE = f"""
mutation($input: DeliveryAgentInput!) {{ result: deliveryAgentCreate(input: $input) {{ {AGENT_PAYLOAD} }} }}
"""
AGENT_UPDATE = f"""
mutation($id: ID!, $input: DeliveryAgentUpdateInput!) {{
  result: deliveryAgentUpdate(id: $id, input: $input) {{ {AGENT_PAYLOAD} }}
}}
"""

DELIVERIES = f"""
query($filters: DeliveryFilter, $ordering: [DeliveryOrder!]) {{
  result: deliveries(filters: $filters, ordering: $ordering) {{
    totalCount edges {{ node {{ {DELIVERY_FIELDS} }} }}
  }}
}}
"""
MY_DELIVERIES = f"""
query($filters: DeliveryFilter, $ordering: [DeliveryOrder!]) {{
  result: myDeliveries(filters: $filters, ordering: $ordering) {{
    totalCount edges {{ node {{ {DELIVERY_FIELDS} }} }}
  }}
}}
"""
AGENTS = f"{{ result: deliveryAgents {{ totalCount edges {{ node {{ {AGENT_FIELDS} }} }} }} }}"
CASH_REPORT = f"query($date: Date!) {{ result: agentCashReport(date: $date) {{ {CASH_FIELDS} }} }}"
NODE = f"""
query($id: ID!) {{
  result: node(id: $id) {{
    __typename
    ... on Delivery {{ {DELIVERY_FIELDS} order {{ number token email user {{ email }} }} }}
    ... on DeliveryAgent {{ {AGENT_FIELDS} }}
  }}
}}
"""

PERMISSION_DENIED = [("PERMISSION", "permission_denied", None)]
NOT_FOUND = [("VALIDATION", "not_found", "id")]


def bearer(user) -> GraphQLClient:
    """A client signed in with a bearer token, as the couriers' app is."""
    api = GraphQLClient()
    _, api.token = account_services.token_create(user=user)
    return api


def result(response: GraphQLResponse) -> dict:
    return response.data["result"]


def messages(response: GraphQLResponse) -> list[tuple[str, str, str | None]]:
    payload = result(response)
    assert payload["__typename"] == "OperationInfo", payload
    return [(m["kind"], m["code"], m["field"]) for m in payload["messages"]]


def codes_of(response: GraphQLResponse) -> list[tuple[str, str | None]]:
    return [(code, field) for _kind, code, field in messages(response)]


def nodes(response: GraphQLResponse) -> list[dict]:
    return [edge["node"] for edge in result(response)["edges"]]
