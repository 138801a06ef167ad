"""Workshop tools: decode frames, virtual sensors, (later) flashing and station set-up."""
