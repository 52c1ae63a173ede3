"""Monitoring: derived request records (never raw text) and the reports built from them."""
