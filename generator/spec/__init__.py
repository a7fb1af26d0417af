"""Load: services.toml -> the typed Spec (model), with every rule checked and located."""
