"""Every module that defines tables, imported in one place.

Alembic's env.py and the schema tests import this module, so that ``SQLModel.metadata`` holds
every table whatever else happens to be imported: a table module missing here would make
autogenerate and the models-versus-migrations check see its tables as extra.
"""

import chainproof.accounts.models
import chainproof.audit.models
import chainproof.audit.platform
import chainproof.business.models
import chainproof.channels.models
import chainproof.crosschain.models
import chainproof.datasets.models
import chainproof.draws.models
import chainproof.evidence.freshness
import chainproof.evidence.records
import chainproof.invoices.models
import chainproof.licences.models
import chainproof.recordings.models
import chainproof.store.models
import chainproof.store.ops
import chainproof.store.shared_files
import chainproof.subsidy.models
import chainproof.tenders.models
import chainproof.timestamping.models
import chainproof.trace.epcis_models
import chainproof.trace.models  # noqa: F401
