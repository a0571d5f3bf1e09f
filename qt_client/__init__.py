"""The desktop client and the headless bot (issues 3-5)."""
