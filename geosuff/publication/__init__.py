"""Publication: the disclosure ledger, the report, the map and the files a run publishes."""
