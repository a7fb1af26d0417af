"""The rendered diff: what each Argo CD Application will change, computed without a cluster."""
