"""Tables of the trace area (none yet)."""

import chainproof.store.models  # noqa: F401  (naming convention first)
