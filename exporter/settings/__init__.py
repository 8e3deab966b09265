"""The exporter's config types: a leaf (it imports nothing from probes, app or config loading).

- fields.py: the field types (Str, Duration, PositiveInt...) whose errors are the messages users
  read, and how a section words its problems (``Rules``); imports no pydantic.
- base.py: the pydantic ``Section`` base (unknown keys are errors, null means unset), validating
  a section and the translation of pydantic's errors into ``targets[1].readiness.timeout: must be > 0``.
- modules.py: one settings type per probe module (what each prober is typed against): frozen
  dataclasses (``Record``), so the running exporter holds its settings without pydantic
  (``run`` validates in a child process: exporter/config_child.py).
- kubernetes.py, file.py: the other sections and the file's top level (``ConfigFile``, the
  model the JSON Schema in exporter/config.schema.json is generated from).
- resolved.py: the config as the runtime uses it (targets with their modules resolved).

exporter/config.py reads YAML, merges defaults, resolves secrets' references and validates
section by section with ``base.validate``/``base.cross_check`` so every problem is listed at once.

Adding a section, e.g. ``discovery:``::

    # exporter/settings/discovery.py
    class DiscoverySettings(Section):
        enabled: Bool = False
        namespaces: StrList = ("openclaw",)
        resync: PositiveDuration = 300.0

        def cross_check(self) -> list[tuple[str, str]]:   # rules between keys, optional
            return [] if self.namespaces else [("namespaces", "must not be empty")]

    # exporter/settings/file.py, in ConfigFile:   discovery: DiscoverySettings | None = None
    # exporter/config.py: add "discovery" to SECTIONS, and in parse_config:
    #     discovery = validate(DiscoverySettings, raw.get("discovery"), "discovery", problems)
    #     if discovery is not None: cross_check(discovery, "discovery", problems)

then regenerate the schema (``python -m exporter.settings.schema``) and document the keys in README.
"""
