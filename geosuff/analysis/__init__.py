"""Analysis: the DfE distance measures, catchments, access and gap areas (arrays and frames; no files)."""
