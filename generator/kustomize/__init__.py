"""Kustomize in process, for the kustomizations gitopsgen writes (proven against kubectl)."""
