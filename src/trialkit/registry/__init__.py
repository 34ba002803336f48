"""Import registry records (IRCT record pages, ClinicalTrials.gov API v2 JSON) as draft studies."""
