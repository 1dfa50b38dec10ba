"""The stage runner (`runner`): the stages a command asks for, in one Spark+H2O session,
each skipped when it finished from the same inputs, which its fingerprint
(`fingerprints`) says.
"""
