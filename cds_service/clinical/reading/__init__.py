"""Reading radiology reports the way a radiologist does.

The modules follow the flow of one report:

    document     which resources are imaging reports, their modality, status and versions, dates
    transport    the report's words, whichever way the EHR sent them (plain, HTML, RTF, Binary)
    templates    structured fields and tables, read by their values
    sections     sections from any line-leading label; organ headings; template fields
    assertions   sentences, and what each asserts (medspaCy ConText, bounded by the clause)
    findings     what one sentence says about which structure; whose calcium it is
    attribution  statements about the same mass across sentences; what an addendum revises
    reader       the whole reading of one text, bounded and remembered

Every word list and rule is data: hooks/knowledge/lexicon.json (structures, attributes, links) and
hooks/knowledge/nlp.json (assertion cues and policy, clause breaks, section titles, caps).
"""
