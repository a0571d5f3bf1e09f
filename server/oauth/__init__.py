"""Logging in through another service: OpenID Connect providers, WeChat and QQ."""
