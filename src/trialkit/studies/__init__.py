"""The seed studies shipped with trialkit, as package data (one YAML file each)."""
