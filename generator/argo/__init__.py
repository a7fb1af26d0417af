"""The Argo CD simulation: Go templates, cron and sync windows, ApplicationSet expansion."""
