"""The wire format shared by server and client; imports nothing of ours.

See docs/PROTOCOL.md for the full description.
"""

PROTOCOL_VERSION = 1
