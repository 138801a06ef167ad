"""Priority neighbourhoods (QPV): polygons, station placement and exposure statistics.

``polygons`` reads the official files, ``placement`` places stations inside/near them,
``exposure`` computes the statistics (pure), ``service`` holds the loaded layers and caches and
reads the hourly aggregates from InfluxDB.
"""
