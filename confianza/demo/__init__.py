"""``confianza demo``: the whole chain on one machine, started, watched and stopped cleanly."""
