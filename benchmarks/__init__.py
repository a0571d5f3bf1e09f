"""Load generators and comparisons; each prints JSON and can draw a PNG."""
