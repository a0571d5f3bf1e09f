"""Stand-ins for login platforms that cannot be reached from the test machine (WeChat, QQ): small
HTTP servers on 127.0.0.1 that follow the platforms' published API documents. Not the real things."""
