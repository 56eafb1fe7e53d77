"""Confianza: the national incident-event and alert pipeline.

The distribution installs the folders ``schemas/ producers/ streams/ consumers/`` as
``confianza.schemas`` and so on; this package holds the small shared core: settings, Kafka
client factory, logging, metrics helpers, provisioning, the local broker harness and the CLI.
"""

__version__ = "0.1.0"
