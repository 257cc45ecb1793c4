"""Talking FHIR: prefetch templates and the client for the EHR's FHIR server."""
