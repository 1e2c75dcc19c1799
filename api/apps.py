from django.apps import AppConfig


class ApiConfig(AppConfig):
    """An app for its static files: GraphiQL's vendored assets (``api/static/graphiql/``)."""

    name = "api"
    label = "api"
    verbose_name = "GraphQL API"
