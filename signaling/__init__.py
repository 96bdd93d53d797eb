"""WebRTC call signaling: the call state machine, relay rules and ICE/TURN configuration.

Not built yet (issue 5). It must never import `server`.
"""
