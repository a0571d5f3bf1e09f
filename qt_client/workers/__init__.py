"""Qt workers, each on its own QThread, so that the GUI thread only paints and handles input.

capture -> effect -> encode -> send; receive -> jitter buffer -> decode -> play. Frames cross
threads as owned copies, and video reaches the GUI as the latest frame per person, never a queue.
"""
