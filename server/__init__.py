"""Kefu's gateway: the FastAPI app, the WebSocket chat protocol, REST, auth, store and bus.

`signaling` and `translation` never import this package; the gateway depends on them.
"""
