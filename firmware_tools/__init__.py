"""Workshop tools: register stations in bulk, flash boards, configure them (airrohr custom API
or our gateway), check sensors, follow a station; and virtual sensors (``virtual/``).

See docs/workshop.md.
"""
