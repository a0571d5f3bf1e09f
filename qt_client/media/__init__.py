"""Qt-free media: capture sources, codecs, effects and audio processing, shared by the client and the bot."""
