"""Business types (业务类型) for typed evidence, and data resources (数据资源).

docs/business-types.md."""
