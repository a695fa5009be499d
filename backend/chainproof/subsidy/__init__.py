"""The worked case: the 2023 subsidy applications of the China–ASEAN Blockchain Innovation
Center (issue #4, ``docs/subsidy.md``).

Pure, from the guide: ``rules`` (the tables and the rules, every answer with its reasons),
``catalog`` (scopes, document kinds, 附件4-1), ``money`` (万元 and fen).

Services: ``rounds``, ``applications`` (drafts, submission, every state change), ``documents``,
``manifests`` (frozen packages), ``lifecycle`` (the moves and the anchored audit trail),
``acceptance`` (验收 and the 3× rule), ``checks`` (the rules applied to an application),
``review`` (integrity check and report), over ``anchoring``, ``access`` and ``models``.
"""
