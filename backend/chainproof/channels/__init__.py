"""Channels (通道管理, 虚拟通道): named groups of member orgs that share their records.

``models`` (the tables), ``service`` (create, list, change members, who may see what).
docs/channels.md describes them.
"""
