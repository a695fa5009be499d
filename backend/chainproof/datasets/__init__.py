"""Data resources (数据资源): registered data sets, their manifests and access grants.

docs/business-types.md."""
