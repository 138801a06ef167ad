"""Host commands: the bytes a gateway (or a workshop tool) sends to a sensor, one module per
protocol family, named like the family's decoder in :mod:`airq_core.protocols`.

The decoder modules read what a sensor sends (and, for the virtual sensors, parse what a host
sends); these modules only build what a host sends. Each builder returns the complete frame,
checksum included, and raises ``ValueError`` for an argument the sensor would refuse.
Every builder's bytes are checked against a worked frame of the sensor reference in
``tests/airq_core/protocols/test_commands.py``.

Use them next to the decoder::

    from airq_core.protocols import sds011
    from airq_core.protocols.commands import sds011 as sds011_cmd

    link.send(sds011_cmd.query())
"""
