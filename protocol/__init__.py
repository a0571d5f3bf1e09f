"""The wire format shared by server and client; imports nothing of ours.

See docs/PROTOCOL.md for the full description.
"""

# 2: media headers say whether video is the camera or a screen share (flag bit 1).
PROTOCOL_VERSION = 2
