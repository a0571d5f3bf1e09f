"""The server's HTTP endpoint (h11 on the reactor): OAuth callbacks and /healthz."""
