"""`cds-service eval`: a labelled corpus of charts through the real pipeline, scored."""
