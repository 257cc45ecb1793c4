"""Load benchmark of the CDS service against a bare-framework floor (`make bench`)."""
