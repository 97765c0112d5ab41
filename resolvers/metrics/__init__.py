"""Pre-defined metrics: the catalog (data), the grouping dimensions and the SQL compiler."""
