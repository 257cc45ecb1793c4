"""What the service told clinicians and what they did with it: the card ledger, feedback, reports.

A CDS committee can only judge an alert by joining "shown" to "accepted / overridden, and why";
this package keeps both, without patient identifiers, and turns them into a report.
"""
