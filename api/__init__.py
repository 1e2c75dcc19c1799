"""GraphQL building blocks shared by the apps' GraphQL modules.

Money, connections, global ids and their resolution (``types``), the fast field (``fields``),
read models (``rows``), permission extensions (``permissions``) and the HTTP view (``views``).
This package knows no domain app: the apps build on it, and ``schema`` assembles them.
"""
