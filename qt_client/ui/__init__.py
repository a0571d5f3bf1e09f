"""PyQt5 views of the desktop client: they show what they are given and emit signals for what the user does.

No networking, threads or media decoding here; a controller wires these widgets to the session and workers.
"""
