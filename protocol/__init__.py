"""The wire format shared by server and client (issue 3); imports nothing of ours."""
