"""Accounts for people (issue 17): invitations, passwords, cookie sessions, TOTP.

API keys stay for machines and the CLI (``Authorization: Bearer``); people sign in on the
pages and carry a session cookie instead. Both end in the same ``Caller`` (``api/deps.py``),
so every route's rules (``api/authz.py``) hold for either.
"""
