"""Synthetic trials run through the services, and the demo built on them (an edge: it calls
the services as the web application and the CLI do)."""
