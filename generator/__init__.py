"""gitopsgen: compile one services.toml into a whole GitOps repository."""
