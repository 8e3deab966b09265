"""Fleet discovery: Kubernetes Services or Pods become targets, with tokens from Secrets.

Data flow: config -> DiscoveryWatcher (list/watch threads, token refresher) ->
DiscoveredTargets.current() -> the exporter's scheduler (merged with the static targets).
docs/fleet-discovery.md explains the config, the annotations and the RBAC choices.

Only exporter.settings.discovery is imported to parse a config; the watcher pulls in the
kubernetes client and is imported when discovery is configured.
"""
